"""Who puts a member back: someone who left does it themselves; someone removed, an organiser."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mailer.domain.errors import InvalidLink
from mailer.domain.lists import (
    LeftTheList,
    add_member,
    leave_by_token,
    rejoin_by_token,
    remove_member,
)
from mailer.domain.models import MailingList, Meeting, Person, Subscription, SubscriptionStatus
from mailer.domain.services import Services
from tests.support.databases import TestDatabase
from tests.support.factories import make_list

ANA = "ana@dept.gov.uk"


def token(database: TestDatabase, services: Services) -> str:
    with database.sessions() as s:
        person = s.scalars(select(Person).where(Person.email == ANA)).one()
        mailing_list = s.scalars(select(MailingList)).one()
        return services.links.unsubscribe_token(person.id, mailing_list.id, person.link_version)


def status(database: TestDatabase) -> SubscriptionStatus:
    with database.sessions() as s:
        return s.scalars(select(Subscription.status)).one()


def test_an_organiser_cannot_put_back_someone_who_left(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    with database.sessions() as s:
        add_member(s, slug="forum", email=ANA, actor="test")
    link = token(database, services)
    with database.sessions() as s:
        leave_by_token(s, services, link, source="page")
    with database.sessions() as s, pytest.raises(LeftTheList, match="only they can rejoin"):
        add_member(s, slug="forum", email=ANA, actor="organiser")
    assert status(database) is SubscriptionStatus.UNSUBSCRIBED
    with database.sessions() as s:
        rejoin_by_token(s, services, link)  # she can, from her own link
    assert status(database) is SubscriptionStatus.ACTIVE


def test_removal_stops_every_link_and_only_an_organiser_undoes_it(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    with database.sessions() as s:
        add_member(s, slug="forum", email=ANA, actor="test")
    old_link = token(database, services)
    with database.sessions() as s:
        remove_member(s, slug="forum", email=ANA, actor="organiser")
    assert status(database) is SubscriptionStatus.REMOVED
    with database.sessions() as s, pytest.raises(InvalidLink):
        rejoin_by_token(s, services, old_link)
    with database.sessions() as s, pytest.raises(InvalidLink):
        rejoin_by_token(s, services, token(database, services))  # nor a new one
    with database.sessions() as s:
        add_member(s, slug="forum", email=ANA, actor="organiser")
    assert status(database) is SubscriptionStatus.ACTIVE


def test_a_removed_member_gives_up_their_answers_and_places_to_the_next_in_line(
    database: TestDatabase, services: Services
) -> None:
    from mailer.domain.meetings import attendee_report
    from mailer.domain.membership import remove_from_list
    from mailer.domain.models import AttendanceMode, OutboxMessage, RsvpResponse
    from mailer.domain.rsvp import record_rsvp
    from tests.support.factories import make_meeting

    make_list(database.sessions)
    meeting = make_meeting(database.sessions, capacity=1)
    for who in (ANA, "ben@dept.gov.uk", "cy@dept.gov.uk"):
        with database.sessions() as s:
            add_member(s, slug="forum", email=who, actor="test")
        with database.sessions() as s:
            record_rsvp(
                s,
                services,
                meeting_id=meeting.id,
                email=who,
                response=RsvpResponse.ATTENDING,
                mode=AttendanceMode.IN_PERSON,
                source="panel",
            )
    with database.sessions() as s:  # ben waits first in line: removed, he is never given a place
        assert remove_from_list(s, services, slug="forum", email="ben@dept.gov.uk", actor="o") == 1
    with database.sessions() as s:  # ana held the place: removed, it goes to cy
        assert remove_from_list(s, services, slug="forum", email=ANA, actor="o") == 1
    with database.sessions() as s:
        report = attendee_report(s, meeting.id)
        assert [(a.email, a.waitlisted) for a in report.attendees] == [("cy@dept.gov.uk", False)]
        promoted = s.scalars(
            select(OutboxMessage.recipient).where(OutboxMessage.kind == "waitlist_promoted")
        ).all()
    assert promoted == ["cy@dept.gov.uk"]


def test_someone_removed_cannot_register_again_by_email_link_or_calendar(
    database: TestDatabase, services: Services
) -> None:
    from mailer.domain.errors import RsvpClosed
    from mailer.domain.membership import remove_from_list
    from mailer.domain.models import AttendanceMode, OutboxMessage, Rsvp, RsvpResponse
    from mailer.domain.outbox import ReplyThread
    from mailer.domain.rsvp import (
        record_rsvp_from_calendar,
        record_rsvp_from_link,
        register_by_email,
    )
    from tests.support.factories import make_meeting

    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    with database.sessions() as s:
        add_member(s, slug="forum", email=ANA, actor="test")
    with database.sessions() as s:
        remove_from_list(s, services, slug="forum", email=ANA, actor="organiser")
    with database.sessions() as s:
        outcome = register_by_email(
            s,
            services,
            list_slug="forum",
            email=ANA,
            display_name=None,
            mode=AttendanceMode.REMOTE,
            thread=ReplyThread("<old-agenda-reply@dept.gov.uk>"),
            meeting_id=meeting.id,
        )
    assert "registration refused" in outcome.summary
    with database.sessions() as s:
        assert s.scalars(select(Rsvp)).all() == []
        [refusal] = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "rsvp_refused"))
    assert "taken you off the list" in (refusal.body_text or "")
    with database.sessions() as s:  # a link made for them now (a "was this you?") does nothing
        person = s.scalars(select(Person).where(Person.email == ANA)).one()
        link = services.links.rsvp_url(person, s.get(Meeting, meeting.id), "remote")
    token = link.split("/rsvp/")[1].split("/")[0]
    with database.sessions() as s, pytest.raises(RsvpClosed, match="taken you off the list"):
        record_rsvp_from_link(s, services, token, "remote")
    with database.sessions() as s, pytest.raises(RsvpClosed, match="taken you off the list"):
        record_rsvp_from_calendar(
            s, services, meeting_id=meeting.id, attendee=ANA, response=RsvpResponse.ATTENDING
        )
    with database.sessions() as s:
        assert s.scalars(select(Rsvp)).all() == []
