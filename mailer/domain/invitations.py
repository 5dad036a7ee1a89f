"""Invitations: one personal email per active member, with signed links and a calendar
invitation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload

from mailer.db import read_transaction, transaction
from mailer.domain import audit
from mailer.domain.attachments import attachment_ids
from mailer.domain.errors import InvalidInput, NotFound
from mailer.domain.icalendar_invites import build_ics
from mailer.domain.meetings import in_person_full, lock_meeting
from mailer.domain.models import (
    Meeting,
    MeetingStatus,
    Person,
    Rsvp,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from mailer.domain.news import member_list_headers
from mailer.domain.outbox import Envelope, enqueue, may_auto_reply
from mailer.domain.people import find_person, normalise_email
from mailer.domain.rate_limits import client_group, within_limit
from mailer.domain.rsvp import check_open
from mailer.domain.services import Services


def _not_yet_answered(meeting: Meeting) -> Select[Person]:
    """The members an invitation goes to: active on the meeting's list, and not answered yet."""
    answered = select(Rsvp.person_id).where(Rsvp.meeting_id == meeting.id)
    return (
        select(Person)
        .join(Subscription, Subscription.person_id == Person.id)
        .where(
            Subscription.list_id == meeting.list_id,
            Subscription.status == SubscriptionStatus.ACTIVE,
            Person.id.not_in(answered),
        )
    )


def invitation_count(session: Session, meeting_id: int) -> int:
    """How many members ``send_invitations`` would reach now (the count an organiser
    confirms)."""
    with read_transaction(session):
        meeting = session.get(Meeting, meeting_id)
        if meeting is None:
            raise NotFound("There is no such meeting.")
        return (
            session.scalar(select(func.count()).select_from(_not_yet_answered(meeting).subquery()))
            or 0
        )


def send_invitations(session: Session, services: Services, meeting_id: int, *, actor: str) -> int:
    """Invite every active member of the meeting's list who has not answered yet; returns how many.

    Sending again later reaches new members and those who have not replied;
    nobody who has answered is invited twice.
    """
    with transaction(session):
        meeting = lock_meeting(session, meeting_id)
        if meeting.status is not MeetingStatus.PUBLISHED:
            raise InvalidInput("Publish the meeting before inviting people to it.")
        check_open(meeting)
        people = session.scalars(_not_yet_answered(meeting).order_by(Person.id)).all()
        mailing_list = meeting.mailing_list
        address = services.list_address(mailing_list.slug)
        domain = services.config.mail.domain
        files = attachment_ids(session, meeting.id)
        for person in people:
            token = services.links.unsubscribe_token(
                person.id, mailing_list.id, person.link_version
            )
            headers = {**member_list_headers(services, mailing_list, token), "Reply-To": address}
            enqueue(
                session,
                services,
                kind="invitation",
                person=person,
                sender=Envelope(address, mailing_list.name, headers),
                context={
                    "meeting": meeting,
                    "links": services.links.rsvp_urls(person, meeting),
                    "unsubscribe_url": services.links.unsubscribe_url(token),
                },
                calendar=build_ics(
                    meeting,
                    person=person,
                    organiser_address=address,
                    organiser_name=mailing_list.name,
                    domain=domain,
                    alarm_minutes=services.config.mail.calendar_alarm_minutes,
                ),
                attachments=files,
            )
        meeting.invited_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="meeting.invite",
            target=f"meeting:{meeting.id}",
            recipients=len(people),
        )
        return len(people)


@dataclass(frozen=True)
class PublicMeeting:
    """What anyone may see of a published meeting: its public summary and places left; never who
    is coming, and never the agenda (that goes to registered delegates only)."""

    meeting: Meeting
    places_left: int | None
    #: It has ended: the page says so and offers nothing to answer.
    over: bool


def public_meeting(session: Session, meeting_id: int) -> PublicMeeting:
    from mailer.domain.meetings import meeting_figures

    figures = meeting_figures(session, meeting_id)
    over = figures.meeting.ends_at <= utcnow()
    taking_answers = not over and figures.meeting.status is MeetingStatus.PUBLISHED
    return PublicMeeting(figures.meeting, figures.places_left if taking_answers else None, over)


def send_links(
    session: Session, services: Services, meeting_id: int, *, email: str, client: str
) -> bool:
    """Someone asks on the public page for their own links: they go to that address, nowhere else,
    and only when it is a member of the meeting's list or has answered for the meeting.

    The page says the same whatever happens, so it reveals nothing about who is
    on the list; and since anyone can type any address, it adds no one: an unknown address is
    sent nothing, nor is anyone erased, removed by an organiser, or who left the list with no
    answer for this meeting. Requests are limited per ``client`` (whoever is asking) and per
    address. Returns whether an email was queued.
    """
    web = services.config.web
    hour = timedelta(hours=1)
    with transaction(session):
        meeting = session.get(Meeting, meeting_id, options=[joinedload(Meeting.mailing_list)])
        if meeting is None or meeting.status is not MeetingStatus.PUBLISHED:
            raise NotFound("There is no such meeting.")
        check_open(meeting)
        address = normalise_email(email)
        if not within_limit(
            session,
            services.links.pseudonym("links-client", client_group(client)),
            limit=web.links_per_client_per_hour,
            within=hour,
        ) or not within_limit(
            session,
            services.links.pseudonym("links-address", address),
            limit=web.links_per_address_per_hour,
            within=hour,
        ):
            return False
        person = find_person(session, address)
        if person is None or not _may_have_links(session, person, meeting):
            return False
        if not may_auto_reply(session, services, person.email):
            return False
        enqueue(
            session,
            services,
            kind="your_links",
            person=person,
            auto_reply=True,
            sender=Envelope(
                services.list_address(meeting.mailing_list.slug), meeting.mailing_list.name
            ),
            context={
                "meeting": meeting,
                "links": services.links.rsvp_urls(person, meeting),
                **_answer_words(session, person, meeting),
            },
        )
        return True


def _answer_words(session: Session, person: Person, meeting: Meeting) -> dict[str, object]:
    """The person's answer, as the email to them may say it (its links then offer a change)."""
    rsvp = session.scalar(
        select(Rsvp).where(Rsvp.person_id == person.id, Rsvp.meeting_id == meeting.id)
    )
    if rsvp is None:
        return {}
    return {
        "response": rsvp.response.value,
        "mode": rsvp.mode.value if rsvp.mode else None,
        "waitlisted": rsvp.waitlisted_at is not None and rsvp.offered_until is None,
        "in_person_full": rsvp.offered_until is None and in_person_full(session, meeting),
    }


def _may_have_links(session: Session, person: Person, meeting: Meeting) -> bool:
    """A member of the meeting's list (suspended for bouncing included), or someone whose answer
    for the meeting stands: one who left the list keeps it (the unsubscribe page says so), one an
    organiser removed does not."""
    status = session.scalar(
        select(Subscription.status).where(
            Subscription.person_id == person.id, Subscription.list_id == meeting.list_id
        )
    )
    if status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.BOUNCING):
        return True
    if status is SubscriptionStatus.REMOVED:
        return False
    answered = session.scalar(
        select(Rsvp.id).where(Rsvp.person_id == person.id, Rsvp.meeting_id == meeting.id)
    )
    return answered is not None
