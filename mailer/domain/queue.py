"""The database as the queue: claiming rows with a lease.

A worker claims a batch by setting ``lease_until``; if it dies, the lease
runs out and another worker takes the rows. PostgreSQL skips rows another
worker holds (``FOR UPDATE SKIP LOCKED``); SQLite serialises writers
(``BEGIN IMMEDIATE``), which gives the same guarantee on one machine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, select, update
from sqlalchemy.orm import Session

from mailer.db import read_transaction
from mailer.domain.models import InboundMessage, InboundStatus, OutboxMessage, OutboxStatus, utcnow


def _claim(
    session: Session,
    model: type[InboundMessage] | type[OutboxMessage],
    ready: Callable[[datetime], tuple[ColumnElement[bool], ...]],
    order_by: tuple[Any, ...],
    busy_status: InboundStatus | OutboxStatus,
    *,
    limit: int,
    lease: timedelta,
    worker_id: str,
) -> list[int]:
    now = utcnow()
    with session.begin():
        ids: list[int] = []
        # One query per kind of ready row (new, or abandoned by a dead worker): an OR of the
        # two would stop the database using the (status, ...) index on a large queue.
        for condition in ready(now):
            if len(ids) >= limit:
                break
            ids += session.scalars(
                select(model.id)
                .where(condition)
                .order_by(*order_by)
                .limit(limit - len(ids))
                .with_for_update(skip_locked=True)
            )
        if ids:
            values: dict[str, Any] = {
                "status": busy_status,
                "lease_until": now + lease,
                "attempts": model.attempts + 1,
            }
            if model is OutboxMessage:
                values["leased_by"] = worker_id
            session.execute(
                update(model)
                .where(model.id.in_(ids))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        return ids


def claim_inbound(session: Session, *, limit: int, lease: timedelta, worker_id: str) -> list[int]:
    """Ids of new (or abandoned) inbound messages, now leased to this worker."""

    def ready(now: datetime) -> tuple[ColumnElement[bool], ...]:
        return (
            InboundMessage.status == InboundStatus.NEW,
            and_(
                InboundMessage.status == InboundStatus.PROCESSING, InboundMessage.lease_until < now
            ),
        )

    return _claim(
        session,
        InboundMessage,
        ready,
        (InboundMessage.id,),
        InboundStatus.PROCESSING,
        limit=limit,
        lease=lease,
        worker_id=worker_id,
    )


def earlier_mail_unfinished(session: Session, inbound_id: int, *, besides: list[int]) -> bool:
    """Within the caller's transaction: whether mail that arrived before this message is still
    waiting to be handled, or being handled by another worker (``besides``: the caller's own
    messages).

    Places go in the order people asked, so a message asking for one waits
    while earlier mail is unfinished (see :func:`defer_inbound`). A message
    whose handling failed and waits for its retry does not hold the others up.
    """
    return (
        session.scalar(
            select(InboundMessage.id)
            .where(
                InboundMessage.id < inbound_id,
                InboundMessage.id.not_in(besides),
                InboundMessage.status.in_([InboundStatus.NEW, InboundStatus.PROCESSING]),
                InboundMessage.error == "",
            )
            .limit(1)
        )
        is not None
    )


def defer_inbound(session: Session, inbound_id: int, *, seconds: float) -> None:
    """Within the caller's transaction: hand a claimed message back, to be claimed again in
    ``seconds`` (by whichever worker); the attempt does not count as a failed one."""
    session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == inbound_id)
        .values(
            lease_until=utcnow() + timedelta(seconds=seconds), attempts=InboundMessage.attempts - 1
        )
        .execution_options(synchronize_session=False)
    )


def claim_outbox(
    session: Session,
    *,
    limit: int,
    lease: timedelta,
    worker_id: str,
    per_minute: int = 0,
    per_day: int = 0,
) -> list[int]:
    """Ids of due (or abandoned) outbox messages, now leased to this worker.

    ``per_minute`` and ``per_day`` (0: no limit) cap what all workers together
    send: what was sent in the window and what is in flight counts against it.
    """

    def ready(now: datetime) -> tuple[ColumnElement[bool], ...]:
        return (
            and_(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.next_attempt_at <= now),
            and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.lease_until < now),
        )

    if per_minute or per_day:
        limit = min(limit, _allowance(session, per_minute, per_day))
        if limit <= 0:
            return []
    return _claim(
        session,
        OutboxMessage,
        ready,
        (OutboxMessage.next_attempt_at, OutboxMessage.id),
        OutboxStatus.SENDING,
        limit=limit,
        lease=lease,
        worker_id=worker_id,
    )


def _allowance(session: Session, per_minute: int, per_day: int) -> int:
    now = utcnow()
    with read_transaction(session):
        in_flight = (
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.lease_until >= now
                )
            )
            or 0
        )
        room = []
        for cap, window in ((per_minute, timedelta(minutes=1)), (per_day, timedelta(days=1))):
            if cap:
                sent = (
                    session.scalar(
                        select(func.count())
                        .select_from(OutboxMessage)
                        .where(OutboxMessage.sent_at >= now - window)
                    )
                    or 0
                )
                room.append(cap - sent - in_flight)
    return min(room)


@dataclass(frozen=True)
class Received:
    """One message as the SMTP edge got it, before it is stored."""

    mail_from: str
    rcpt_to: list[str]
    raw: bytes
    peer: str = ""


def store_inbound_many(session: Session, messages: list[Received]) -> list[int]:
    """Commit received messages durably in one transaction (ids in the same order).

    Only after this returns may SMTP say 250 to any of them. Several SMTP
    sessions share one commit, which is what lets acceptance keep up.
    """
    now = utcnow()
    with (
        session.begin()
    ):  # one INSERT ... RETURNING for the batch: no objects are wanted back, only ids
        return list(
            session.connection().scalars(
                _STORE_INBOUND,
                [
                    {
                        "mail_from": m.mail_from,
                        "rcpt_to": list(m.rcpt_to),
                        "raw": m.raw,
                        "size": len(m.raw),
                        "peer": m.peer,
                        "received_at": now,
                        "status": InboundStatus.NEW,
                        "attempts": 0,
                        "outcome": "",
                        "error": "",
                    }
                    for m in messages
                ],
            )
        )


_STORE_INBOUND = insert(InboundMessage).returning(InboundMessage.id, sort_by_parameter_order=True)


def store_inbound(
    session: Session, *, mail_from: str, rcpt_to: list[str], raw: bytes, peer: str = ""
) -> int:
    """Commit one received message durably; only then may SMTP say 250."""
    return store_inbound_many(session, [Received(mail_from, rcpt_to, raw, peer)])[0]
