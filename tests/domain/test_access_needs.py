"""Access needs: given with an RSVP, seen only by organisers, never on a (forwardable) link page,
deleted after the meeting, exported and erased with the person."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from mailer.domain.errors import InvalidInput
from mailer.domain.lists import add_member
from mailer.domain.meetings import attendee_report
from mailer.domain.models import Meeting, Person, Rsvp, utcnow
from mailer.domain.privacy import erase_person, export_person
from mailer.domain.reports import attendees_csv
from mailer.domain.rsvp import apply_access_needs_retention, record_rsvp_from_link, rsvp_page
from mailer.domain.services import Services
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting

NEEDS = "Step-free access, please; I use a wheelchair."


def link_token(database: TestDatabase, services: Services) -> tuple[str, int]:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    with database.sessions() as s:
        add_member(s, slug="forum", email="alex@dept.gov.uk", display_name="Alex", actor="test")
    with database.sessions() as s, s.begin():
        person = s.scalar(select(Person))
        url = services.links.rsvp_url(person, s.get(Meeting, meeting.id), "in-person")
    return url.split("/rsvp/")[1].split("/")[0], meeting.id


def test_given_with_the_answer_seen_by_organisers_not_on_the_page(
    database: TestDatabase, services: Services
) -> None:
    token, meeting_id = link_token(database, services)
    with database.sessions() as s:
        before = rsvp_page(s, services, token, "in-person")
    with database.sessions() as s:
        record_rsvp_from_link(s, services, token, "in-person", access_needs=f"  {NEEDS}\r\n")
    with database.sessions() as s:
        page = rsvp_page(s, services, token, "in-person")
    assert page == before  # the page knows nothing of them, not even that there are some
    with database.sessions() as s:
        report = attendee_report(s, meeting_id)
    assert report.attendees[0].access_needs == NEEDS
    assert NEEDS in attendees_csv(report, {}).decode("utf-8-sig")
    # Answering again without a note keeps it; declining drops it.
    with database.sessions() as s:
        record_rsvp_from_link(s, services, token, "remote")
    with database.sessions() as s:
        assert s.scalar(select(Rsvp.access_needs)) == NEEDS
    with database.sessions() as s:
        record_rsvp_from_link(s, services, token, "decline")
    with database.sessions() as s:
        assert s.scalar(select(Rsvp.access_needs)) is None


def test_too_long_is_refused_and_nothing_changes(
    database: TestDatabase, services: Services
) -> None:
    token, _ = link_token(database, services)
    with database.sessions() as s, pytest.raises(InvalidInput, match="1000 characters"):
        record_rsvp_from_link(s, services, token, "in-person", access_needs="x" * 1001)
    with database.sessions() as s:
        assert s.scalar(select(Rsvp)) is None


def test_deleted_after_the_meeting_and_with_the_person(
    database: TestDatabase, services: Services
) -> None:
    token, meeting_id = link_token(database, services)
    with database.sessions() as s:
        record_rsvp_from_link(s, services, token, "in-person", access_needs=NEEDS)
    with database.sessions() as s:
        assert export_person(s, "alex@dept.gov.uk")["rsvps"][0]["access_needs"] == NEEDS
    with database.sessions() as s:
        assert apply_access_needs_retention(s, days_after=1) == 0  # the meeting is still to come
    with database.sessions() as s, s.begin():
        s.execute(
            update(Meeting).values(
                starts_at=utcnow() - timedelta(days=3), ends_at=utcnow() - timedelta(days=2)
            )
        )
    with database.sessions() as s:
        assert apply_access_needs_retention(s, days_after=1) == 1
    with database.sessions() as s:
        assert s.scalar(select(Rsvp.access_needs)) is None
    with database.sessions() as s, s.begin():
        s.execute(update(Rsvp).values(access_needs=NEEDS))
    with database.sessions() as s:
        erase_person(s, "alex@dept.gov.uk", actor="test", services=services)
    with database.sessions() as s:
        assert (
            s.scalar(select(Rsvp.access_needs)) is None
        )  # the anonymous RSVP stays, the note does not
