"""Changing and cancelling a meeting from the panel: the organiser sees what changes and who will
be told what before anything is saved or sent."""

from __future__ import annotations

import re

from sqlalchemy import select

from mailer.domain.models import AttendanceMode, Meeting, MeetingStatus, OutboxMessage, RsvpResponse
from mailer.domain.rsvp import record_rsvp
from mailer.domain.services import build_services
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_list, make_meeting, make_organiser
from tests.support.http import HttpClient
from tests.support.servers import RunningService


def fields(body: str) -> dict[str, str]:
    """The edit form's current values, as the browser would send them back (a time as the
    GOV.UK date input's boxes: ``starts_at-day``, ``-month``, ``-year`` and ``-time``)."""
    values = {"csrf_token": HttpClient.csrf_token(body)}
    names = ["title", "location", "capacity"] + [
        f"{when}-{part}"
        for when in ("starts_at", "ends_at", "rsvp_deadline")
        for part in ("day", "month", "year", "time")
    ]
    for name in names:
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', body)
        found = re.search(r'value="([^"]*)"', tag.group(0)) if tag else None
        values[name] = found.group(1) if found else ""
    for name in ("venue", "dial_in", "description"):
        values[name] = re.search(rf'name="{name}"[^>]*>([^<]*)</textarea>', body).group(1).strip()
    return values


def kinds(database: TestDatabase, kind: str) -> list[OutboxMessage]:
    with database.sessions() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def delegates(database: TestDatabase, web_service: RunningService, meeting_id: int) -> None:
    services = build_services(web_service.config)
    for who, mode in (("ana", AttendanceMode.IN_PERSON), ("ben", AttendanceMode.REMOTE)):
        with database.sessions() as s:
            record_rsvp(
                s,
                services,
                meeting_id=meeting_id,
                email=f"{who}@example.org",
                response=RsvpResponse.ATTENDING,
                mode=mode,
                source="panel",
            )


def test_a_new_venue_is_checked_then_sent_only_to_the_in_person_delegate(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, title="Winter Forum")
    make_organiser(database.sessions)
    delegates(database, web_service, meeting.id)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    assert (
        f'href="/panel/meetings/{meeting.id}/edit"'
        in client.get(f"/panel/meetings/{meeting.id}").body
    )
    form = client.get(f"/panel/meetings/{meeting.id}/edit")
    assert form.status == 200 and 'value="Winter Forum"' in form.body
    values = fields(form.body)
    assert "Room 1.01" in values["venue"]
    values["venue"] = "Room 9.09, 9 New Street, London"
    checked = client.post(f"/panel/meetings/{meeting.id}/edit", values)
    assert checked.status == 200 and "Changing: venue." in checked.body
    assert (
        "1 person will be emailed" in checked.body
        and "1 delegate: told of the venue" in checked.body
    )
    assert kinds(database, "meeting_updated") == []  # checking sends and saves nothing
    with database.sessions() as s:
        assert "Room 1.01" in s.scalars(select(Meeting.venue)).one()
    saved = client.post(f"/panel/meetings/{meeting.id}/edit", {**values, "confirmed": "yes"})
    assert "Saved. 1 person emailed about the change." in saved.body
    [update] = kinds(database, "meeting_updated")
    assert update.recipient == "ana@example.org" and "Room 9.09" in update.body_text


def test_edit_refuses_a_past_start_and_an_end_before_the_start_on_the_form(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    make_organiser(database.sessions)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    values = fields(client.get(f"/panel/meetings/{meeting.id}/edit").body)
    past = client.post(
        f"/panel/meetings/{meeting.id}/edit", {**values, "starts_at": "2020-01-01T10:00"}
    )
    assert past.status == 400 and "The start is in the past" in past.body
    backwards = client.post(
        f"/panel/meetings/{meeting.id}/edit", {**values, "ends_at": "2020-01-01T10:00"}
    )
    assert backwards.status == 400 and "must end after it starts" in backwards.body


def test_cancelling_names_who_is_told_and_sends_the_reason(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, title="Winter Forum")
    make_organiser(database.sessions)
    delegates(database, web_service, meeting.id)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    page = client.get(f"/panel/meetings/{meeting.id}/cancel")
    assert "Cancel Winter Forum?" in page.body and "2 people will be emailed" in page.body
    assert "govuk-button--warning" in page.body and kinds(database, "meeting_cancelled") == []
    preview = client.get(f"/panel/meetings/{meeting.id}/emails/cancellation")
    assert preview.status == 200 and "Cancelled: Winter Forum" in preview.body
    assert "has been cancelled" in preview.body and kinds(database, "meeting_cancelled") == []
    done = client.post(
        f"/panel/meetings/{meeting.id}/cancel",
        {"csrf_token": client.csrf_token(page.body), "reason": "The building is closed."},
    )
    assert "Cancelled. 2 people told" in done.body
    cancelled = kinds(database, "meeting_cancelled")
    assert sorted(m.recipient for m in cancelled) == ["ana@example.org", "ben@example.org"]
    assert all("The building is closed." in m.body_text for m in cancelled)
    with database.sessions() as s:
        assert s.scalars(select(Meeting.status)).one() is MeetingStatus.CANCELLED


def test_more_places_go_to_those_waiting_and_fewer_than_are_held_is_refused(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, title="Winter Forum", capacity=1)
    make_organiser(database.sessions)
    services = build_services(web_service.config)
    for who in ("ana", "ben"):  # ben waits
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
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    values = fields(client.get(f"/panel/meetings/{meeting.id}/edit").body)
    assert values["capacity"] == "1"
    fewer = client.post(f"/panel/meetings/{meeting.id}/edit", {**values, "capacity": "0"})
    assert fewer.status == 400
    assert "1 person already has an in-person place, so there must be at least 1" in fewer.body
    more = {**values, "capacity": "2"}
    checked = client.post(f"/panel/meetings/{meeting.id}/edit", more)
    assert "1 person on the waiting list will be given a place and told." in checked.body
    assert kinds(database, "waitlist_promoted") == []
    saved = client.post(f"/panel/meetings/{meeting.id}/edit", {**more, "confirmed": "yes"})
    assert "1 person given a place from the waiting list, and told." in saved.body
    assert [m.recipient for m in kinds(database, "waitlist_promoted")] == ["ben@example.org"]
    with database.sessions() as s:
        assert s.scalars(select(Meeting.capacity)).one() == 2


def test_times_typed_by_hand_are_taken_and_nonsense_is_named(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    make_organiser(database.sessions)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    values = fields(client.get(f"/panel/meetings/{meeting.id}/edit").body)
    assert values["starts_at-year"].isdigit() and ":" in values["starts_at-time"]
    typed = client.post(
        f"/panel/meetings/{meeting.id}/edit", {**values, "ends_at-time": "11.59 pm"}
    )
    assert typed.status == 200 and "Changing: end time." in typed.body
    assert 'name="ends_at-time" type="text" value="11.59 pm"' in typed.body  # shown as typed
    impossible = client.post(
        f"/panel/meetings/{meeting.id}/edit",
        {**values, "ends_at-day": "31", "ends_at-month": "2"},
    )
    assert impossible.status == 400
    assert "Enter a real date and time, for example 12 3 2027 and 14:00." in impossible.body
    no_year = client.post(f"/panel/meetings/{meeting.id}/edit", {**values, "ends_at-year": ""})
    assert no_year.status == 400 and "Ends must include a year." in no_year.body
    short_year = client.post(f"/panel/meetings/{meeting.id}/edit", {**values, "ends_at-year": "27"})
    assert "The year must include 4 numbers, for example 2027." in short_year.body
    teatime = client.post(
        f"/panel/meetings/{meeting.id}/edit", {**values, "ends_at-time": "teatime"}
    )
    assert teatime.status == 400 and "Enter the time like 14:00 or 2pm." in teatime.body
    words = client.post(f"/panel/meetings/{meeting.id}/edit", {**values, "ends_at-month": "Mar"})
    assert "Enter the day, month and year as numbers, for example 12 3 2027." in words.body
    places = client.post(f"/panel/meetings/{meeting.id}/edit", {**values, "capacity": "lots"})
    assert "Enter the number of places as a whole number, for example 40." in places.body


def test_a_quarterly_series_is_set_up_from_the_new_meeting_form(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    from datetime import UTC, datetime, timedelta

    make_list(database.sessions)
    make_organiser(database.sessions)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    form = client.get("/panel/meetings/new")
    assert "Every 3 months" in form.body
    year = datetime.now(UTC).year + 1
    first = datetime(year, 3, 1) + timedelta(days=(3 - datetime(year, 3, 1).weekday()) % 7)
    while (first + timedelta(days=7)).month == 3:  # the last Thursday of March next year
        first += timedelta(days=7)
    done = client.post(
        "/panel/meetings/new",
        {
            "csrf_token": client.csrf_token(form.body),
            "list_slug": "forum",
            "title": "Leaders of Networks Forum",
            "starts_at": first.strftime("%Y-%m-%dT14:00"),
            "ends_at": first.strftime("%Y-%m-%dT16:00"),
            "format": "remote",
            "repeats": "3",
            "same": "weekday",
            "occurrences": "4",
        },
    )
    assert "4 meetings created:" in done.body
    with database.sessions() as s:
        starts = [m.starts_at for m in s.scalars(select(Meeting).order_by(Meeting.starts_at))]
    assert [d.month for d in starts] == [3, 6, 9, 12]
    assert all(d.weekday() == 3 and (d + timedelta(days=7)).month != d.month for d in starts)
