"""Bounces: a delivery failure is recorded, and repeated ones suspend delivery.

Fed by the worker when the smarthost answers 5xx, and by delivery status
notifications (RFC 3464) that come back to the VERP address; of those, only
a report that delivery failed counts, never one that it was delayed or done.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailer.db import transaction
from mailer.domain import audit
from mailer.domain.models import (
    BounceEvent,
    BounceKind,
    Mailing,
    Meeting,
    OutboxMessage,
    Subscription,
    SubscriptionStatus,
)

#: Bounce score points: a hard bounce counts fully, a soft one (mailbox full, delayed) half.
HARD_POINTS, SOFT_POINTS = 2, 1


def record_bounce(
    session: Session,
    *,
    outbox_id: int | None,
    person_id: int | None,
    kind: BounceKind,
    status: str = "",
    diagnostic: str = "",
    threshold: int = 3,
) -> BounceEvent:
    """Within the caller's transaction: keep the bounce and score it; at ``threshold`` hard bounces'
    worth of points (soft ones count half) delivery to the member is suspended."""
    event = BounceEvent(
        outbox_id=outbox_id,
        person_id=person_id,
        kind=kind,
        status=status[:20],
        diagnostic=diagnostic[:2000],
    )
    session.add(event)
    if person_id is None or outbox_id is None:
        return event
    for sub in _subscriptions_bounced(session, outbox_id, person_id):
        sub.bounce_score += HARD_POINTS if kind is BounceKind.HARD else SOFT_POINTS
        if sub.bounce_score >= threshold * HARD_POINTS and sub.status is SubscriptionStatus.ACTIVE:
            sub.status = SubscriptionStatus.BOUNCING
            audit.record(
                session,
                actor="system",
                action="member.bouncing",
                target=f"list:{sub.list_id}",
                person=person_id,
                bounces=sub.bounce_score,
            )
    return event


def _subscriptions_bounced(session: Session, outbox_id: int, person_id: int) -> list[Subscription]:
    """The memberships a bounce counts against: the list of the mailing or meeting the message
    was part of (news, an invitation, an agenda, an update), or every list of the person for a
    message of no one list (a reply, a confirmation): the address failed, whatever was sent."""
    list_id = session.scalar(
        select(func.coalesce(Mailing.list_id, Meeting.list_id))
        .select_from(OutboxMessage)
        .outerjoin(Mailing, Mailing.id == OutboxMessage.mailing_id)
        .outerjoin(Meeting, Meeting.id == OutboxMessage.meeting_id)
        .where(OutboxMessage.id == outbox_id)
    )
    query = select(Subscription).where(Subscription.person_id == person_id)
    if list_id is not None:
        query = query.where(Subscription.list_id == list_id)
    return list(session.scalars(query.with_for_update()))


def record_bounce_for_message(
    session: Session,
    message_id: str,
    *,
    kind: BounceKind,
    status: str,
    diagnostic: str,
    threshold: int,
    failed: bool = True,
) -> int | None:
    """A DSN came back for one of our messages (found by its VERP token); returns the outbox id,
    if known.

    Only a failure (RFC 3464 ``Action: failed``) is a bounce: it is kept and
    counts towards suspending the member. A report that the message was
    delayed, delivered, relayed or expanded (``failed`` False) records
    nothing here and counts for nothing; the caller keeps it in the inbound
    message's outcome.
    """
    with transaction(session):
        row = session.scalar(select(OutboxMessage).where(OutboxMessage.message_id == message_id))
        if row is None:
            return None
        if failed:
            record_bounce(
                session,
                outbox_id=row.id,
                person_id=row.person_id,
                kind=kind,
                status=status,
                diagnostic=diagnostic,
                threshold=threshold,
            )
        return row.id
