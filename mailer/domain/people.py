"""People are email addresses, with at most a display name they gave us."""

from __future__ import annotations

from email.headerregistry import Address
from functools import lru_cache

import email_validator
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mailer.db import insert_row, load_all, load_row, unit_of_work_memo
from mailer.domain.errors import InvalidInput
from mailer.domain.models import Person

# Addresses at *.localhost and *.test are accepted: the dev service and tests use them,
# and no real mail can be routed to them (email-validator documents this list as adjustable).
for _name in ("localhost", "test"):
    if _name in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        email_validator.SPECIAL_USE_DOMAIN_NAMES.remove(_name)


@lru_cache(maxsize=4096)  # a pure function, asked about the same sender by the batch lookup and the rule
def normalise_email(raw: str) -> str:
    """A canonical, syntax-checked address: the domain lower-cased, the local part kept.

    Raises InvalidInput with a message fit to show the person who typed it.
    """
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"{raw!r} is not a valid email address: {exc}", field="email") from None
    return result.normalized.lower()


_PERSON_BY_EMAIL = select(Person.__table__).where(Person.__table__.c.email == bindparam("email"))


def get_or_create_person(session: Session, email: str, display_name: str | None = None) -> Person:
    """Within the caller's transaction: the person for this address, created if new."""
    return find_or_add_person(session, email, display_name)[0]


def find_or_add_person(session: Session, email: str, display_name: str | None = None) -> tuple[Person, bool]:
    """Like :func:`get_or_create_person`, and whether the person was added just now (so has no
    answers, subscriptions or messages yet, which callers then need not look for)."""
    address = normalise_email(email)
    known = _known_people(session)
    if known is not None and address in known and not session.in_nested_transaction():
        person = known[address]  # looked up with the rest of the batch by look_up_people
        if person is not None and person not in session:  # added by a SAVEPOINT since rolled back
            person = load_row(session, Person, _PERSON_BY_EMAIL, {"email": address})
    else:
        person = load_row(session, Person, _PERSON_BY_EMAIL, {"email": address})
    added = person is None
    if person is None:
        person = insert_row(session, Person, email=address, display_name=_clean_name(display_name))
    elif display_name and not person.display_name:
        person.display_name = _clean_name(display_name)
    if known is not None:
        known[address] = person
    return person, added


_PEOPLE_BY_EMAIL = select(Person.__table__).where(Person.__table__.c.email.in_(bindparam("emails", expanding=True)))
_PEOPLE = "people_by_email"


def look_up_people(session: Session, emails: list[str]) -> list[Person]:
    """At the start of a unit of work: the people behind a batch's sender addresses, in one query,
    so :func:`find_or_add_person` reads none of them again. Returns those found.

    On SQLite the unit of work is the only writer, so the answer holds until it
    commits. On PostgreSQL another worker may add one of these people
    meanwhile: adding them again then fails, and the message is handled again
    carefully (in a SAVEPOINT, where this lookup is not used).
    """
    memo = unit_of_work_memo(session)
    if memo is None:
        return []
    wanted = set()
    for email in emails:
        try:
            wanted.add(normalise_email(email))
        except InvalidInput:
            continue
    if not wanted:
        return []
    found = {person.email: person for person in load_all(session, Person, _PEOPLE_BY_EMAIL,
                                                         {"emails": sorted(wanted)})}
    memo[_PEOPLE] = {address: found.get(address) for address in wanted}
    return list(found.values())


def _known_people(session: Session) -> dict[str, Person | None] | None:
    memo = unit_of_work_memo(session)
    return memo.get(_PEOPLE) if memo is not None else None  # type: ignore[return-value]


def sample_member() -> Person:
    """The member previews are addressed to: never stored, reachable by no link."""
    return Person(id=0, email="member@example.invalid", display_name="Sam", link_version=0)


def _clean_name(name: str | None) -> str | None:
    if not name:
        return None
    cleaned = " ".join(name.replace("\r", " ").replace("\n", " ").split())[:200]
    return cleaned or None


def format_address(email: str, display_name: str | None = None) -> str:
    """An RFC 5322 address, encoding a non-ASCII name correctly."""
    local, _, domain = email.rpartition("@")
    return str(Address(display_name=_clean_name(display_name) or "", username=local, domain=domain))
