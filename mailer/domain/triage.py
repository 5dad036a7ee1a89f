"""Messages the service could not act on safely go to organisers, and the sender is told."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, bindparam, func, select, text, update
from sqlalchemy.orm import Session, defer

from mailer.db import read_transaction, rows_changed, transaction
from mailer.domain import audit
from mailer.domain.errors import InvalidInput, NotFound
from mailer.domain.lists import get_list
from mailer.domain.models import (
    InboundIntent,
    InboundMessage,
    InboundStatus,
    MailingList,
    Meeting,
    OutboxMessage,
    Rsvp,
    utcnow,
)
from mailer.domain.outbox import (
    Envelope,
    ReplyThread,
    enqueue,
    may_auto_reply,
    reply_from_list,
)
from mailer.domain.people import get_or_create_person
from mailer.domain.services import Services


def acknowledge_for_triage(
    session: Session,
    services: Services,
    *,
    list_slug: str,
    email: str,
    display_name: str | None,
    thread: ReplyThread,
    reason: str,
    suggest_registering: bool = True,
    person_replies: bool = True,
) -> bool:
    """Tell the sender a person will read their message; returns whether a reply was queued.

    It promises a reply from a person only when there is something to answer
    (``person_replies``: not for a bare "thanks"). The reply tells how to register only when
    that may be what they wanted
    (``suggest_registering``: not when they asked us not to do something) and they have not
    answered for a meeting of the list still to come."""
    with transaction(session):
        mailing_list = get_list(session, list_slug)
        person = get_or_create_person(session, email, display_name)
        if not may_auto_reply(session, services, person.email):
            return False
        answered = session.scalar(
            select(Rsvp.person_id)
            .join(Meeting, Meeting.id == Rsvp.meeting_id)
            .where(
                Rsvp.person_id == person.id,
                Meeting.list_id == mailing_list.id,
                Meeting.ends_at > utcnow(),
            )
            .limit(1)
        )
        reply_from_list(
            session,
            services,
            kind="triage_ack",
            person=person,
            thread=thread,
            mailing_list=mailing_list,
            context={
                "mailing_list": mailing_list,
                "reason": reason,
                "list_address": services.list_address(mailing_list.slug),
                "registration_hint": suggest_registering and answered is None,
                "person_replies": person_replies,
            },
        )
        return True


@dataclass(frozen=True)
class InboundOutcome:
    """What handling an inbound message came to: its status, what it was understood as, and what was
    done, in words for the inbound log."""

    status: InboundStatus
    intent: InboundIntent | None
    summary: str
    #: The message must keep neither who sent it nor what it said (an anonymous answer was taken
    #: out of it): only the record that it came and what was done stays.
    forget_sender: bool = False
    #: With ``forget_sender``: what is kept of the Message-ID (see :func:`forgotten_message_id`),
    #: so a copy of the message arriving later is still known for one.
    kept_message_id: str | None = None
    #: The meeting the message was applied to, when it was about one.
    meeting_id: int | None = None


@dataclass(frozen=True)
class WhatWasRead:
    """What the worker read of a message, kept on its row so organisers see what was classified:
    its headers and new text, and what the text was understood to ask for (``understood``: the
    request's kind, mode, fallback, whether it asks a question, why, and which of our messages it
    answers), or None when it was not read as a request."""

    message_id: str = ""
    sender: str | None = None
    sender_name: str | None = None
    subject: str = ""
    new_text: str = ""
    understood: dict[str, object] | None = None


_FINISH = update(InboundMessage).where(InboundMessage.id == bindparam("own_id"))


def finish_inbound(
    session: Session,
    inbound_id: int,
    outcome: InboundOutcome,
    *,
    read: WhatWasRead,
    list_slug: str | None = None,
) -> None:
    """Within the caller's transaction: record what was read, understood and done, in one UPDATE.
    This marks the message's Message-ID handled, in the same commit as what the message did."""
    values: dict[str, object] = {
        "status": outcome.status,
        "outcome": outcome.summary,
        "intent": outcome.intent,
        "processed_at": utcnow(),
        "lease_until": None,
        "list_slug": list_slug,
        "message_id": read.message_id[:998] or None,
        "sender": read.sender[:320] if read.sender else None,
        "sender_name": (read.sender_name or "")[:200] or None,
        "subject": read.subject,
        "new_text": read.new_text,
        "understood": (
            {**read.understood, "meeting_id": outcome.meeting_id}
            if read.understood is not None
            else None
        ),
    }
    if outcome.forget_sender:
        day = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        values.update(
            message_id=outcome.kept_message_id,
            received_at=day,  # no time that lines up with the acknowledgement's
            processed_at=day,
            raw=b"",
            size=0,
            mail_from="",
            peer="",
            sender=None,
            sender_name=None,
            subject="",
            new_text="",
            understood=None,
        )
    session.connection().execute(_FINISH, {"own_id": inbound_id, **values})


_FINISHED = (InboundStatus.DONE, InboundStatus.TRIAGE, InboundStatus.IGNORED)
# Transaction-scoped advisory lock on a Message-ID (PostgreSQL).
_LOCK_MESSAGE_ID = text("SELECT pg_advisory_xact_lock(:key)")


def forgotten_message_id(pseudonym: str) -> str:
    """How a message that must not keep its sender keeps its Message-ID: as a keyed digest
    (``LinkSigner.pseudonym``), which still matches a later copy of the same message but says
    nothing of the original (Message-IDs often name the sender's domain) and matches no
    ``In-Reply-To`` of ours."""
    return f"<{pseudonym}@forgotten.invalid>"


@dataclass(frozen=True)
class EarlierCopy:
    """The handled copy of a message that came again: its id, and whether it was forgotten (as
    an anonymous answer is), so the new copy is forgotten too."""

    id: int
    forgotten: bool


def handled_copy(
    session: Session, inbound_id: int, message_id: str, forgotten_as: str = ""
) -> EarlierCopy | None:
    """Within the transaction handling a message: a copy of it (same Message-ID) already handled, if
    any.

    A copy counts once its outcome is recorded, which commits with its
    effects. On PostgreSQL a transaction-scoped advisory lock on the
    Message-ID makes a copy handled at the same moment by another worker
    wait for that commit and then find it; on SQLite the write lock already
    puts writers one after another. A copy handled as an anonymous answer keeps its Message-ID
    only as ``forgotten_as`` (see :func:`forgotten_message_id`).
    """
    if not message_id:
        return None
    message_id = message_id[:998]
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(_LOCK_MESSAGE_ID, {"key": _lock_key(message_id)})
    row = (
        session.connection()
        .execute(
            _EARLIER_COPY,
            {"message_ids": [message_id, forgotten_as or message_id], "own_id": inbound_id},
        )
        .first()
    )
    if row is None:
        return None
    return EarlierCopy(row.id, bool(forgotten_as) and row.message_id == forgotten_as)


_EARLIER_COPY = (
    select(InboundMessage.id, InboundMessage.message_id)
    .where(
        InboundMessage.message_id.in_(bindparam("message_ids", expanding=True)),
        InboundMessage.id != bindparam("own_id"),
        InboundMessage.status.in_(_FINISHED),
    )
    .order_by(InboundMessage.id)
    .limit(1)
)


def _lock_key(message_id: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(message_id.encode("utf-8", "replace"), digest_size=8).digest(),
        "big",
        signed=True,
    )


def fail_inbound(
    session: Session, inbound_id: int, error: str, *, max_attempts: int = 5
) -> InboundStatus:
    """Record a processing error; retried after a growing delay, then parked as failed for
    organisers.
    Returns the message's status now."""
    with transaction(session):
        message = session.get(InboundMessage, inbound_id, options=[defer(InboundMessage.raw)])
        if message is None:
            return InboundStatus.FAILED
        message.error = error[-4000:]
        if message.attempts >= max_attempts:
            message.status = InboundStatus.FAILED
            message.lease_until = None
        else:
            message.lease_until = utcnow() + timedelta(seconds=30 * 2**message.attempts)
        return message.status


#: What a message was understood as, in the inbound log's words.
INTENT_WORDS = {
    InboundIntent.REGISTER: "asked to register",
    InboundIntent.DECLINE: "can't attend",
    InboundIntent.JOIN: "asked to join the list",
    InboundIntent.LEAVE: "asked to leave the list",
    InboundIntent.HELP: "asked for help",
    InboundIntent.CONFIRM: "confirmed",
    InboundIntent.CALENDAR: "calendar reply",
    InboundIntent.ANSWER: "answer to a consultation",
    InboundIntent.BOUNCE: "delivery report",
    InboundIntent.DUPLICATE: "a second copy",
    InboundIntent.AUTOMATED: "automatic mail",
    InboundIntent.REFUSED: "refused",
    InboundIntent.UNCLEAR: "not understood",
}

#: How a message's handling ended, where nothing else says what it was.
STATUS_WORDS = {
    InboundStatus.NEW: "waiting to be read",
    InboundStatus.PROCESSING: "being read",
    InboundStatus.DONE: "done",
    InboundStatus.TRIAGE: "left for an organiser",
    InboundStatus.IGNORED: "nothing to do",
    InboundStatus.FAILED: "could not be read",
}


def triage_queue(
    session: Session, limit: int = 100, *, list_ids: Collection[int] | None = None
) -> list[InboundMessage]:
    """Messages waiting for a person, newest first; ``list_ids``: only those to these lists
    (None: every message)."""
    with read_transaction(session):
        query = (
            select(InboundMessage)
            .where(InboundMessage.status.in_([InboundStatus.TRIAGE, InboundStatus.FAILED]))
            .order_by(InboundMessage.received_at.desc())
            .limit(limit)
        )
        return list(session.scalars(_to_lists(query, list_ids)))


def _to_lists(
    query: Select[InboundMessage], list_ids: Collection[int] | None
) -> Select[InboundMessage]:
    if list_ids is None:
        return query
    return query.where(
        InboundMessage.list_slug.in_(
            select(MailingList.slug).where(MailingList.id.in_(list(list_ids)))
        )
    )


def load_inbound(session: Session, inbound_id: int) -> InboundMessage | None:
    with read_transaction(session):
        return session.get(InboundMessage, inbound_id)


@dataclass(frozen=True)
class StoredMessage:
    """What the worker needs of a stored message."""

    raw: bytes
    mail_from: str
    rcpt_to: list[str]
    received_at: datetime


def stored_messages(session: Session, inbound_ids: list[int]) -> dict[int, StoredMessage]:
    """Stored messages by id, read in one query; ids that no longer exist are missing from the
    result."""
    if not inbound_ids:
        return {}
    with read_transaction(session):
        rows = session.execute(
            select(
                InboundMessage.id,
                InboundMessage.raw,
                InboundMessage.mail_from,
                InboundMessage.rcpt_to,
                InboundMessage.received_at,
            ).where(InboundMessage.id.in_(inbound_ids))
        ).all()
    return {
        row.id: StoredMessage(row.raw, row.mail_from, row.rcpt_to, row.received_at) for row in rows
    }


def replies_sent(session: Session, message_ids: list[str]) -> dict[str, list[str]]:
    """The kinds of the messages we sent in answer to these inbound Message-IDs, by Message-ID
    (those with no answer are missing)."""
    ids = [i for i in message_ids if i]
    if not ids:
        return {}
    replies: dict[str, list[str]] = {}
    with read_transaction(session):
        rows = session.execute(
            select(OutboxMessage.in_reply_to, OutboxMessage.kind)
            .where(OutboxMessage.in_reply_to.in_(ids))
            .order_by(OutboxMessage.id)
        )
        for in_reply_to, kind in rows:
            replies.setdefault(in_reply_to or "", []).append(kind)
    return replies


def inbound_log(
    session: Session,
    *,
    limit: int = 100,
    status: InboundStatus | None = None,
    before: int | None = None,
    list_ids: Collection[int] | None = None,
    search: str = "",
) -> list[InboundMessage]:
    """Recent inbound messages with what was understood and done, newest first (raw bytes not
    loaded); ``before``: only those older than that message (the next page); ``list_ids``: only
    those to these lists (None: every message); ``search``: only those whose sender or subject
    holds it (any case)."""
    with read_transaction(session):
        query = (
            select(InboundMessage)
            .options(defer(InboundMessage.raw))
            .order_by(InboundMessage.id.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(InboundMessage.status == status)
        if before is not None:
            query = query.where(InboundMessage.id < before)
        term = " ".join(search.split()).lower()
        if term:
            query = query.where(
                func.lower(func.coalesce(InboundMessage.sender, InboundMessage.mail_from)).contains(
                    term, autoescape=True
                )
                | func.lower(InboundMessage.subject).contains(term, autoescape=True)
            )
        return list(session.scalars(_to_lists(query, list_ids)))


def apply_retention(session: Session, *, inbound_days: int) -> int:
    """Delete the raw text of inbound mail older than ``inbound_days`` (0: keep); returns how many.

    The row stays, with what was understood and done, so organisers' records
    and duplicate detection still work; only what the person wrote goes.
    """
    if inbound_days <= 0:
        return 0
    cutoff = utcnow() - timedelta(days=inbound_days)
    with transaction(session):
        return rows_changed(
            session,
            update(InboundMessage)
            .where(
                InboundMessage.received_at < cutoff,
                InboundMessage.size > 0,
                InboundMessage.status.in_(
                    [
                        InboundStatus.DONE,
                        InboundStatus.TRIAGE,
                        InboundStatus.IGNORED,
                        InboundStatus.FAILED,
                    ]
                ),
            )
            .values(raw=b"", size=0, subject="", new_text=""),
        )


@dataclass(frozen=True)
class TriageItem:
    """A message waiting for a person: what the worker read of it, and its whole text."""

    message: InboundMessage
    sender: str | None
    name: str | None
    subject: str
    new_text: str
    full_text: str


def triage_item(session: Session, inbound_id: int) -> TriageItem:
    from mailer.mail.read import body_text, parse_message

    message = load_inbound(session, inbound_id)
    if message is None:
        raise NotFound("There is no such message.")
    if message.sender is None and message.raw:  # handled before what was read was kept on the row
        parsed = parse_message(message.raw, message.mail_from)
        return TriageItem(
            message,
            parsed.from_email,
            parsed.from_name,
            parsed.subject,
            parsed.new_text,
            body_text(message.raw),
        )
    return TriageItem(
        message,
        message.sender,
        message.sender_name,
        message.subject,
        message.new_text,
        body_text(message.raw) if message.raw else "",
    )


def resolve_triage(session: Session, inbound_id: int, *, outcome: str, actor: str) -> None:
    """An organiser has dealt with the message; record what they did."""
    with transaction(session):
        message = session.get(InboundMessage, inbound_id)
        if message is None:
            raise NotFound("There is no such message.")
        message.status = InboundStatus.DONE
        message.outcome = f"{outcome} (by an organiser)"
        audit.record(
            session,
            actor=actor,
            action="triage.resolve",
            target=f"inbound:{inbound_id}",
            outcome=outcome,
        )


def reply_to_inbound(
    session: Session, services: Services, inbound_id: int, *, text: str, actor: str
) -> None:
    """An organiser's own reply, threaded under the member's message and sent from the list
    address."""
    item = triage_item(session, inbound_id)
    if not item.sender:
        raise InvalidInput("This message has no sender to reply to.", field="text")
    if not text.strip():
        raise InvalidInput("Write a reply.", field="text")
    slug = item.message.list_slug
    with transaction(session):
        mailing_list = get_list(session, slug) if slug else None
        person = get_or_create_person(session, item.sender, item.name)
        address = (
            services.list_address(mailing_list.slug)
            if mailing_list
            else services.config.bounce_address
        )
        enqueue(
            session,
            services,
            kind="organiser_reply",
            person=person,
            reply_to=ReplyThread(item.message.message_id or "", subject=item.subject),
            sender=Envelope(
                address,
                mailing_list.name if mailing_list else services.config.service.name,
                {"Reply-To": address},
            ),
            context={"text": text.strip(), "mailing_list": mailing_list},
        )
        message = session.get_one(InboundMessage, inbound_id)
        message.status = InboundStatus.DONE
        message.outcome = "answered by an organiser"
        audit.record(session, actor=actor, action="triage.reply", target=f"inbound:{inbound_id}")
