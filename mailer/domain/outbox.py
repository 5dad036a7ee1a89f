"""Putting messages in the outbox: one row per recipient, in the caller's transaction.

Whatever caused a message (an RSVP, a registration, an organiser's send) and
the message itself commit together, or not at all. The worker delivers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from mailer.domain.models import (
    MailingList,
    Meeting,
    OutboxMessage,
    OutboxStatus,
    Person,
    utcnow,
)
from mailer.domain.people import format_address
from mailer.domain.services import Services
from mailer.mail.addresses import Addresses, MessageIdentity
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
) -> str:
    """Render ``templates/email/<kind>`` for one person and queue it in the caller's transaction;
    returns the message's Message-ID.

    ``auto_reply`` marks answers the service wrote by itself (RFC 3834
    ``Auto-Submitted: auto-replied``), which well-behaved responders never
    answer, so two services can never loop. The row keeps the meeting the
    message is about (``context["meeting"]``), so that a reply to it is
    applied to that meeting, and the Message-ID of the message it answers.
    """
    rendered = services.emails.render(kind, {**context, "person": person})
    headers = dict(sender.headers)
    subject = rendered.subject
    if reply_to is not None:
        headers.update(reply_to.headers)
        subject = reply_to.reply_subject or subject
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
) -> str:
    """An automatic answer from a list to the message that asked for it: from the list's address,
    threaded under that message, and marked ``Auto-Submitted: auto-replied`` (see
    :func:`enqueue`); returns its Message-ID."""
    return enqueue(
        session,
        services,
        kind=kind,
        person=person,
        context=context,
        sender=list_envelope(services, mailing_list),
        reply_to=thread,
        auto_reply=True,
    )


def recent_auto_replies(session: Session, recipient: str, within: timedelta) -> int:
    """How many automatic replies went to this address lately (for rate limiting); replies queued
    earlier in the caller's transaction count too."""
    since = datetime.now(UTC) - within
    # Queued messages are written straight to the connection (see enqueue): nothing to flush first.
    return (
        session.connection().scalar(_RECENT_AUTO_REPLIES, {"recipient": recipient, "since": since})
        or 0
    )


_RECENT_AUTO_REPLIES = (
    select(func.count())
    .select_from(OutboxMessage)
    .where(
        OutboxMessage.recipient == bindparam("recipient"),
        OutboxMessage.created_at >= bindparam("since"),
        OutboxMessage.headers[AUTO_SUBMITTED].as_string() == AUTO_REPLIED,
    )
)


def may_auto_reply(session: Session, services: Services, email: str) -> bool:
    """Whether this address may get another automatic reply this hour (one limit for every kind)."""
    limit = services.config.worker.replies_per_sender_per_hour
    return recent_auto_replies(session, email, timedelta(hours=1)) < limit
