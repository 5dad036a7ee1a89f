"""Mailing lists and their members."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from mailer.db import read_transaction, transaction
from mailer.domain import audit
from mailer.domain.errors import AlreadyExists, DomainError, InvalidInput, InvalidLink, NotFound
from mailer.domain.models import BounceEvent, MailingList, Person, Subscription, SubscriptionStatus
from mailer.domain.paging import paging
from mailer.domain.people import find_person, get_or_create_person
from mailer.domain.services import Services

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9.]{0,62}[a-z0-9])?$")
#: Local parts the service keeps for itself; lists cannot take them.
RESERVED_SLUGS = {
    "postmaster",
    "abuse",
    "mailer-daemon",
    "bounces",
    "noreply",
    "no-reply",
    "root",
    "admin",
}


def validate_slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug) or ".." in slug:
        raise InvalidInput(
            "A list address may use lower-case letters, digits and dots, "
            "and must start and end with a letter or digit.",
            field="slug",
        )
    if slug in RESERVED_SLUGS:
        raise InvalidInput(f"'{slug}' is reserved for the mail service.", field="slug")
    return slug


def create_list(
    session: Session,
    *,
    slug: str,
    name: str,
    description: str = "",
    actor: str,
    is_demo: bool = False,
) -> MailingList:
    slug = validate_slug(slug)
    name = name.strip()
    if not name:
        raise InvalidInput("Give the list a name.", field="name")
    with transaction(session):
        if session.scalar(select(MailingList).where(MailingList.slug == slug)) is not None:
            raise AlreadyExists(f"A list with the address '{slug}' already exists.")
        mailing_list = MailingList(
            slug=slug, name=name, description=description.strip(), is_demo=is_demo
        )
        session.add(mailing_list)
        session.flush()
        audit.record(
            session, actor=actor, action="list.create", target=f"list:{mailing_list.id}", slug=slug
        )
    return mailing_list


_LIST_BY_SLUG = select(MailingList).where(MailingList.slug == bindparam("slug"))


def get_list(session: Session, slug: str) -> MailingList:
    """Within the caller's transaction: the list with this address (raises NotFound)."""
    found = session.scalar(_LIST_BY_SLUG, {"slug": slug.lower()})
    if found is None:
        raise NotFound(f"There is no list called '{slug}'.")
    return found


def find_list(session: Session, slug: str) -> MailingList:
    """A list by its address (raises NotFound), in a transaction of its own."""
    with read_transaction(session):
        return get_list(session, slug)


def list_exists(session: Session, slug: str) -> bool:
    with read_transaction(session):
        return (
            session.scalar(select(MailingList.id).where(MailingList.slug == slug.lower()))
            is not None
        )


def all_lists(session: Session, list_ids: Collection[int] | None = None) -> list[MailingList]:
    """Every list by name; ``list_ids``: only these (None: all)."""
    query = select(MailingList).order_by(MailingList.name)
    if list_ids is not None:
        query = query.where(MailingList.id.in_(list(list_ids)))
    with read_transaction(session):
        return list(session.scalars(query))


@dataclass(frozen=True)
class Member:
    email: str
    display_name: str | None
    status: SubscriptionStatus
    since: datetime | None = None
    #: Hard bounces since the last good delivery (delivery stops at the configured threshold).
    bounce_score: int = 0
    bounces: int = 0
    last_bounce_at: datetime | None = None
    last_bounce_status: str = ""


def active_member_count(session: Session, list_id: int) -> int:
    """How many members a send to the whole list reaches (the count an organiser confirms)."""
    with read_transaction(session):
        return (
            session.scalar(
                select(func.count())
                .select_from(Subscription)
                .where(
                    Subscription.list_id == list_id,
                    Subscription.status == SubscriptionStatus.ACTIVE,
                )
            )
            or 0
        )


def add_member(
    session: Session, *, slug: str, email: str, display_name: str | None = None, actor: str
) -> Subscription:
    """Add someone as an active member (organiser action; the organiser vouches for them)."""
    with transaction(session):
        mailing_list = get_list(session, slug)
        person = get_or_create_person(session, email, display_name)
        sub = _subscription(session, person, mailing_list)
        if sub is not None and sub.status is SubscriptionStatus.UNSUBSCRIBED:
            raise LeftTheList(
                f"{person.email} unsubscribed from {mailing_list.name} themselves, so only they "
                f"can rejoin: from the link in any email of the list, or by writing to "
                f"{mailing_list.slug}-join@."
            )
        if sub is None:
            sub = Subscription(
                person=person, mailing_list=mailing_list, status=SubscriptionStatus.ACTIVE
            )
            session.add(sub)
        else:
            sub.status = SubscriptionStatus.ACTIVE
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="member.add",
            target=f"list:{mailing_list.id}",
            person=person.id,
        )
    return sub


class LeftTheList(DomainError):
    """Someone who unsubscribed is put back only by themselves."""


def remove_member(session: Session, *, slug: str, email: str, actor: str) -> Subscription:
    """An organiser takes someone off a list: they get no more mail from it, and its links stop
    working for them (an old unsubscribe page cannot put them back). Their answers to the
    list's meetings are withdrawn by :func:`mailer.domain.membership.remove_from_list`, which is
    what callers use."""
    with transaction(session):
        mailing_list = get_list(session, slug)
        person = find_person(session, email)
        sub = _subscription(session, person, mailing_list) if person else None
        if sub is None or person is None:
            raise NotFound(f"{email} is not on {mailing_list.name}.")
        sub.status = SubscriptionStatus.REMOVED
        on_other_lists = session.scalar(
            select(func.count())
            .select_from(Subscription)
            .where(
                Subscription.person_id == person.id,
                Subscription.list_id != mailing_list.id,
                Subscription.status.in_(
                    [
                        SubscriptionStatus.ACTIVE,
                        SubscriptionStatus.PENDING,
                        SubscriptionStatus.BOUNCING,
                    ]
                ),
            )
        )
        if not on_other_lists:
            person.link_version += 1  # every link they were sent stops working
        # On other lists too, only this list's links stop: its meetings and calls for
        # volunteers refuse someone removed from it (another list's links are not its to end).
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="member.remove",
            target=f"list:{mailing_list.id}",
            person=sub.person_id,
        )
        return sub


def rename_member(
    session: Session, *, slug: str, email: str, display_name: str, actor: str
) -> Person:
    """An organiser corrects the name a member of a list is greeted and listed by (empty: no
    name). Mail never replaces a name it did not prove, so this is how a wrong one is put
    right."""
    with transaction(session):
        mailing_list = get_list(session, slug)
        person = find_person(session, email)
        if person is None or _subscription(session, person, mailing_list) is None:
            raise NotFound(f"{email} is not on {mailing_list.name}.")
        cleaned = " ".join(display_name.split())
        if len(cleaned) > 200:
            raise InvalidInput("Keep the name to 200 characters.", field="name")
        person.display_name = cleaned or None
        audit.record(
            session,
            actor=actor,
            action="member.rename",
            target=f"list:{mailing_list.id}",
            person=person.id,
        )
        return person


def _subscription(
    session: Session, person: Person, mailing_list: MailingList
) -> Subscription | None:
    return session.scalar(
        select(Subscription).where(
            Subscription.person_id == person.id, Subscription.list_id == mailing_list.id
        )
    )


def list_members(
    session: Session, slug: str, *, seen_by: Collection[int] | None = None
) -> list[Member]:
    """Every member of the list, past ones included, by address (for the CSV and the CLI);
    ``seen_by``: see :func:`_members`."""
    with read_transaction(session):
        return _members(session, get_list(session, slug).id, [], seen_by=seen_by)


#: Members shown on one page of the panel's list.
MEMBERS_PER_PAGE = 50


@dataclass(frozen=True)
class MemberPage:
    """One page of a list's members matching a search: ``total`` of them in ``pages`` pages;
    ``active`` counts the list's active members whatever the search."""

    members: list[Member]
    total: int
    page: int
    pages: int
    active: int
    #: Where this page's members stand among all that match (1 for the first).
    first: int = 1


def find_members(
    session: Session,
    slug: str,
    *,
    search: str = "",
    status: SubscriptionStatus | None = None,
    page: int = 1,
    per_page: int = MEMBERS_PER_PAGE,
    seen_by: Collection[int] | None = None,
) -> MemberPage:
    """The members whose address or name holds ``search`` (any case; an organisation's domain
    finds its people) and who have ``status``, one page of them by address."""
    with read_transaction(session):
        mailing_list = get_list(session, slug)
        conditions: list[ColumnElement[bool]] = []
        term = " ".join(search.split()).lower()
        if term:
            conditions.append(
                or_(
                    func.lower(Person.email).contains(term, autoescape=True),
                    func.lower(func.coalesce(Person.display_name, "")).contains(
                        term, autoescape=True
                    ),
                )
            )
        if status is not None:
            conditions.append(Subscription.status == status)
        total = (
            session.scalar(
                select(func.count())
                .select_from(Subscription)
                .join(Person, Person.id == Subscription.person_id)
                .where(Subscription.list_id == mailing_list.id, *conditions)
            )
            or 0
        )
        where = paging(total, page, per_page)
        members = _members(
            session,
            mailing_list.id,
            conditions,
            limit=per_page,
            offset=where.offset,
            seen_by=seen_by,
        )
        return MemberPage(
            members,
            total,
            where.page,
            where.pages,
            active_member_count(session, mailing_list.id),
            first=where.first,
        )


def _members(
    session: Session,
    list_id: int,
    conditions: list[ColumnElement[bool]],
    *,
    limit: int | None = None,
    offset: int = 0,
    seen_by: Collection[int] | None = None,
) -> list[Member]:
    """The list's members with their bounces. ``seen_by``: the lists of the organiser who will
    see them (None: an admin, every list). A member who is also on a list outside those is
    shown without their name and bounces: both are theirs on every list, and would tell a
    plain organiser what another list knows of them."""
    bounces = (
        select(
            BounceEvent.person_id,
            func.count().label("n"),
            func.max(BounceEvent.at).label("last"),
        )
        .group_by(BounceEvent.person_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Person.id,
            Person.email,
            Person.display_name,
            Subscription.status,
            Subscription.created_at,
            Subscription.bounce_score,
            bounces.c.n,
            bounces.c.last,
        )
        .join(Subscription, Subscription.person_id == Person.id)
        .outerjoin(bounces, bounces.c.person_id == Person.id)
        .where(Subscription.list_id == list_id, *conditions)
        .order_by(Person.email)
        .limit(limit)
        .offset(offset)
    ).all()
    shown = [row.id for row in rows]
    last_status = dict(
        session.execute(
            select(BounceEvent.person_id, BounceEvent.status)
            .join(
                bounces,
                and_(
                    bounces.c.person_id == BounceEvent.person_id,
                    bounces.c.last == BounceEvent.at,
                ),
            )
            .where(BounceEvent.person_id.in_(shown))
        ).all()
    )
    shared: set[int] = set()
    if seen_by is not None and shown:
        shared = set(
            session.scalars(
                select(Subscription.person_id).where(
                    Subscription.person_id.in_(shown),
                    Subscription.list_id.not_in(list(seen_by)),
                )
            )
        )
    return [
        Member(email, name, status, since, score or 0, n or 0, last, last_status.get(pid, "") or "")
        if pid not in shared
        else Member(email, None, status, since, score or 0)
        for pid, email, name, status, since, score, n, last in rows
    ]


@dataclass(frozen=True)
class UnsubscribeState:
    list_name: str
    list_slug: str
    subscribed: bool


def _subscription_for_token(
    session: Session, services: Services, token: str
) -> tuple[Subscription | None, MailingList]:
    claim = services.links.load_unsubscribe(token)
    person = session.get(Person, claim.person_id)
    mailing_list = session.get(MailingList, claim.list_id)
    if person is None or mailing_list is None:
        raise InvalidLink("This unsubscribe link is no longer valid.")
    if person.link_version != claim.link_version:
        raise InvalidLink("This link no longer works.")
    return _subscription(session, person, mailing_list), mailing_list


def unsubscribe_state(session: Session, services: Services, token: str) -> UnsubscribeState:
    """Read-only: what the unsubscribe page shows (the list, never the address)."""
    with read_transaction(session):
        sub, mailing_list = _subscription_for_token(session, services, token)
        return UnsubscribeState(
            mailing_list.name,
            mailing_list.slug,
            sub is not None and sub.status is SubscriptionStatus.ACTIVE,
        )


def leave_by_token(
    session: Session, services: Services, token: str, *, source: str
) -> UnsubscribeState:
    """One-click unsubscribe (RFC 8058) or the -leave+token address: the token proves who asks.

    Repeating it is harmless. The list keeps no further mail for the person.
    """
    with transaction(session):
        sub, mailing_list = _subscription_for_token(session, services, token)
        if sub is not None and sub.status not in (
            SubscriptionStatus.UNSUBSCRIBED,
            SubscriptionStatus.REMOVED,
        ):
            sub.status = SubscriptionStatus.UNSUBSCRIBED
            audit.record(
                session,
                actor=f"person:{sub.person_id}",
                action="member.leave",
                target=f"list:{mailing_list.id}",
                source=source,
            )
        return UnsubscribeState(mailing_list.name, mailing_list.slug, False)


def rejoin_by_token(session: Session, services: Services, token: str) -> UnsubscribeState:
    """Undo an unsubscribe from the same link (the token proves ownership of the address)."""
    with transaction(session):
        sub, mailing_list = _subscription_for_token(session, services, token)
        if sub is None:
            raise InvalidLink("This link does not belong to a member of the list.")
        if sub.status is SubscriptionStatus.REMOVED:
            raise InvalidLink("An organiser took this address off the list: please ask them.")
        if sub.status is not SubscriptionStatus.ACTIVE:
            sub.status = SubscriptionStatus.ACTIVE
            sub.bounce_score = 0
            audit.record(
                session,
                actor=f"person:{sub.person_id}",
                action="member.rejoin",
                target=f"list:{mailing_list.id}",
            )
        return UnsubscribeState(mailing_list.name, mailing_list.slug, True)


_DOMAIN_PATTERN = re.compile(
    r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"
)


def configure_list(
    session: Session,
    *,
    slug: str,
    actor: str,
    name: str | None = None,
    description: str | None = None,
    allowed_sender_domains: str | None = None,
    trust_dmarc: bool | None = None,
) -> MailingList:
    """Change a list's settings; ``allowed_sender_domains`` is comma-separated (``*.gov.uk,
    nhs.net``)."""
    cleaned: str | None = None
    if allowed_sender_domains is not None:
        patterns = [p.strip().lower() for p in allowed_sender_domains.split(",") if p.strip()]
        for pattern in patterns:
            if not _DOMAIN_PATTERN.match(pattern):
                raise InvalidInput(
                    f"'{pattern}' is not a domain such as dwp.gov.uk or *.gov.uk.",
                    field="allowed_sender_domains",
                )
        cleaned = ", ".join(patterns)
    with transaction(session):
        mailing_list = get_list(session, slug)
        if name is not None and name.strip():
            mailing_list.name = name.strip()
        if description is not None:
            mailing_list.description = description.strip()
        if cleaned is not None:
            mailing_list.allowed_sender_domains = cleaned
        if trust_dmarc is not None:
            mailing_list.trust_dmarc = trust_dmarc
        audit.record(
            session,
            actor=actor,
            action="list.configure",
            target=f"list:{mailing_list.id}",
            allowed_sender_domains=mailing_list.allowed_sender_domains,
            trust_dmarc=mailing_list.trust_dmarc,
        )
        return mailing_list
