"""Messages the service could not act on safely go to organisers, and the sender is told."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from mailer.db import read_transaction, transaction, unit_of_work_memo, write_at_commit
from mailer.domain import audit
from mailer.domain.errors import InvalidInput, NotFound
from mailer.domain.lists import get_list
from mailer.domain.models import InboundMessage, InboundStatus, utcnow
from mailer.domain.outbox import Envelope, ReplyThread, enqueue, may_auto_reply
from mailer.domain.people import get_or_create_person
from mailer.domain.services import Services


def acknowledge_for_triage(session: Session, services: Services, *, list_slug: str, email: str,
                           display_name: str | None, thread: ReplyThread, reason: str) -> bool:
    """Tell the sender a person will read their message; returns whether a reply was queued."""
    with transaction(session):
        mailing_list = get_list(session, list_slug)
        person = get_or_create_person(session, email, display_name)
        if not may_auto_reply(session, services, person.email):
            return False
        address = services.list_address(mailing_list.slug)
        enqueue(session, services, kind="triage_ack", person=person, reply_to=thread, auto_reply=True,
                sender=Envelope(address, mailing_list.name, {"Reply-To": address}),
                context={"mailing_list": mailing_list, "reason": reason,
                         "list_address": address})
        return True


_INBOUND = InboundMessage.__table__
_FINISH = update(_INBOUND).where(_INBOUND.c.id == bindparam("own_id"))


def finish_inbound(session: Session, inbound_id: int, *, status: InboundStatus, outcome: str,
                   message_id: str | None = None, intent: str = "", list_slug: str | None = None) -> None:
    """Within the caller's unit of work: record what was understood and done (which also marks the
    Message-ID handled); one UPDATE, without reading the raw message back, sent with the unit's
    others just before its commit (copies handled in the unit are known from :func:`note_handled`)."""
    values = {"status": status, "outcome": outcome, "processed_at": utcnow(), "lease_until": None,
              "intent": intent[:20], "list_slug": list_slug, "message_id": message_id[:998] if message_id else None}
    write_at_commit(session, _FINISH, {"own_id": inbound_id, **values})


def forget_inbound_sender(session: Session, inbound_id: int) -> None:
    """Within the caller's transaction: keep the record of a message but not who sent it or what it said
    (an anonymous answer has been taken out of it)."""
    session.execute(update(InboundMessage).where(InboundMessage.id == inbound_id)
                    .values(raw=b"", size=0, mail_from="", peer="").execution_options(synchronize_session=False))


_FINISHED = (InboundStatus.DONE, InboundStatus.TRIAGE, InboundStatus.IGNORED)
_EARLIER_COPY = (select(InboundMessage.id)
                 .where(InboundMessage.message_id == bindparam("message_id"), InboundMessage.id != bindparam("own_id"),
                        InboundMessage.status.in_(_FINISHED))
                 .order_by(InboundMessage.id).limit(1))


_HANDLED_COPIES = (select(InboundMessage.message_id, func.min(InboundMessage.id))
                   .where(InboundMessage.message_id.in_(bindparam("message_ids", expanding=True)),
                          InboundMessage.status.in_(_FINISHED))
                   .group_by(InboundMessage.message_id))
_COPIES = "handled_copies"


def handled_copy(session: Session, inbound_id: int, message_id: str) -> int | None:
    """Within the unit of work handling a message: a copy of it (same Message-ID) already handled, if any.

    The copy counts once its outcome is committed, which happens in the same
    commit as its effects. On PostgreSQL a transaction-scoped advisory lock
    on the Message-ID makes a copy handled at the same moment by another
    worker wait for that commit and then find it; on SQLite the write lock
    already puts writers one after another. :func:`look_up_handled_copies`
    may have answered for the whole batch already (taking those locks).
    """
    if not message_id:
        return None
    message_id = message_id[:998]
    known = _known_copies(session)
    if known is not None and message_id in known[0]:
        earlier = known[1].get(message_id)
        return earlier if earlier != inbound_id else None
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK_MESSAGE_IDS, {"keys": [_lock_key(message_id)]})
    return connection.execute(_EARLIER_COPY, {"message_id": message_id, "own_id": inbound_id}).scalar()


# Transaction-scoped advisory locks on Message-IDs, taken in order so that two workers
# locking overlapping sets never wait on each other in a circle.
_LOCK_MESSAGE_IDS = text("SELECT pg_advisory_xact_lock(key) FROM unnest(CAST(:keys AS bigint[])) AS key ORDER BY key")


def _lock_key(message_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(message_id.encode("utf-8", "replace"), digest_size=8).digest(),
                          "big", signed=True)


def look_up_handled_copies(session: Session, message_ids: list[str]) -> None:
    """At the start of a unit of work: find out in one query which of a batch's Message-IDs were
    handled before, so :func:`handled_copy` needs no query (or lock) per message.

    On SQLite the unit of work is the only writer, so nothing it does not
    know of can change the answer before it commits. On PostgreSQL it first
    takes the advisory locks of all these Message-IDs (in one statement, in
    order): a copy another worker is handling now is committed before the
    query runs, and one it starts later waits for this unit's commit.
    Messages the unit handles itself are added by :func:`note_handled`.
    """
    memo = unit_of_work_memo(session)
    wanted = sorted({m[:998] for m in message_ids if m})
    if memo is None or not wanted:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK_MESSAGE_IDS, {"keys": sorted(_lock_key(m) for m in wanted)})
    memo[_COPIES] = (set(wanted), dict(connection.execute(_HANDLED_COPIES, {"message_ids": wanted}).all()))


def note_handled(session: Session, message_id: str, inbound_id: int, status: InboundStatus) -> None:
    """After a message's outcome is saved (its SAVEPOINT released): later copies in this unit of work
    are copies of it."""
    known = _known_copies(session)
    if known is not None and message_id and status in _FINISHED:
        known[0].add(message_id[:998])
        known[1].setdefault(message_id[:998], inbound_id)


def _known_copies(session: Session) -> tuple[set[str], dict[str, int]] | None:
    memo = unit_of_work_memo(session)
    return memo.get(_COPIES) if memo is not None else None  # type: ignore[return-value]


def fail_inbound(session: Session, inbound_id: int, error: str, *, max_attempts: int = 5) -> None:
    """Record a processing error; retried after a growing delay, then parked as failed for organisers."""
    with transaction(session):
        message = session.get(InboundMessage, inbound_id)
        if message is None:
            return
        message.error = error[-4000:]
        if message.attempts >= max_attempts:
            message.status = InboundStatus.FAILED
            message.lease_until = None
        else:
            message.lease_until = utcnow() + timedelta(seconds=30 * 2 ** message.attempts)


def triage_queue(session: Session, limit: int = 100) -> list[InboundMessage]:
    with read_transaction(session):
        return list(session.scalars(
            select(InboundMessage).where(InboundMessage.status.in_([InboundStatus.TRIAGE, InboundStatus.FAILED]))
            .order_by(InboundMessage.received_at.desc()).limit(limit)))


def load_inbound(session: Session, inbound_id: int) -> InboundMessage | None:
    with read_transaction(session):
        return session.get(InboundMessage, inbound_id)


_STORED = (select(_INBOUND.c.id, _INBOUND.c.raw, _INBOUND.c.mail_from, _INBOUND.c.rcpt_to)
           .where(_INBOUND.c.id.in_(bindparam("ids", expanding=True))))


def stored_messages(session: Session, inbound_ids: list[int]) -> dict[int, tuple[bytes, str, list[str]]]:
    """What the worker needs of stored messages, by id: (raw bytes, envelope sender, envelope recipients).

    One read for a whole batch; ids that no longer exist are missing from the result.
    """
    if not inbound_ids:
        return {}
    with read_transaction(session):
        rows = session.connection().execute(_STORED, {"ids": list(inbound_ids)}).all()
    return {row.id: (row.raw, row.mail_from, row.rcpt_to) for row in rows}


def inbound_log(session: Session, *, limit: int = 100, status: InboundStatus | None = None) -> list[InboundMessage]:
    """Recent inbound messages with what was understood and done, newest first (raw bytes not loaded)."""
    from sqlalchemy.orm import defer

    with read_transaction(session):
        query = select(InboundMessage).options(defer(InboundMessage.raw)).order_by(InboundMessage.id.desc()).limit(limit)
        if status is not None:
            query = query.where(InboundMessage.status == status)
        return list(session.scalars(query))


def apply_retention(session: Session, *, inbound_days: int) -> int:
    """Delete the raw text of inbound mail older than ``inbound_days`` (0: keep); returns how many.

    The row stays, with what was understood and done, so organisers' records
    and duplicate detection still work; only what the person wrote goes.
    """
    if inbound_days <= 0:
        return 0
    cutoff = utcnow() - timedelta(days=inbound_days)
    with transaction(session):
        return session.execute(update(InboundMessage).where(
            InboundMessage.received_at < cutoff, InboundMessage.size > 0,
            InboundMessage.status.in_([InboundStatus.DONE, InboundStatus.TRIAGE, InboundStatus.IGNORED,
                                       InboundStatus.FAILED]))
            .values(raw=b"", size=0)).rowcount


class TriageItem:
    """A message waiting for a person, with what it said (new text and the whole text)."""

    def __init__(self, message: InboundMessage, sender: str | None, name: str | None, subject: str,
                 new_text: str, full_text: str) -> None:
        self.message, self.sender, self.name, self.subject = message, sender, name, subject
        self.new_text, self.full_text = new_text, full_text


def triage_item(session: Session, inbound_id: int) -> TriageItem:
    from mailer.mail.read import body_text, parse_message

    message = load_inbound(session, inbound_id)
    if message is None:
        raise NotFound("There is no such message.")
    parsed = parse_message(message.raw, message.mail_from)
    return TriageItem(message, parsed.from_email, parsed.from_name, parsed.subject, parsed.new_text,
                      body_text(message.raw))


def resolve_triage(session: Session, inbound_id: int, *, outcome: str, actor: str) -> None:
    """An organiser has dealt with the message; record what they did."""
    with transaction(session):
        message = session.get(InboundMessage, inbound_id)
        if message is None:
            raise NotFound("There is no such message.")
        message.status = InboundStatus.DONE
        message.outcome = f"{outcome} (by an organiser)"
        audit.record(session, actor=actor, action="triage.resolve", target=f"inbound:{inbound_id}", outcome=outcome)


def reply_to_inbound(session: Session, services: Services, inbound_id: int, *, text: str, actor: str) -> None:
    """An organiser's own reply, threaded under the member's message and sent from the list address."""
    item = triage_item(session, inbound_id)
    if not item.sender:
        raise InvalidInput("This message has no sender to reply to.", field="text")
    if not text.strip():
        raise InvalidInput("Write a reply.", field="text")
    slug = item.message.list_slug
    with transaction(session):
        mailing_list = get_list(session, slug) if slug else None
        person = get_or_create_person(session, item.sender, item.name)
        address = services.list_address(mailing_list.slug) if mailing_list else services.config.bounce_address
        enqueue(session, services, kind="organiser_reply", person=person,
                reply_to=ReplyThread(item.message.message_id or "", subject=item.subject),
                sender=Envelope(address, mailing_list.name if mailing_list else services.config.service.name,
                                {"Reply-To": address}),
                context={"text": text.strip(), "mailing_list": mailing_list})
        message = session.get(InboundMessage, inbound_id)
        message.status = InboundStatus.DONE
        message.outcome = "answered by an organiser"
        audit.record(session, actor=actor, action="triage.reply", target=f"inbound:{inbound_id}")
