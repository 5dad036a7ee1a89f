"""The worker's outbound step: claim a batch, send it over several connections, record results.

A row is marked sent only after the smarthost accepted it. A crash between
those two moments means the row's lease runs out and it is sent again with
the same Message-ID, so at most one batch of messages in flight can be
doubled and none can be lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import Config
from mailer.db import read_transaction
from mailer.domain.bounces import record_bounce
from mailer.domain.models import (
    BounceKind,
    Mailing,
    MeetingAttachment,
    OutboxMessage,
    OutboxStatus,
    Person,
    utcnow,
)
from mailer.domain.queue import claim_outbox
from mailer.outbound.compose import Composer
from mailer.outbound.senders import PermanentSendError, RetryableSendError, SenderPool, SendError

log = logging.getLogger(__name__)

#: Results are committed at least this often, which bounds the duplicates a crash can cause.
RECORD_EVERY = 20


@dataclass
class _Work:
    row: OutboxMessage
    mailing: Mailing | None
    link_version: int
    files: list[MeetingAttachment] | None = None
    error: SendError | Uncomposable | None = None
    sent: bool = False


class Uncomposable(Exception):
    """We could not write the message (a header that cannot be encoded, say): a fault of ours,
    never reported by the receiving side, so it fails the message without counting as a bounce
    against the person it was for."""


def retry_delay(attempts: int, base_seconds: float) -> timedelta:
    """Exponential backoff with jitter (between half and all of the ceiling), capped at six
    hours."""
    ceiling = min(base_seconds * 2 ** max(attempts - 1, 0), 6 * 3600)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def _claim(session_factory: sessionmaker[Session], config: Config, worker_id: str) -> list[int]:
    with session_factory() as session:
        return claim_outbox(
            session,
            limit=config.worker.batch_size,
            lease=timedelta(seconds=config.worker.lease_seconds),
            worker_id=worker_id,
            per_minute=config.delivery.max_per_minute,
            per_day=config.delivery.max_per_day,
        )


def _load(session_factory: sessionmaker[Session], ids: list[int]) -> list[_Work]:
    with (
        session_factory() as session,
        read_transaction(session),
    ):  # reads only: no write lock on SQLite
        rows = session.execute(
            select(OutboxMessage, Person.link_version)
            .outerjoin(Person, Person.id == OutboxMessage.person_id)
            .where(OutboxMessage.id.in_(ids))
            .order_by(OutboxMessage.id)
        ).all()
        mailing_ids = {row.mailing_id for row, _ in rows if row.mailing_id is not None}
        mailings = (
            {m.id: m for m in session.scalars(select(Mailing).where(Mailing.id.in_(mailing_ids)))}
            if mailing_ids
            else {}
        )
        file_ids = {i for row, _ in rows for i in (row.attachment_ids or [])}
        files = (
            {
                f.id: f
                for f in session.scalars(
                    select(MeetingAttachment).where(MeetingAttachment.id.in_(file_ids))
                )
            }
            if file_ids
            else {}
        )
        return [
            _Work(
                row,
                mailings.get(row.mailing_id) if row.mailing_id else None,
                version or 1,
                [files[i] for i in (row.attachment_ids or []) if i in files] or None,
            )
            for row, version in rows
        ]


def _record(session_factory: sessionmaker[Session], config: Config, work: list[_Work]) -> None:
    """Write every result of a batch in one transaction."""
    now = utcnow()
    give_up = timedelta(hours=config.worker.give_up_after_hours)
    with session_factory() as session, session.begin():
        sent_ids = [w.row.id for w in work if w.sent]
        if sent_ids:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(sent_ids))
                .values(status=OutboxStatus.SENT, sent_at=now, lease_until=None, last_error="")
            )
        for w in work:
            if w.sent:
                continue
            row = session.get(OutboxMessage, w.row.id)
            if row is None:
                continue
            row.lease_until = None
            error = w.error or RetryableSendError("not attempted")
            if isinstance(error, Uncomposable):
                row.status, row.last_error = OutboxStatus.FAILED, str(error)
            elif isinstance(error, PermanentSendError):
                row.status, row.last_error = OutboxStatus.FAILED, str(error)
                record_bounce(
                    session,
                    outbox_id=row.id,
                    person_id=row.person_id,
                    kind=BounceKind.HARD,
                    status=str(error.code or ""),
                    diagnostic=str(error),
                    threshold=config.delivery.bounce_threshold,
                )
            elif now - row.created_at > give_up:
                row.status = OutboxStatus.FAILED
                hours = config.worker.give_up_after_hours
                row.last_error = f"gave up after {row.attempts} attempts over {hours:g} h: {error}"
            else:
                row.status, row.last_error = OutboxStatus.QUEUED, str(error)
                row.next_attempt_at = now + retry_delay(
                    row.attempts, config.worker.retry_base_seconds
                )


async def deliver_batch(
    session_factory: sessionmaker[Session],
    pool: SenderPool,
    composer: Composer,
    config: Config,
    worker_id: str,
) -> int:
    """Claim and send one batch; returns how many rows were claimed."""
    ids = await asyncio.to_thread(_claim, session_factory, config, worker_id)
    if not ids:
        return 0
    work = await asyncio.to_thread(_load, session_factory, ids)
    pending = deque(work)
    finished: list[_Work] = []
    flushing = asyncio.Lock()

    async def flush(final: bool = False) -> None:
        # Results are written every few messages, not once per batch, so a crash can
        # double only the messages sent since the last write.
        async with flushing:
            if not finished or (not final and len(finished) < RECORD_EVERY):
                return
            done = finished[:]
            del finished[:]
            await asyncio.to_thread(_record, session_factory, config, done)

    async def lane(sender) -> None:  # type: ignore[no-untyped-def]
        try:
            await _run_lane(sender)
        finally:
            await flush()

    async def _run_lane(sender) -> None:  # type: ignore[no-untyped-def]
        while pending:
            item = pending.popleft()
            try:
                if not await _send_one(sender, item):
                    return
            finally:
                finished.append(item)  # only once its outcome is known
            if len(finished) >= RECORD_EVERY and not flushing.locked():
                await flush()

    async def _send_one(sender, item: _Work) -> bool:  # type: ignore[no-untyped-def]
        """Send one message; False when the connection itself failed and the lane should stop."""
        try:
            raw = composer.compose(item.row, item.mailing, item.link_version, item.files)
        except (ValueError, TypeError) as exc:  # e.g. a header with CR/LF: retrying cannot fix it
            log.error("outbox %s cannot be composed: %s", item.row.id, exc)
            item.error = Uncomposable(f"message cannot be composed: {exc}")
            return True
        try:
            await sender.send(raw, envelope_from=item.row.sender, recipient=item.row.recipient)
            item.sent = True
        except SendError as exc:
            log.warning("delivery of outbox %s failed: %s", item.row.id, exc)
            item.error = exc
            # A failed connection (no SMTP code): leave the rest of the batch to the other lanes
            # (or the next pass) rather than hammering a smarthost that is down.
            return not (isinstance(exc, RetryableSendError) and exc.code is None)
        except Exception as exc:  # one bad message must not stop the others
            log.exception("could not send outbox %s", item.row.id)
            item.error = RetryableSendError(f"internal error: {exc!r}")
        return True

    await asyncio.gather(*(lane(sender) for sender in pool.lanes))
    # Rows no lane reached (every connection failed) are recorded as not attempted.
    finished.extend(pending)
    pending.clear()
    await flush(final=True)
    return len(ids)
