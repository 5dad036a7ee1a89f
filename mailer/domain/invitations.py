"""Invitations: one personal email per active member, with signed links and a calendar invitation."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from mailer.domain import audit
from mailer.domain.errors import InvalidInput, NotFound
from mailer.domain.icalendar_invites import build_ics
from mailer.domain.models import (
    Meeting,
    MeetingStatus,
    Person,
    Rsvp,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from mailer.domain.news import list_headers
from mailer.domain.outbox import Envelope, enqueue
from mailer.domain.rsvp import check_open
from mailer.domain.services import Services


def send_invitations(session: Session, services: Services, meeting_id: int, *, actor: str) -> int:
    """Invite every active member of the meeting's list who has not answered yet; returns how many.

    Sending again later reaches new members and those who have not replied;
    nobody who has answered is invited twice.
    """
    with session.begin():
        meeting = session.scalar(select(Meeting).options(joinedload(Meeting.mailing_list))
                                 .where(Meeting.id == meeting_id).with_for_update(of=Meeting))
        if meeting is None:
            raise NotFound("There is no such meeting.")
        if meeting.status is not MeetingStatus.PUBLISHED:
            raise InvalidInput("Publish the meeting before inviting people to it.")
        check_open(meeting)
        answered = select(Rsvp.person_id).where(Rsvp.meeting_id == meeting.id)
        people = session.scalars(
            select(Person).join(Subscription, Subscription.person_id == Person.id)
            .where(Subscription.list_id == meeting.list_id, Subscription.status == SubscriptionStatus.ACTIVE,
                   Person.id.not_in(answered))
            .order_by(Person.id)).all()
        mailing_list = meeting.mailing_list
        address = services.list_address(mailing_list.slug)
        domain = services.config.mail.domain
        shared = list_headers(services, mailing_list)
        for person in people:
            token = services.links.unsubscribe_token(person.id, mailing_list.id, person.link_version)
            headers = {**shared, "Reply-To": address,
                       "List-Unsubscribe": f"<{services.links.unsubscribe_url(token)}>, "
                                           f"<mailto:{mailing_list.slug}-leave+{token}@{domain}?subject=unsubscribe>",
                       "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
            enqueue(session, services, kind="invitation", person=person, sender=Envelope(address, mailing_list.name, headers),
                    context={"meeting": meeting, "links": services.links.rsvp_urls(person, meeting),
                             "unsubscribe_url": services.links.unsubscribe_url(token)},
                    calendar=build_ics(meeting, person=person, organiser_address=address,
                                       organiser_name=mailing_list.name, domain=domain))
        meeting.invited_at = utcnow()
        audit.record(session, actor=actor, action="meeting.invite", target=f"meeting:{meeting.id}",
                     recipients=len(people))
        return len(people)
