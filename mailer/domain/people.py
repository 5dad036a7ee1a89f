"""People are email addresses, with at most a display name they gave us."""

from __future__ import annotations

import functools
from email.headerregistry import Address

import email_validator
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mailer.domain.errors import InvalidInput
from mailer.domain.models import Person

# Addresses at *.localhost and *.test are accepted: the dev service and tests use them,
# and no real mail can be routed to them (email-validator documents this list as adjustable).
for _name in ("localhost", "test"):
    if _name in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        email_validator.SPECIAL_USE_DOMAIN_NAMES.remove(_name)


@functools.lru_cache(maxsize=4096)  # pure, and asked about the same address several times a message
def normalise_email(raw: str) -> str:
    """A canonical, syntax-checked address: the domain lower-cased, the local part kept.

    Raises InvalidInput with a message fit to show the person who typed it.
    """
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"{raw!r} is not a valid email address: {exc}", field="email") from None
    return result.normalized.lower()


_PERSON_BY_EMAIL = select(Person).where(Person.email == bindparam("email"))


def find_person(session: Session, email: str) -> Person | None:
    """Within the caller's transaction: the person with this address (normalised), if any."""
    return session.scalar(_PERSON_BY_EMAIL, {"email": normalise_email(email)})


def get_or_create_person(session: Session, email: str, display_name: str | None = None) -> Person:
    """Within the caller's transaction: the person for this address, created if new.

    A name is recorded only for a person who has none yet.
    """
    return find_or_add_person(session, email, display_name)[0]


def find_or_add_person(
    session: Session, email: str, display_name: str | None = None
) -> tuple[Person, bool]:
    """Like :func:`get_or_create_person`, and whether the person was added just now: such a
    person has no answers yet and has been sent nothing, which callers then need not look for."""
    address = normalise_email(email)
    person = session.scalar(_PERSON_BY_EMAIL, {"email": address})
    if person is None:
        person = Person(email=address, display_name=_clean_name(display_name))
        session.add(person)
        session.flush()  # its id is needed at once (answers, audit entries, links)
        return person, True
    if display_name and not person.display_name:
        person.display_name = _clean_name(display_name)
    return person, False


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
