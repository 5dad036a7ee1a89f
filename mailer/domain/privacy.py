"""Data protection: everything held about a person, and erasing it on request.

Erasure keeps the organisers' numbers right (a meeting still had 12 people
in the room) without keeping the person: their RSVPs move to an anonymous
placeholder that no link or address leads to, everything they wrote or were
sent is deleted (answers to consultations and offers to volunteer too;
answers given anonymously were never linked to them), and every link they
were ever sent stops working.
"""

from __future__ import annotations

import mailbox
import uuid
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import Session

from mailer.db import forget_deleted_pages, read_transaction, rows_changed, transaction
from mailer.domain import audit
from mailer.domain.errors import NotFound
from mailer.domain.models import (
    AuditEntry,
    BounceEvent,
    Consultation,
    ConsultationAnswer,
    InboundMessage,
    MailingList,
    Meeting,
    OutboxMessage,
    OutboxStatus,
    Person,
    Rsvp,
    Subscription,
    VolunteerOffer,
    VolunteerRole,
)
from mailer.domain.people import find_person
from mailer.domain.rsvp import withdraw_upcoming_answers
from mailer.domain.services import Services


def _person(session: Session, email: str) -> Person:
    person = find_person(session, email)
    if person is None:
        raise NotFound(f"Nothing is held about {email}.")
    return person


def _inbound_from(address: str) -> ColumnElement[bool]:
    """Inbound mail from exactly this (normalised) address: by its envelope sender or by the From:
    the worker read. Compared whole, never as a pattern: ``j_smith@`` is not ``jxsmith@``."""
    return or_(
        func.lower(InboundMessage.mail_from) == address,
        func.lower(InboundMessage.sender) == address,
    )


def export_person(session: Session, email: str) -> dict[str, Any]:
    """Everything held about one address, as plain data (for a subject access request)."""
    with read_transaction(session):
        person = _person(session, email)
        subs = session.execute(
            select(MailingList.name, MailingList.slug, Subscription.status, Subscription.created_at)
            .join(Subscription, Subscription.list_id == MailingList.id)
            .where(Subscription.person_id == person.id)
        ).all()
        rsvps = session.execute(
            select(
                Meeting.title,
                Meeting.starts_at,
                Rsvp.response,
                Rsvp.mode,
                Rsvp.waitlisted_at,
                Rsvp.source,
                Rsvp.updated_at,
                Rsvp.access_needs,
            )
            .join(Rsvp, Rsvp.meeting_id == Meeting.id)
            .where(Rsvp.person_id == person.id)
        ).all()
        received = session.scalars(
            select(OutboxMessage)
            .where(
                or_(OutboxMessage.person_id == person.id, OutboxMessage.recipient == person.email)
            )
            .order_by(OutboxMessage.id)
        ).all()
        sent = session.scalars(
            select(InboundMessage).where(_inbound_from(person.email)).order_by(InboundMessage.id)
        ).all()
        actor = f"person:{person.id}"
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.actor == actor).order_by(AuditEntry.id)
        ).all()
        bounces = session.scalars(
            select(BounceEvent).where(BounceEvent.person_id == person.id)
        ).all()
        answers = session.execute(
            select(Consultation.title, ConsultationAnswer.text, ConsultationAnswer.received_at)
            .join(ConsultationAnswer, ConsultationAnswer.consultation_id == Consultation.id)
            .where(ConsultationAnswer.person_id == person.id)
        ).all()
        offers = session.execute(
            select(
                Consultation.title,
                VolunteerRole.name,
                VolunteerOffer.status,
                VolunteerOffer.created_at,
            )
            .join(VolunteerRole, VolunteerRole.consultation_id == Consultation.id)
            .join(VolunteerOffer, VolunteerOffer.role_id == VolunteerRole.id)
            .where(VolunteerOffer.person_id == person.id)
        ).all()
        return {
            "person": {
                "email": person.email,
                "name": person.display_name,
                "created_at": person.created_at.isoformat(),
            },
            "subscriptions": [
                {"list": name, "address": slug, "status": status.value, "since": since.isoformat()}
                for name, slug, status, since in subs
            ],
            "rsvps": [
                {
                    "meeting": title,
                    "starts_at": starts.isoformat(),
                    "response": response.value,
                    "mode": mode.value if mode else None,
                    "waitlisted": waitlisted is not None,
                    "via": source,
                    "updated_at": updated.isoformat(),
                    "access_needs": needs,
                }
                for title, starts, response, mode, waitlisted, source, updated, needs in rsvps
            ],
            "messages_received": [
                {
                    "kind": m.kind,
                    "subject": m.subject or "(list mailing)",
                    "status": m.status.value,
                    "queued_at": m.created_at.isoformat(),
                    "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                    "text": m.body_text,
                }
                for m in received
            ],
            "messages_sent": [
                {
                    "received_at": m.received_at.isoformat(),
                    "understood_as": m.intent,
                    "outcome": m.outcome,
                    "raw": m.raw.decode("utf-8", "replace"),
                }
                for m in sent
            ],
            "consultation_answers": [
                {"consultation": title, "text": text, "received_at": at.isoformat()}
                for title, text, at in answers
            ],
            "volunteer_offers": [
                {"call": title, "role": role, "status": status.value, "at": at.isoformat()}
                for title, role, status, at in offers
            ],
            "bounces": [
                {"at": b.at.isoformat(), "kind": b.kind.value, "status": b.status} for b in bounces
            ],
            "audit": [
                {"at": e.at.isoformat(), "action": e.action, "target": e.target} for e in entries
            ],
        }


def erase_person(session: Session, email: str, *, actor: str, services: Services) -> dict[str, int]:
    """Remove a person's data; keep anonymised counts of meetings that took place. Returns what
    was done, for the record.

    Their answers to meetings still to come are withdrawn, as a decline would be: a place they
    held goes to the next person waiting, who is told. Their memberships are deleted (a list
    shows no placeholder for them).
    """
    with transaction(session):
        person = _person(session, email)
        address = person.email
        placeholder = Person(
            email=f"erased-{uuid.uuid4().hex}@erased.invalid",
            display_name=None,
            link_version=person.link_version + 1,
        )
        session.add(placeholder)
        session.flush()
        withdrawn = withdraw_upcoming_answers(session, services, person.id)
        moved_rsvps = rows_changed(
            session,
            update(Rsvp)
            .where(Rsvp.person_id == person.id)
            .values(person_id=placeholder.id, access_needs=None),
        )
        session.execute(delete(Subscription).where(Subscription.person_id == person.id))
        session.execute(
            update(BounceEvent)
            .where(BounceEvent.person_id == person.id)
            .values(person_id=placeholder.id, diagnostic="")
        )
        unsent = rows_changed(
            session,
            delete(OutboxMessage).where(
                or_(OutboxMessage.person_id == person.id, OutboxMessage.recipient == address),
                OutboxMessage.status.in_([OutboxStatus.QUEUED, OutboxStatus.FAILED]),
            ),
        )
        scrubbed = rows_changed(
            session,
            update(OutboxMessage)
            .where(or_(OutboxMessage.person_id == person.id, OutboxMessage.recipient == address))
            .values(
                person_id=placeholder.id,
                recipient=placeholder.email,
                body_text=None,
                body_html=None,
                body_calendar=None,
                headers=None,
                last_error="",
            ),
        )
        inbound = rows_changed(session, delete(InboundMessage).where(_inbound_from(address)))
        answers = rows_changed(
            session, delete(ConsultationAnswer).where(ConsultationAnswer.person_id == person.id)
        )
        offers = rows_changed(
            session, delete(VolunteerOffer).where(VolunteerOffer.person_id == person.id)
        )
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.actor == f"person:{person.id}")
            .values(actor=f"person:{placeholder.id}")
        )
        session.delete(person)
        result = {
            "rsvps_kept_anonymously": moved_rsvps,
            "upcoming_answers_withdrawn": withdrawn,
            "queued_messages_deleted": unsent,
            "sent_messages_scrubbed": scrubbed,
            "inbound_messages_deleted": inbound,
            "answers_deleted": answers,
            "volunteer_offers_deleted": offers,
        }
        audit.record(
            session, actor=actor, action="person.erase", target=f"person:{placeholder.id}", **result
        )
    forget_deleted_pages(session)
    if services.config.delivery.backend == "maildir":
        result["dev_mailbox_messages_deleted"] = forget_dev_mailbox(
            services.config.maildir_path, address
        )
    return result


def forget_dev_mailbox(path: Path, address: str) -> int:
    """Delete from the dev mailbox (the Maildir a deployment without a mail server delivers to)
    every message to or from ``address``, matched exactly, as erasure must leave no copy of
    their mail. Returns how many."""
    if not path.exists():
        return 0
    box = mailbox.Maildir(path, create=False)
    wanted = address.strip().lower()
    parser = BytesHeaderParser()
    removed = 0
    for key in list(box.iterkeys()):
        try:
            with box.get_file(key) as handle:
                headers = parser.parse(handle)  # type: ignore[arg-type]
        except (KeyError, OSError):  # taken away meanwhile
            continue
        fields = [
            str(value)
            for name in ("Delivered-To", "To", "Cc", "From", "Reply-To")
            for value in headers.get_all(name, [])
        ]
        if any(mail.strip().lower() == wanted for _, mail in getaddresses(fields)):
            box.discard(key)
            removed += 1
    return removed
