"""Joining and leaving by email, safely.

A From: header proves nothing. So a first-time join becomes *pending* and
the address owner confirms it (a signed link and one button, or a reply with
the token), unless our own MTA vouched for the sender with an aligned DMARC
pass and the list trusts that. A request to leave is answered with the
member's own unsubscribe link, so a forged request removes nobody.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mailer.db import read_transaction, transaction
from mailer.domain import audit
from mailer.domain.errors import DomainError, InvalidLink, NotFound
from mailer.domain.lists import get_list, remove_member
from mailer.domain.models import MailingList, Person, Subscription, SubscriptionStatus
from mailer.domain.outbox import (
    ReplyThread,
    enqueue,
    list_envelope,
    may_auto_reply,
    reply_from_list,
)
from mailer.domain.people import get_or_create_person
from mailer.domain.rsvp import withdraw_upcoming_answers
from mailer.domain.services import Services


class SenderNotAllowed(DomainError):
    """The list only takes mail from certain domains."""


def sender_allowed(allowed_sender_domains: str, email: str) -> bool:
    """Whether a list whose allowed sender domains are these (comma-separated, ``*.gov.uk`` style;
    none means any) takes mail from this address."""
    patterns = [p.strip().lower() for p in allowed_sender_domains.split(",") if p.strip()]
    if not patterns:
        return True
    domain = email.rpartition("@")[2].lower()
    return any(domain == p or fnmatch.fnmatch(domain, p) for p in patterns)


_ALLOWED_SENDER_DOMAINS = select(MailingList.allowed_sender_domains).where(
    MailingList.slug == bindparam("slug")
)


def check_sender(
    session: Session,
    services: Services,
    *,
    list_slug: str,
    email: str,
    display_name: str | None,
    thread: ReplyThread | None,
) -> None:
    """Raise SenderNotAllowed (after a polite reply) when the list does not take mail from this
    domain."""
    with read_transaction(session):
        domains = session.connection().scalar(_ALLOWED_SENDER_DOMAINS, {"slug": list_slug.lower()})
    if domains is None:
        raise NotFound(f"There is no list called '{list_slug}'.")
    if sender_allowed(domains, email):
        return
    with transaction(session):
        mailing_list = get_list(session, list_slug)
        person = get_or_create_person(session, email, display_name)
        if thread is not None and may_auto_reply(session, services, person.email):
            reply_from_list(
                session,
                services,
                kind="sender_refused",
                person=person,
                thread=thread,
                mailing_list=mailing_list,
                context={
                    "mailing_list": mailing_list,
                    "domains": mailing_list.allowed_sender_domains.replace(",", ", "),
                },
            )
    raise SenderNotAllowed(
        f"{mailing_list.name} does not take mail from {email.rpartition('@')[2]}"
    )


@dataclass(frozen=True)
class MembershipOutcome:
    summary: str
    status: SubscriptionStatus | None
    replied: bool


def request_join(
    session: Session,
    services: Services,
    *,
    list_slug: str,
    email: str,
    display_name: str | None,
    thread: ReplyThread,
    authenticated: bool,
) -> MembershipOutcome:
    """Someone asks by email to join: confirm first, unless DMARC vouches and the list trusts it."""
    with transaction(session):
        mailing_list = get_list(session, list_slug)
        person = get_or_create_person(session, email, display_name)
        sub = _subscription(session, person, mailing_list)
        may_reply = may_auto_reply(session, services, person.email)
        request_address = services.config.addresses.request_address(mailing_list.slug)
        if sub is not None and sub.status is SubscriptionStatus.ACTIVE:
            if may_reply:
                reply_from_list(
                    session,
                    services,
                    kind="join_already",
                    person=person,
                    thread=thread,
                    mailing_list=mailing_list,
                    context={"mailing_list": mailing_list},
                )
            return MembershipOutcome("already a member", sub.status, may_reply)
        if sub is None:
            sub = Subscription(
                person=person, mailing_list=mailing_list, status=SubscriptionStatus.PENDING
            )
            session.add(sub)
        if authenticated and mailing_list.trust_dmarc:
            sub.status = SubscriptionStatus.ACTIVE
            session.flush()
            audit.record(
                session,
                actor=f"person:{person.id}",
                action="member.join",
                target=f"list:{mailing_list.id}",
                via="email, DMARC pass",
            )
            if may_reply:
                reply_from_list(
                    session,
                    services,
                    kind="join_welcome",
                    person=person,
                    thread=thread,
                    mailing_list=mailing_list,
                    context={"mailing_list": mailing_list},
                )
            return MembershipOutcome(
                "joined (DMARC pass from the trusted MTA)", sub.status, may_reply
            )
        sub.status = SubscriptionStatus.PENDING
        session.flush()
        audit.record(
            session,
            actor=f"person:{person.id}",
            action="member.join_requested",
            target=f"list:{mailing_list.id}",
        )
        token = services.links.confirm_token(person.id, mailing_list.id, person.link_version)
        if may_reply:
            enqueue(  # answers go to the -request address, which reads "confirm <code>"
                session,
                services,
                kind="join_confirm",
                person=person,
                # threaded, under our own subject: never one a stranger chose
                reply_to=ReplyThread(thread.message_id, thread.references),
                auto_reply=True,
                sender=list_envelope(services, mailing_list, reply_to=request_address),
                context={
                    "mailing_list": mailing_list,
                    "confirm_url": services.links.confirm_url(token),
                    "token": token,
                    "request_address": request_address,
                },
            )
        return MembershipOutcome(
            "join pending: confirmation sent to the address owner", sub.status, may_reply
        )


@dataclass(frozen=True)
class ConfirmState:
    list_name: str
    status: SubscriptionStatus | None


def _claim(
    session: Session, services: Services, token: str
) -> tuple[Person, MailingList, Subscription | None]:
    claim = services.links.load_confirm(token)
    person = session.get(Person, claim.person_id)
    mailing_list = session.get(MailingList, claim.list_id)
    if person is None or mailing_list is None or person.link_version != claim.link_version:
        raise InvalidLink("This confirmation is no longer valid.")
    return person, mailing_list, _subscription(session, person, mailing_list)


def confirm_state(session: Session, services: Services, token: str) -> ConfirmState:
    """Read-only: what the confirmation page shows."""
    with read_transaction(session):
        _, mailing_list, sub = _claim(session, services, token)
        return ConfirmState(mailing_list.name, sub.status if sub else None)


def confirm_join(session: Session, services: Services, token: str, *, source: str) -> ConfirmState:
    """The address owner confirms (link + POST, or a reply carrying the token). Repeating is
    harmless."""
    with transaction(session):
        person, mailing_list, sub = _claim(session, services, token)
        if sub is None:
            raise InvalidLink("There is no request to join waiting for this address.")
        if sub.status is SubscriptionStatus.ACTIVE:
            return ConfirmState(mailing_list.name, sub.status)
        sub.status = SubscriptionStatus.ACTIVE
        sub.bounce_score = 0
        audit.record(
            session,
            actor=f"person:{person.id}",
            action="member.join",
            target=f"list:{mailing_list.id}",
            via=source,
        )
        enqueue(
            session,
            services,
            kind="join_welcome",
            person=person,
            sender=list_envelope(services, mailing_list),
            context={"mailing_list": mailing_list},
        )
        return ConfirmState(mailing_list.name, sub.status)


def request_leave(
    session: Session,
    services: Services,
    *,
    list_slug: str,
    email: str,
    display_name: str | None,
    thread: ReplyThread,
) -> MembershipOutcome:
    """Answer a request to leave with the member's own one-click unsubscribe link."""
    with transaction(session):
        mailing_list = get_list(session, list_slug)
        person = get_or_create_person(session, email, display_name)
        sub = _subscription(session, person, mailing_list)
        may_reply = may_auto_reply(session, services, person.email)
        member = sub is not None and sub.status in (
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.BOUNCING,
            SubscriptionStatus.PENDING,
        )
        if may_reply:
            token = services.links.unsubscribe_token(
                person.id, mailing_list.id, person.link_version
            )
            reply_from_list(
                session,
                services,
                kind="leave_confirm" if member else "not_a_member",
                person=person,
                thread=thread,
                mailing_list=mailing_list,
                context={
                    "mailing_list": mailing_list,
                    "unsubscribe_url": services.links.unsubscribe_url(token),
                },
            )
        return MembershipOutcome(
            "asked to leave: sent the unsubscribe link to the address owner"
            if member
            else "asked to leave but is not a member",
            sub.status if sub else None,
            may_reply,
        )


def send_help(
    session: Session,
    services: Services,
    *,
    list_slug: str,
    email: str,
    display_name: str | None,
    thread: ReplyThread,
    reason: str = "",
) -> bool:
    with transaction(session):
        mailing_list = get_list(session, list_slug)
        person = get_or_create_person(session, email, display_name)
        if not may_auto_reply(session, services, person.email):
            return False
        domain = services.config.mail.domain
        reply_from_list(
            session,
            services,
            kind="help",
            person=person,
            thread=thread,
            mailing_list=mailing_list,
            context={
                "mailing_list": mailing_list,
                "reason": reason,
                "domain": domain,
                "list_address": services.list_address(mailing_list.slug),
            },
        )
        return True


def _subscription(
    session: Session, person: Person, mailing_list: MailingList
) -> Subscription | None:
    return session.scalar(
        select(Subscription).where(
            Subscription.person_id == person.id, Subscription.list_id == mailing_list.id
        )
    )


def remove_from_list(
    session: Session, services: Services, *, slug: str, email: str, actor: str
) -> int:
    """An organiser takes someone off a list (see :func:`mailer.domain.lists.remove_member`) and
    withdraws their answers to its meetings to come: a place they held or waited for goes to the
    next in line. Returns how many answers were withdrawn."""
    with transaction(session):
        sub = remove_member(session, slug=slug, email=email, actor=actor)
        return withdraw_upcoming_answers(session, services, sub.person_id, list_id=sub.list_id)
