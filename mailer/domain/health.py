"""What organisers need to see of the machinery: the outbox, failures, bounces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailer.db import read_transaction
from mailer.domain.models import BounceEvent, OutboxMessage, OutboxStatus, Person, utcnow


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
