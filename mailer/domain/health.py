"""What organisers and operators need to see of the machinery: the outbox, failures, bounces,
whether the workers are alive, and the figures a monitoring system reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailer.db import read_transaction, transaction
from mailer.domain.models import (
    BounceEvent,
    InboundMessage,
    InboundStatus,
    OutboxMessage,
    OutboxStatus,
    Person,
    WorkerHeartbeat,
    utcnow,
)


@dataclass(frozen=True)
class Failure:
    at: datetime
    recipient: str
    kind: str
    error: str
    attempts: int
    status: OutboxStatus
    next_attempt_at: datetime


@dataclass(frozen=True)
class Bounce:
    at: datetime
    email: str | None
    kind: str
    status: str
    diagnostic: str


@dataclass(frozen=True)
class DeliveryHealth:
    counts: dict[str, int]
    sent_last_hour: int
    sent_last_day: int
    oldest_queued: datetime | None
    failures: list[Failure]
    bounces: list[Bounce]


def delivery_health(session: Session, limit: int = 50) -> DeliveryHealth:
    now = utcnow()
    with read_transaction(session):
        counts = {
            status.value: n
            for status, n in session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        }
        sent_hour = (
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.sent_at >= now - timedelta(hours=1))
            )
            or 0
        )
        sent_day = (
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.sent_at >= now - timedelta(days=1))
            )
            or 0
        )
        oldest = session.scalar(
            select(func.min(OutboxMessage.created_at)).where(
                OutboxMessage.status.in_([OutboxStatus.QUEUED, OutboxStatus.SENDING])
            )
        )
        failures = [
            Failure(
                r.created_at,
                r.recipient,
                r.kind,
                r.last_error,
                r.attempts,
                r.status,
                r.next_attempt_at,
            )
            for r in session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.last_error != "")
                .order_by(OutboxMessage.id.desc())
                .limit(limit)
            )
        ]
        bounces = [
            Bounce(at, email, kind.value, status, diagnostic)
            for at, email, kind, status, diagnostic in session.execute(
                select(
                    BounceEvent.at,
                    Person.email,
                    BounceEvent.kind,
                    BounceEvent.status,
                    BounceEvent.diagnostic,
                )
                .outerjoin(Person, Person.id == BounceEvent.person_id)
                .order_by(BounceEvent.id.desc())
                .limit(limit)
            ).all()
        ]
    return DeliveryHealth(
        {s.value: counts.get(s.value, 0) for s in OutboxStatus},
        sent_hour,
        sent_day,
        oldest,
        failures,
        bounces,
    )


def record_heartbeat(session: Session, worker_id: str, now: datetime | None = None) -> None:
    """A worker says it is at work (its row, made or moved to ``now``)."""
    now = now or utcnow()
    with transaction(session):
        beat = session.get(WorkerHeartbeat, worker_id)
        if beat is None:
            session.add(WorkerHeartbeat(worker_id=worker_id, seen_at=now))
        else:
            beat.seen_at = now


def forget_worker(session: Session, worker_id: str) -> None:
    """A worker that stops cleanly takes its row away: it is not a worker that went silent."""
    with transaction(session):
        beat = session.get(WorkerHeartbeat, worker_id)
        if beat is not None:
            session.delete(beat)


@dataclass(frozen=True)
class ServiceHealth:
    """Whether the service does its work: its database answers, and a worker was seen lately."""

    ok: bool
    #: Seconds since any worker was last seen; None when none ever was (or all stopped).
    worker_seen_seconds_ago: float | None
    reason: str


def service_health(
    session: Session, *, worker_silence: timedelta, now: datetime | None = None
) -> ServiceHealth:
    """Healthy when the database answers and some worker was seen within ``worker_silence``.
    (A database that does not answer raises: the caller says so.)"""
    now = now or utcnow()
    with read_transaction(session):
        last = session.scalar(select(func.max(WorkerHeartbeat.seen_at)))
    if last is None:
        return ServiceHealth(False, None, "no worker is running")
    ago = (now - last).total_seconds()
    if ago > worker_silence.total_seconds():
        return ServiceHealth(False, ago, f"no worker seen for {int(ago)} seconds")
    return ServiceHealth(True, ago, "ok")


@dataclass(frozen=True)
class Figures:
    """What a monitoring system reads (``/metrics``): counts and ages only, nothing personal."""

    inbound: dict[str, int]
    outbox: dict[str, int]
    oldest_queued_seconds: float
    oldest_unread_seconds: float
    sent_last_hour: int
    bounces_by_kind: dict[str, int]
    workers: dict[str, float]


def figures(session: Session, now: datetime | None = None) -> Figures:
    now = now or utcnow()
    with read_transaction(session):
        inbound = dict(
            session.execute(
                select(InboundMessage.status, func.count()).group_by(InboundMessage.status)
            ).all()
        )
        outbox = dict(
            session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
        oldest_queued = session.scalar(
            select(func.min(OutboxMessage.created_at)).where(
                OutboxMessage.status.in_([OutboxStatus.QUEUED, OutboxStatus.SENDING])
            )
        )
        oldest_unread = session.scalar(
            select(func.min(InboundMessage.received_at)).where(
                InboundMessage.status.in_([InboundStatus.NEW, InboundStatus.PROCESSING])
            )
        )
        sent_hour = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.sent_at >= now - timedelta(hours=1))
        )
        bounces = dict(
            session.execute(select(BounceEvent.kind, func.count()).group_by(BounceEvent.kind)).all()
        )
        workers = {
            worker_id: (now - seen).total_seconds()
            for worker_id, seen in session.execute(
                select(WorkerHeartbeat.worker_id, WorkerHeartbeat.seen_at)
            ).all()
        }
    return Figures(
        {status.value: inbound.get(status, 0) for status in InboundStatus},
        {status.value: outbox.get(status, 0) for status in OutboxStatus},
        (now - oldest_queued).total_seconds() if oldest_queued else 0.0,
        (now - oldest_unread).total_seconds() if oldest_unread else 0.0,
        sent_hour or 0,
        {kind.value: n for kind, n in bounces.items()},
        workers,
    )
