"""The worker's outbound step: deliver claimed outbox rows, then record the result.

A row is marked sent only after the smarthost accepted it. A crash between
those two moments means the row's lease runs out and it is sent again with
the same Message-ID, so at most the messages in flight can be doubled and
none can be lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from mailer.config import WorkerConfig
from mailer.domain.models import OutboxMessage, OutboxStatus, utcnow
from mailer.domain.queue import claim_outbox
from mailer.outbound.compose import compose
from mailer.outbound.senders import PermanentSendError, RetryableSendError, Sender

log = logging.getLogger(__name__)


def _load(session_factory: sessionmaker[Session], ids: list[int]) -> list[OutboxMessage]:
    with session_factory() as session, session.begin():
        return [row for i in ids if (row := session.get(OutboxMessage, i)) is not None]


def _claim(session_factory: sessionmaker[Session], settings: WorkerConfig, worker_id: str) -> list[int]:
    with session_factory() as session:
        return claim_outbox(session, limit=settings.batch_size, lease=timedelta(seconds=settings.lease_seconds),
                            worker_id=worker_id)


def retry_delay(attempts: int, base_seconds: float) -> timedelta:
    """Exponential backoff with full jitter, capped at six hours."""
    ceiling = min(base_seconds * 2 ** max(attempts - 1, 0), 6 * 3600)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def _record(session_factory: sessionmaker[Session], row_id: int, settings: WorkerConfig,
            error: Exception | None) -> None:
    now = utcnow()
    with session_factory() as session, session.begin():
        row = session.get(OutboxMessage, row_id)
        if row is None:
            return
        row.lease_until = None
        if error is None:
            row.status, row.sent_at, row.last_error = OutboxStatus.SENT, now, ""
        elif isinstance(error, PermanentSendError):
            row.status, row.last_error = OutboxStatus.FAILED, str(error)
        elif now - row.created_at > timedelta(hours=settings.give_up_after_hours):
            row.status, row.last_error = OutboxStatus.FAILED, f"gave up after {row.attempts} attempts: {error}"
        else:
            row.status, row.last_error = OutboxStatus.QUEUED, str(error)
            row.next_attempt_at = now + retry_delay(row.attempts, settings.retry_base_seconds)


async def deliver_batch(session_factory: sessionmaker[Session], sender: Sender, settings: WorkerConfig,
                        worker_id: str) -> int:
    """Claim and send one batch; returns how many rows were claimed."""
    ids = await asyncio.to_thread(_claim, session_factory, settings, worker_id)
    if not ids:
        return 0
    rows = await asyncio.to_thread(_load, session_factory, ids)
    for row in rows:
        error: Exception | None = None
        try:
            message = compose(row)
        except (ValueError, TypeError) as exc:  # e.g. a header with CR/LF: retrying cannot fix it
            log.error("outbox %s cannot be composed: %s", row.id, exc)
            message, error = None, PermanentSendError(f"message cannot be composed: {exc}")
        try:
            if message is not None:
                await sender.send(message, envelope_from=row.sender, recipient=row.recipient)
        except (RetryableSendError, PermanentSendError) as exc:
            log.warning("delivery of outbox %s failed: %s", row.id, exc)
            error = exc
        except Exception as exc:  # one bad message must not stop the others
            log.exception("could not send outbox %s", row.id)
            error = RetryableSendError(f"internal error: {exc!r}")
        await asyncio.to_thread(_record, session_factory, row.id, settings, error)
    return len(ids)
