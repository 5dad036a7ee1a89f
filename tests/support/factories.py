"""Keyword-only builders for test data, going through the same domain functions as the product."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from mailer.db import read_transaction
from mailer.domain.links import AnswerClaim
from mailer.domain.lists import create_list
from mailer.domain.meetings import create_meeting
from mailer.domain.models import (
    AttendanceMode,
    MailingList,
    Meeting,
    Organiser,
    OrganiserRole,
    Person,
    RsvpResponse,
)
from mailer.domain.organisers import create_organiser, set_organiser_lists
from mailer.domain.rsvp import RsvpOutcome, record_rsvp
from mailer.domain.services import Services
from tests.support.databases import TestDatabase

ORGANISER_PASSWORD = "correct horse battery staple"


def make_list(
    sessions: sessionmaker[Session], *, slug: str = "forum", name: str = "Leaders of Networks Forum"
) -> MailingList:
    with sessions() as session:
        return create_list(session, slug=slug, name=name, actor="test")


def make_meeting(
    sessions: sessionmaker[Session],
    *,
    list_slug: str = "forum",
    title: str = "Quarterly Forum",
    starts_in: timedelta = timedelta(days=14),
    hours: float = 2,
    format: str = "hybrid",
    capacity: int | None = 40,
    deadline_before: timedelta | None = timedelta(days=2),
    status: str = "published",
    location: str = "",
    description: str = "",
) -> Meeting:
    """A meeting ``starts_in`` from now. One in the past (which cannot be created) is made as
    it was, a week before it started, and then its time passes."""
    starts = (datetime.now(UTC) + starts_in).replace(microsecond=0)
    shift = timedelta(days=7) - starts_in if starts_in <= timedelta(0) else timedelta(0)
    with sessions() as session:
        meeting = create_meeting(
            session,
            list_slug=list_slug,
            title=title,
            starts_at=starts + shift,
            ends_at=starts + shift + timedelta(hours=hours),
            format=format,
            venue="Room 1.01, 1 Example Street, London" if format != "remote" else "",
            dial_in="https://meet.invalid/secret-room",
            capacity=capacity,
            rsvp_deadline=starts + shift - deadline_before if deadline_before else None,
            status=status,
            location=location,
            description=description,
            actor="test",
        )
    if shift:
        with sessions() as session, session.begin():
            session.execute(
                update(Meeting)
                .where(Meeting.id == meeting.id)
                .values(
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=hours),
                    rsvp_deadline=starts - deadline_before if deadline_before else None,
                )
            )
        with sessions() as session:
            return session.get_one(Meeting, meeting.id)
    return meeting


def make_organiser(
    sessions: sessionmaker[Session],
    *,
    email: str = "organiser@example.org",
    password: str = ORGANISER_PASSWORD,
    role: OrganiserRole = OrganiserRole.ADMIN,
    lists: tuple[str, ...] = (),
) -> Organiser:
    """An organiser who can log in: an admin, unless ``role`` says otherwise (then running
    ``lists``)."""
    with sessions() as session:
        organiser = create_organiser(
            session, email=email, password=password, role=role, actor="test"
        )
    if lists:
        with sessions() as session:
            set_organiser_lists(session, organiser.id, list(lists), actor="test")
    return organiser


def answer_claim(session: Session, consultation_id: int, email: str) -> AnswerClaim:
    """The claim of the reply address a consultation was sent to ``email`` with (the person must
    exist)."""
    with read_transaction(session):  # over before the caller's own transaction begins
        person = session.scalars(select(Person).where(Person.email == email)).one()
        return AnswerClaim(consultation_id, person.id, person.link_version)


def answer(
    database: TestDatabase,
    services: Services,
    meeting_id: int,
    email: str,
    response: RsvpResponse = RsvpResponse.ATTENDING,
    mode: AttendanceMode | None = AttendanceMode.IN_PERSON,
) -> RsvpOutcome:
    """``email`` answers for the meeting (in person, unless told otherwise), as from the panel."""
    with database.sessions() as s:
        return record_rsvp(
            s,
            services,
            meeting_id=meeting_id,
            email=email,
            response=response,
            mode=mode,
            source="panel",
        )
