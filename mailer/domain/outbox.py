"""Putting messages in the outbox: one row per recipient, in the caller's transaction.

Whatever caused a message (an RSVP, a registration, an organiser's send) and
the message itself commit together, or not at all. The worker delivers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select
from sqlalchemy.orm import Session

from mailer.domain.models import (
    MailingList,
    Meeting,
    OutboxMessage,
    OutboxStatus,
    Person,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from mailer.domain.people import format_address
from mailer.domain.rate_limits import within_limit
from mailer.domain.services import Services
from mailer.mail.addresses import Addresses, MessageIdentity, mailbox_of
from mailer.mail.headers import AUTO_REPLIED, AUTO_SUBMITTED, auto_reply_headers, reply_headers

_HEADER_UNSAFE = str.maketrans(
    dict.fromkeys("\r\n\0\v\f\x1c\x1d\x1e", " ")
)  # what the writer refuses


@dataclass(frozen=True)
class ReplyThread:
    """How to thread a reply under the message that caused it (RFC 5322 3.6.4)."""

    message_id: str
    references: str = ""
    subject: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return reply_headers(self.message_id, self.references)

    @property
    def reply_subject(self) -> str:
        subject = self.subject.translate(_HEADER_UNSAFE).strip()
        if not subject:
            return ""
        return subject if subject.lower().startswith("re:") else f"Re: {subject}"


@dataclass
class Envelope:
    """Who a message is from, as the recipient sees it."""

    from_address: str
    from_name: str
    headers: dict[str, str] = field(default_factory=dict)


def list_envelope(
    services: Services, mailing_list: MailingList, reply_to: str | None = None
) -> Envelope:
    """A message from a list: its address and name, replies going back to the list (or
    ``reply_to``)."""
    address = services.list_address(mailing_list.slug)
    return Envelope(address, mailing_list.name, {"Reply-To": reply_to or address})


def new_identity(domain: str, bounce_local_part: str) -> MessageIdentity:
    return Addresses(domain, bounce_local_part).new_identity()


def message_id_for_verp_token(token: str, domain: str) -> str:
    return Addresses(domain).message_id_for_verp_token(token)


def enqueue(
    session: Session,
    services: Services,
    *,
    kind: str,
    person: Person,
    context: dict[str, Any],
    sender: Envelope,
    reply_to: ReplyThread | None = None,
    auto_reply: bool = False,
    calendar: str | None = None,
    attachments: list[int] | None = None,
    subject: str | None = None,
) -> str:
    """Render ``templates/email/<kind>`` for one person and queue it in the caller's transaction;
    returns the message's Message-ID.

    The subject is the template's, or "Re: " and the subject of the message
    answered (``reply_to``), or ``subject`` when given.

    ``auto_reply`` marks answers the service wrote by itself (RFC 3834
    ``Auto-Submitted: auto-replied``), which well-behaved responders never
    answer, so two services can never loop. The row keeps the meeting the
    message is about (``context["meeting"]``), so that a reply to it is
    applied to that meeting, and the Message-ID of the message it answers.
    """
    rendered = services.emails.render(kind, {**context, "person": person})
    headers = dict(sender.headers)
    if reply_to is not None:
        headers.update(reply_to.headers)
    subject = subject or (reply_to.reply_subject if reply_to else "") or rendered.subject
    if auto_reply:
        headers.update(auto_reply_headers())
    headers["From"] = format_address(sender.from_address, sender.from_name)
    headers = {k: v.translate(_HEADER_UNSAFE) for k, v in headers.items()}
    identity = new_identity(services.config.mail.domain, services.config.mail.bounce_local_part)
    meeting = context.get("meeting")
    session.connection().execute(
        _QUEUE,
        dict(
            kind=kind,
            person_id=person.id,
            recipient=person.email,
            sender=identity.envelope_from,
            message_id=identity.message_id,
            subject=subject.translate(_HEADER_UNSAFE),
            body_text=rendered.text,
            body_html=rendered.html,
            body_calendar=calendar,
            attachment_ids=attachments,
            headers=headers,
            meeting_id=meeting.id if isinstance(meeting, Meeting) else None,
            in_reply_to=(reply_to.message_id[:998] or None) if reply_to is not None else None,
            status=OutboxStatus.QUEUED,
            attempts=0,
            next_attempt_at=utcnow(),
            created_at=utcnow(),
        ),
    )
    return identity.message_id


_QUEUE = insert(OutboxMessage)


def reply_from_list(
    session: Session,
    services: Services,
    *,
    kind: str,
    person: Person,
    mailing_list: MailingList,
    thread: ReplyThread | None,
    context: dict[str, Any],
    calendar: str | None = None,
) -> str:
    """An automatic answer from a list to the message that asked for it: from the list's address,
    threaded under that message, and marked ``Auto-Submitted: auto-replied`` (see
    :func:`enqueue`); returns its Message-ID.

    To an address that is not a member of the list, the answer repeats
    nothing the sender chose: its subject is a fixed one naming the list,
    and it greets no one by name (templates see ``stranger``). Anyone can
    write in someone else's name, and a reply in the list's name that
    repeats their words could itself say something about the recipient.
    """
    stranger = not is_member(session, person.email, mailing_list.id)
    return enqueue(
        session,
        services,
        kind=kind,
        person=person,
        context={**context, "stranger": stranger},
        sender=list_envelope(services, mailing_list),
        reply_to=thread,
        auto_reply=True,
        subject=f"Your message to {mailing_list.name}" if stranger else None,
        calendar=calendar,
    )


#: Notices about a person's own record: an answer recorded or refused, a place offered, or "was
#: this you?" for a request that could not prove its sender. They have a limit of their own (see
#: :func:`may_auto_reply`), so that a flood of other requests never stops a member hearing that
#: their record changed, or that someone tried to change it.
RECORD_NOTICES = frozenset(
    {
        "confirm_request",
        "registration_reply",
        "rsvp_confirmation",
        "rsvp_refused",
        "waitlist_moved",
        "waitlist_offer",
        "waitlist_promoted",
        "waitlist_removed",
    }
)


#: Outbox rows addressed to one mailbox: the address itself or any ``+tag`` of it. Written as a
#: range on the local part (every ``jo+...`` sorts from ``jo+`` up to ``jo,``, the next
#: character) and a suffix for the domain, so that the (recipient, created_at) index answers it.
_TO_MAILBOX = or_(
    OutboxMessage.recipient == bindparam("mailbox"),
    and_(
        OutboxMessage.recipient >= bindparam("tagged_from"),
        OutboxMessage.recipient < bindparam("tagged_to"),
        OutboxMessage.recipient.like(bindparam("domain_suffix"), escape="\\"),
    ),
)
_AUTO_REPLIES_TO_MAILBOX = (
    select(func.count())
    .select_from(OutboxMessage)
    .where(
        OutboxMessage.created_at >= bindparam("since"),
        OutboxMessage.headers[AUTO_SUBMITTED].as_string() == AUTO_REPLIED,
        _TO_MAILBOX,
    )
)
# Built once, with their parameters bound per call: this runs for every reply.
_RECORD_NOTICES_TO_MAILBOX = _AUTO_REPLIES_TO_MAILBOX.where(OutboxMessage.kind.in_(RECORD_NOTICES))
_OTHER_REPLIES_TO_MAILBOX = _AUTO_REPLIES_TO_MAILBOX.where(
    OutboxMessage.kind.not_in(RECORD_NOTICES)
)


def _mailbox_parameters(email: str) -> dict[str, str]:
    mailbox = mailbox_of(email)
    local, _, domain = mailbox.rpartition("@")
    escaped = domain.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {
        "mailbox": mailbox,
        "tagged_from": local + "+",
        "tagged_to": local + ",",
        "domain_suffix": "%@" + escaped,
    }


_ON_A_LIST = (
    select(Subscription.id)
    .join(Person, Person.id == Subscription.person_id)
    .where(
        Person.email == bindparam("email"),
        Subscription.status.in_((SubscriptionStatus.ACTIVE, SubscriptionStatus.BOUNCING)),
    )
    .limit(1)
)
_ON_THE_LIST = _ON_A_LIST.where(Subscription.list_id == bindparam("list_id"))


def is_member(session: Session, email: str, list_id: int | None = None) -> bool:
    """Whether this address is on a list (``list_id``), or on any list: subscribed, or suspended
    for bouncing (still a member, whose mail is held)."""
    address = email.strip().lower()
    if list_id is None:
        return session.scalar(_ON_A_LIST, {"email": address}) is not None
    return session.scalar(_ON_THE_LIST, {"email": address, "list_id": list_id}) is not None


def may_auto_reply(
    session: Session, services: Services, email: str, *, about_their_record: bool = False
) -> bool:
    """Whether this mailbox may get another automatic reply this hour.

    Two limits per mailbox (its ``+tag`` addresses counted as one): one for
    notices about the person's own record (``about_their_record``), one for
    every other kind. And one for the whole service: replies of any kind to
    addresses on no list, so that forged mail cannot make us write to
    strangers in bulk. A yes to such an address counts towards that limit at
    once (the caller sends the reply in the same transaction).
    """
    worker = services.config.worker
    hour = timedelta(hours=1)
    limit = (
        worker.record_notices_per_person_per_hour
        if about_their_record
        else worker.replies_per_sender_per_hour
    )
    replies = _RECORD_NOTICES_TO_MAILBOX if about_their_record else _OTHER_REPLIES_TO_MAILBOX
    parameters = {
        **_mailbox_parameters(email),
        "since": datetime.now(UTC) - hour,
        "email": email.strip().lower(),
    }
    # One round trip: how many replies went to the mailbox, and whether it is on a list.
    # Queued replies are written straight to the connection (see enqueue): nothing to flush.
    sent, member = (
        session.connection()
        .execute(select(replies.scalar_subquery(), _ON_A_LIST.exists()), parameters)
        .one()
    )
    if sent >= limit:
        return False
    if member:
        return True
    return within_limit(
        session,
        "replies-to-non-members",
        limit=worker.replies_to_non_members_per_hour,
        within=hour,
        count_refused=False,
    )
