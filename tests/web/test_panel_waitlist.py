"""The waiting list from the panel: its order, a place given or held until a reply-by time,
someone taken off; each with its page first, and each person emailed."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from sqlalchemy import select

from mailer.domain.models import AttendanceMode, Meeting, OutboxMessage, Person, RsvpResponse
from mailer.domain.rsvp import record_rsvp
from mailer.domain.services import build_services
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_list, make_meeting, make_organiser
from tests.support.http import HttpClient
from tests.support.servers import RunningService


def full_meeting(database: TestDatabase, web_service: RunningService) -> Meeting:
    """One place, Ana's; Ben then Cat waiting."""
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, title="Winter Forum", capacity=1)
    services = build_services(web_service.config)
    for who in ("ana", "ben", "cat"):
        with database.sessions() as s:
            record_rsvp(
                s,
                services,
                meeting_id=meeting.id,
                email=f"{who}@example.org",
                response=RsvpResponse.ATTENDING,
                mode=AttendanceMode.IN_PERSON,
                source="panel",
            )
    make_organiser(database.sessions)
    return meeting


def person_id(database: TestDatabase, email: str) -> int:
    with database.sessions() as s:
        return s.scalars(select(Person.id).where(Person.email == email)).one()


def last_mail(database: TestDatabase, email: str) -> OutboxMessage:
    with database.sessions() as s:
        return s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == email)
            .order_by(OutboxMessage.id.desc())
        ).first()


def order(body: str) -> list[str]:
    section = body.split('id="waiting"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r"<strong>\d+\. ([^<]+)</strong>", section)


def test_the_meeting_page_shows_the_line_and_moves_people_in_it(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    meeting = full_meeting(database, web_service)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    page = client.get(f"/panel/meetings/{meeting.id}")
    assert order(page.body) == ["ben@example.org", "cat@example.org"]
    cat = person_id(database, "cat@example.org")
    moved = client.post(
        f"/panel/meetings/{meeting.id}/waitlist/{cat}/up",
        {"csrf_token": client.csrf_token(page.body)},
    )
    assert "Moved up: now number 1 in line." in moved.body and "emailed" in moved.body
    assert order(moved.body) == ["cat@example.org", "ben@example.org"]
    forged = client.post(f"/panel/meetings/{meeting.id}/waitlist/{cat}/down", {})
    assert forged.status == 400  # no CSRF token, nothing moved
    again = client.post(
        f"/panel/meetings/{meeting.id}/waitlist/{cat}/up",
        {"csrf_token": client.csrf_token(moved.body)},
    )
    assert "already first in line" in again.body and "govuk-error-summary" in again.body


def test_giving_a_place_says_a_place_is_added_then_emails_the_person(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    meeting = full_meeting(database, web_service)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    cat = person_id(database, "cat@example.org")
    page = client.get(f"/panel/meetings/{meeting.id}/waitlist/{cat}/place")
    assert "Give cat@example.org an in-person place now?" in page.body
    assert "2 in-person places instead of 1" in page.body
    assert last_mail(database, "cat@example.org").kind == "rsvp_confirmation"  # nothing yet
    done = client.post(
        f"/panel/meetings/{meeting.id}/waitlist/{cat}/place",
        {"csrf_token": client.csrf_token(page.body)},
    )
    assert "Place given, and they have been emailed. In-person places: 2." in done.body
    assert order(done.body) == ["ben@example.org"]
    assert last_mail(database, "cat@example.org").kind == "waitlist_promoted"


def test_holding_a_place_asks_for_a_reply_by_time_and_refuses_one_that_cannot_work(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    meeting = full_meeting(database, web_service)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    ben = person_id(database, "ben@example.org")
    url = f"/panel/meetings/{meeting.id}/waitlist/{ben}/offer"
    page = client.get(url)
    assert "Hold an in-person place for ben@example.org" in page.body
    token = client.csrf_token(page.body)
    empty = client.post(url, {"csrf_token": token, "reply_by": ""})
    assert empty.status == 400 and "Enter when the place stops being held" in empty.body
    garbled = client.post(url, {"csrf_token": token, "reply_by": "next Friday"})
    assert garbled.status == 400 and "Enter a real date and time" in garbled.body
    past = client.post(url, {"csrf_token": token, "reply_by": "2020-01-01T10:00"})
    assert past.status == 400 and "at least an hour from now" in past.body
    assert meeting.rsvp_deadline is not None
    late = (meeting.rsvp_deadline + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    too_late = client.post(url, {"csrf_token": token, "reply_by": late})
    assert too_late.status == 400 and "before replies close" in too_late.body
    assert last_mail(database, "ben@example.org").kind == "rsvp_confirmation"  # nothing sent
    good = (meeting.rsvp_deadline - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    done = client.post(url, {"csrf_token": token, "reply_by": good})
    assert "A place is held for ben@example.org until" in html.unescape(done.body)
    assert "Place held until" in done.body
    offer = last_mail(database, "ben@example.org")
    assert offer.kind == "waitlist_offer" and "held for you until" in offer.body_text


def test_taking_someone_off_is_a_warning_then_they_are_told(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    meeting = full_meeting(database, web_service)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    ben = person_id(database, "ben@example.org")
    page = client.get(f"/panel/meetings/{meeting.id}/waitlist/{ben}/remove")
    assert "Take ben@example.org off the waiting list?" in page.body
    assert "govuk-button--warning" in page.body
    done = client.post(
        f"/panel/meetings/{meeting.id}/waitlist/{ben}/remove",
        {"csrf_token": client.csrf_token(page.body)},
    )
    assert "Taken off the waiting list, and emailed." in done.body
    assert order(done.body) == ["cat@example.org"]
    assert last_mail(database, "ben@example.org").kind == "waitlist_removed"
    gone = client.get(f"/panel/meetings/{meeting.id}/waitlist/{ben}/remove")
    assert gone.status == 404


def test_a_held_place_is_held_longer_from_its_own_page(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    meeting = full_meeting(database, web_service)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    ben = person_id(database, "ben@example.org")
    url = f"/panel/meetings/{meeting.id}/waitlist/{ben}/offer"
    assert meeting.rsvp_deadline is not None
    first = (meeting.rsvp_deadline - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    page = client.get(url)
    client.post(url, {"csrf_token": client.csrf_token(page.body), "reply_by": first})
    again = client.get(url)
    assert "Hold the place longer for ben@example.org" in again.body
    assert "stays theirs; none is added" in again.body
    later = (meeting.rsvp_deadline - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    done = client.post(url, {"csrf_token": client.csrf_token(again.body), "reply_by": later})
    assert "A place is held for ben@example.org until" in html.unescape(done.body)
    with database.sessions() as s:
        assert s.get(Meeting, meeting.id).capacity == 2  # one place added, once
