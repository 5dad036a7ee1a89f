"""Telling organisers that something needs them, by email, as each chose: at once (at most every
few minutes), once a day, or never.

The email says how many of each thing wait and where to look in the panel; never who wrote, what
they wrote or to whom a delivery failed, since it leaves the panel's protection (a mailbox may be
shared or forwarded).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailer.db import transaction
from mailer.domain import audit
from mailer.domain.errors import NotFound
from mailer.domain.models import (
    Consultation,
    InboundMessage,
    InboundStatus,
    MailingList,
    NoticeChoice,
    OfferStatus,
    Organiser,
    OutboxMessage,
    OutboxStatus,
    VolunteerOffer,
    VolunteerRole,
    utcnow,
)
from mailer.domain.organisers import lists_run_by
from mailer.domain.outbox import Envelope, enqueue
from mailer.domain.people import get_or_create_person
from mailer.domain.services import Services

#: How often an organiser who chose "at once" can be emailed: a burst of messages is one email.
AT_ONCE_GAP = timedelta(minutes=10)
DAILY_GAP = timedelta(days=1)


@dataclass(frozen=True)
class Waiting:
    """What came since an organiser was last told: counts only."""

    messages: int
    offers: int
    failed: int

    def __bool__(self) -> bool:
        return bool(self.messages or self.offers or self.failed)


def waiting_since(
    session: Session, since: datetime | None, list_ids: Collection[int] | None = None
) -> Waiting:
    """Messages left for a person, new volunteer offers and failed deliveries since ``since``
    (None: all that are waiting now). ``list_ids``: for a plain organiser, only what is of the
    lists they run, and no deliveries (an admin's page)."""

    def newer(column):  # type: ignore[no-untyped-def]
        return column > since if since is not None else column.is_not(None)

    messages = (
        select(func.count())
        .select_from(InboundMessage)
        .where(
            InboundMessage.status.in_([InboundStatus.TRIAGE, InboundStatus.FAILED]),
            newer(InboundMessage.received_at),
        )
    )
    offers = (
        select(func.count())
        .select_from(VolunteerOffer)
        .where(VolunteerOffer.status == OfferStatus.OFFERED, newer(VolunteerOffer.created_at))
    )
    if list_ids is not None:
        ids = list(list_ids)
        messages = messages.where(
            InboundMessage.list_slug.in_(select(MailingList.slug).where(MailingList.id.in_(ids)))
        )
        offers = offers.where(
            VolunteerOffer.role_id.in_(
                select(VolunteerRole.id)
                .join(Consultation, Consultation.id == VolunteerRole.consultation_id)
                .where(Consultation.list_id.in_(ids))
            )
        )
    failed = (
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.FAILED,
                OutboxMessage.kind != "organiser_notice",
                newer(OutboxMessage.created_at),
            )
        )
        if list_ids is None
        else 0
    )
    return Waiting(session.scalar(messages) or 0, session.scalar(offers) or 0, failed or 0)


def choose_notices(session: Session, organiser_id: int, choice: NoticeChoice) -> Organiser:
    """An organiser's own choice of when to be told; from now, only what is new is news."""
    with transaction(session):
        organiser = session.get(Organiser, organiser_id)
        if organiser is None:
            raise NotFound("There is no such organiser.")
        organiser.notices, organiser.noticed_at = choice, utcnow()
        audit.record(
            session,
            actor=f"organiser:{organiser.id}",
            action="organiser.notices",
            target=f"organiser:{organiser.id}",
            notices=choice.value,
        )
        return organiser


def send_organiser_notices(
    session: Session, services: Services, now: datetime | None = None
) -> list[str]:
    """Worker step: email each organiser whose chosen time has come and for whom something new
    waits, each once (the row is locked and marked in the transaction that queues the email)."""
    now = now or utcnow()
    done: list[str] = []
    with transaction(session):
        organisers = session.scalars(
            select(Organiser)
            .where(Organiser.notices != NoticeChoice.NEVER)
            .order_by(Organiser.id)
            .with_for_update(skip_locked=True)
        ).all()
        for organiser in organisers:
            gap = AT_ONCE_GAP if organiser.notices is NoticeChoice.AT_ONCE else DAILY_GAP
            if organiser.noticed_at is not None and now - organiser.noticed_at < gap:
                continue
            waiting = waiting_since(session, organiser.noticed_at, lists_run_by(session, organiser))
            if not waiting:
                continue
            person = get_or_create_person(session, organiser.email)
            enqueue(
                session,
                services,
                kind="organiser_notice",
                person=person,
                sender=Envelope(
                    services.config.addresses.postmaster_address(), services.config.service.name
                ),
                context={"waiting": waiting, "daily": organiser.notices is NoticeChoice.DAILY},
            )
            organiser.noticed_at = now
            done.append(f"organiser {organiser.id} told of {waiting}")
    return done
