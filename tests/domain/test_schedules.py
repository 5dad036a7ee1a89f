"""Agenda a week before, reminder the day before, updates and cancellation; each exactly once,
private details only to the delegates they belong to."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from icalendar import Calendar
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from mailer.domain.invitations import send_invitations
from mailer.domain.lists import add_member
from mailer.domain.models import (
    AttendanceMode,
    Base,
    Meeting,
    MeetingStatus,
    OutboxMessage,
    Person,
    RsvpResponse,
)
from mailer.domain.schedules import cancel_meeting, send_due_schedules, set_agenda, update_meeting
from mailer.domain.services import Services, build_services
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import answer, make_list, make_meeting

VENUE, DIAL_IN = "Room 1.01, 1 Example Street, London", "https://meet.invalid/secret-room"
R = AttendanceMode.REMOTE


def messages(database: TestDatabase, kind: str) -> dict[str, OutboxMessage]:
    with database.sessions() as s:
        return {
            m.recipient: m
            for m in s.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind))
        }


def delegates(database: TestDatabase, services: Services, starts_in: timedelta) -> Meeting:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, starts_in=starts_in, capacity=1, deadline_before=None)
    with database.sessions() as s:
        set_agenda(s, meeting.id, agenda="1. Welcome\n2. **Pronouns at work**", actor="test")
    A, R, N = RsvpResponse.ATTENDING, AttendanceMode.REMOTE, None
    answer(database, services, meeting.id, "inperson@example.org", A, AttendanceMode.IN_PERSON)
    answer(database, services, meeting.id, "remote@example.org", A, R)
    answer(database, services, meeting.id, "undecided@example.org", A, N)
    answer(database, services, meeting.id, "declined@example.org", RsvpResponse.DECLINED, N)
    answer(
        database, services, meeting.id, "waiting@example.org", A, AttendanceMode.IN_PERSON
    )  # capacity 1
    return meeting


def test_agenda_goes_once_with_each_delegates_own_details(
    database: TestDatabase, services: Services
) -> None:
    meeting = delegates(database, services, timedelta(days=3))
    with database.sessions() as s:
        [done] = send_due_schedules(s, services)
    assert f"meeting {meeting.id} to 3 delegates" in done
    sent = messages(database, "meeting_details")
    assert set(sent) == {"inperson@example.org", "remote@example.org", "undecided@example.org"}
    assert (
        VENUE in sent["inperson@example.org"].body_text
        and DIAL_IN not in sent["inperson@example.org"].body_text
    )
    assert (
        DIAL_IN in sent["remote@example.org"].body_text
        and VENUE not in sent["remote@example.org"].body_text
    )
    # Registered without saying how, with every in-person place taken: no place, so neither the
    # venue nor the joining details, and asked to choose.
    undecided = sent["undecided@example.org"]
    for text in (undecided.body_text, undecided.body_html):
        assert VENUE not in text and DIAL_IN not in text
    assert "we have sent you no venue or joining details yet" in undecided.body_text
    assert "The in-person places are all taken: join remotely" in undecided.body_text
    assert "to go on the waiting list" in undecided.body_html
    assert "Pronouns at work" in sent["remote@example.org"].body_text
    assert "<strong>Pronouns at work</strong>" in sent["remote@example.org"].body_html
    with database.sessions() as s:
        assert send_due_schedules(s, services) == []  # exactly once
    # Someone registering after the agenda went out gets it straight away.
    answer(
        database,
        services,
        meeting.id,
        "late@example.org",
        RsvpResponse.ATTENDING,
        AttendanceMode.REMOTE,
    )
    late = messages(database, "meeting_details")["late@example.org"]
    assert DIAL_IN in late.body_text and VENUE not in late.body_text


def test_nothing_is_sent_before_it_is_due(database: TestDatabase, services: Services) -> None:
    delegates(database, services, timedelta(days=10))
    with database.sessions() as s:
        assert send_due_schedules(s, services) == []


def test_reminder_the_day_before(database: TestDatabase, services: Services) -> None:
    delegates(database, services, timedelta(hours=12))
    with database.sessions() as s:
        done = send_due_schedules(s, services)
    assert len(done) == 2  # the agenda (late) and the reminder
    reminders = messages(database, "meeting_reminder")
    assert set(reminders) == {"inperson@example.org", "remote@example.org", "undecided@example.org"}
    assert VENUE not in reminders["remote@example.org"].body_text
    # Only a delegate who holds a place is asked to free it; the undecided are asked to choose.
    assert "so someone else can have your place" in reminders["inperson@example.org"].body_text
    remote = reminders["remote@example.org"].body_text
    assert "If you can no longer join, or want to change how you attend" in remote
    undecided = reminders["undecided@example.org"].body_text
    assert "your place" not in undecided and "You have not said yet" in undecided
    assert "The in-person places are all taken" in undecided


def test_a_meeting_created_inside_the_reminder_window_reminds_whoever_registers_later(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(
        database.sessions, starts_in=timedelta(hours=12), capacity=1, deadline_before=None
    )
    with database.sessions() as s:
        set_agenda(s, meeting.id, agenda="", days_before=0, actor="test")  # the agenda comes later
        assert send_due_schedules(s, services) == [
            f"meeting_reminder for meeting {meeting.id} to 0 delegates"
        ]
    A = RsvpResponse.ATTENDING
    answer(database, services, meeting.id, "first@example.org", A, AttendanceMode.IN_PERSON)
    answer(database, services, meeting.id, "second@example.org", A, AttendanceMode.IN_PERSON)
    reminders = messages(database, "meeting_reminder")
    assert set(reminders) == {"first@example.org"}  # second is waiting: no place, no venue yet
    assert VENUE in reminders["first@example.org"].body_text
    # The place frees up: the person promoted gets the reminder with the venue too.
    answer(database, services, meeting.id, "first@example.org", RsvpResponse.DECLINED, None)
    reminders = messages(database, "meeting_reminder")
    assert set(reminders) == {"first@example.org", "second@example.org"}
    assert VENUE in reminders["second@example.org"].body_text
    with database.sessions() as s:
        assert send_due_schedules(s, services) == []


def test_someone_registering_after_agenda_and_reminder_gets_the_agenda_alone(
    database: TestDatabase, services: Services
) -> None:
    meeting = delegates(database, services, timedelta(hours=12))
    with database.sessions() as s:
        assert len(send_due_schedules(s, services)) == 2
    answer(database, services, meeting.id, "late@example.org", RsvpResponse.ATTENDING, R)
    assert DIAL_IN in messages(database, "meeting_details")["late@example.org"].body_text
    assert "late@example.org" not in messages(database, "meeting_reminder")


def test_a_reminder_names_the_day_by_the_meetings_own_calendar() -> None:
    from datetime import UTC, datetime

    from mailer.domain.schedules import day_words

    meeting = Meeting(starts_at=datetime(2026, 3, 6, 9, tzinfo=UTC), timezone="Europe/London")
    assert day_words(meeting, datetime(2026, 3, 5, 10, tzinfo=UTC)) == "tomorrow"
    assert day_words(meeting, datetime(2026, 3, 6, 1, tzinfo=UTC)) == "today"
    assert day_words(meeting, datetime(2026, 3, 3, 10, tzinfo=UTC)) == "on Friday 6 March"
    tokyo = Meeting(starts_at=datetime(2026, 3, 6, 9, tzinfo=UTC), timezone="Asia/Tokyo")
    assert day_words(tokyo, datetime(2026, 3, 5, 16, tzinfo=UTC)) == "today"  # 01:00 on the 6th


def test_two_workers_at_once_send_each_schedule_once(
    database: TestDatabase, services: Services
) -> None:
    delegates(database, services, timedelta(days=3))
    barrier = threading.Barrier(2)
    results: list[list[str]] = []

    def worker() -> None:
        barrier.wait(timeout=30)
        with database.sessions() as s:
            results.append(send_due_schedules(s, services))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(len(r) for r in results) == [0, 1]
    with database.sessions() as s:
        assert (
            len(
                s.scalars(
                    select(OutboxMessage).where(OutboxMessage.kind == "meeting_details")
                ).all()
            )
            == 3
        )


def test_a_run_that_finds_nothing_due_hides_nothing_from_a_run_at_another_time(
    postgresql_database: TestDatabase, tmp_path: Path
) -> None:
    """PostgreSQL: the worker scans with the real clock while an organiser's command (or a test)
    runs with another; the scan that finds nothing due must lock nothing, or the other run skips
    the meeting it should send."""
    database = postgresql_database
    database.empty(Base.metadata)
    services = build_services(make_test_config(tmp_path, database.url))
    meeting = delegates(database, services, timedelta(days=10))  # agenda due 7 days before
    scanned, finished = threading.Event(), threading.Event()

    def pause_after_first_scan(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM meeting" in statement and not scanned.is_set():
            scanned.set()
            finished.wait(timeout=30)

    worker_result: list[list[str]] = []

    def worker() -> None:
        with database.engine.connect() as connection:
            event.listen(connection, "after_cursor_execute", pause_after_first_scan)
            with Session(bind=connection) as s:
                worker_result.append(send_due_schedules(s, services))

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert scanned.wait(timeout=30)
        with database.sessions() as s:
            due = send_due_schedules(s, services, now=meeting.starts_at - timedelta(days=6))
    finally:
        finished.set()
        thread.join(30)
    assert due == [f"meeting_details for meeting {meeting.id} to 3 delegates"]
    assert worker_result == [[]]


def test_each_person_is_told_only_the_changes_that_are_theirs(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    for who in ("ana", "ben", "cy"):
        with database.sessions() as s:
            add_member(s, slug="forum", email=f"{who}@example.org", actor="test")
    with database.sessions() as s:
        send_invitations(s, services, meeting.id, actor="test")
    A = RsvpResponse.ATTENDING
    answer(database, services, meeting.id, "ana@example.org", A, AttendanceMode.REMOTE)
    answer(database, services, meeting.id, "cy@example.org", A, AttendanceMode.IN_PERSON)
    # dan registers later, never having had an invitation: his confirmation brought the entry
    answer(database, services, meeting.id, "dan@example.org", A, AttendanceMode.IN_PERSON)
    with database.sessions() as s:
        told = update_meeting(
            s, services, meeting.id, actor="test", venue="Room 2.02, New Building"
        )
    updates = messages(database, "meeting_updated")
    # A new venue is news to those coming in person only (not to ana online, nor ben, who has
    # not answered and was never told the venue).
    assert told == 2 and set(updates) == {"cy@example.org", "dan@example.org"}
    assert "Room 2.02" in updates["cy@example.org"].body_text
    assert "SEQUENCE:1" in updates["cy@example.org"].body_calendar
    assert "Your calendar entry is updated" in updates["cy@example.org"].body_text
    assert "Your calendar entry is updated" in updates["dan@example.org"].body_text
    with database.sessions() as s:
        assert (
            update_meeting(s, services, meeting.id, actor="test", venue="Room 2.02, New Building")
            == 0
        )
    with database.sessions() as s:
        later = meeting.starts_at + timedelta(hours=1)
        told = update_meeting(
            s,
            services,
            meeting.id,
            actor="test",
            starts_at=later,
            ends_at=later + timedelta(hours=2),
        )
    assert told == 4  # a new time is everyone's news
    with database.sessions() as s:
        ana = s.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == "meeting_updated",
                OutboxMessage.recipient == "ana@example.org",
            )
        ).one()
    assert "Room 2.02" not in ana.body_text and "venue" not in ana.body_text


def test_those_waiting_for_a_place_are_told_a_new_time_but_never_the_venue(
    database: TestDatabase, services: Services
) -> None:
    meeting = delegates(database, services, timedelta(days=10))  # waiting@ waits for a place
    with database.sessions() as s:
        update_meeting(s, services, meeting.id, actor="test", venue="Room 2.02, New Building")
    assert "waiting@example.org" not in messages(database, "meeting_updated")
    with database.sessions() as s:
        later = meeting.starts_at + timedelta(hours=1)
        update_meeting(
            s,
            services,
            meeting.id,
            actor="test",
            starts_at=later,
            ends_at=later + timedelta(hours=2),
        )
    waiting = messages(database, "meeting_updated")["waiting@example.org"]
    assert "The start time and end time of Quarterly Forum have changed." in waiting.body_text
    assert "You are still on the waiting list for an in-person place." in waiting.body_text
    assert "PARTSTAT=TENTATIVE" in waiting.body_calendar.replace("\r\n ", "")
    assert "Room 2.02" not in waiting.body_text and DIAL_IN not in waiting.body_text
    assert waiting.body_calendar and "SEQUENCE:2" in waiting.body_calendar
    with database.sessions() as s:
        cancel_meeting(s, services, meeting.id, actor="test")
    assert "waiting@example.org" in messages(database, "meeting_cancelled")


def test_cancellation_sends_method_cancel(database: TestDatabase, services: Services) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    answer(
        database,
        services,
        meeting.id,
        "ana@example.org",
        RsvpResponse.ATTENDING,
        AttendanceMode.IN_PERSON,
    )
    with database.sessions() as s:
        assert (
            cancel_meeting(s, services, meeting.id, actor="test", reason="The building is closed.")
            == 1
        )
    [cancel] = messages(database, "meeting_cancelled").values()
    assert "METHOD:CANCEL" in cancel.body_calendar and "STATUS:CANCELLED" in cancel.body_calendar
    assert "The building is closed." in cancel.body_text
    with database.sessions() as s:
        assert s.get(Meeting, meeting.id).status is MeetingStatus.CANCELLED
    with database.sessions() as s:
        assert cancel_meeting(s, services, meeting.id, actor="test") == 0


def test_every_calendar_we_send_has_the_required_fields(
    database: TestDatabase, services: Services
) -> None:
    from icalendar import Calendar

    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    with database.sessions() as s:
        add_member(s, slug="forum", email="ana@example.org", actor="test")
    with database.sessions() as s:
        send_invitations(s, services, meeting.id, actor="test")
    with database.sessions() as s:
        update_meeting(
            s,
            services,
            meeting.id,
            actor="test",
            starts_at=meeting.starts_at + timedelta(hours=1),
            ends_at=meeting.ends_at + timedelta(hours=1),
        )
    with database.sessions() as s:
        cancel_meeting(s, services, meeting.id, actor="test")
    with database.sessions() as s:
        calendars = [m.body_calendar for m in s.scalars(select(OutboxMessage)) if m.body_calendar]
    assert len(calendars) == 3
    sequences = []
    for text in calendars:
        calendar = Calendar.from_ical(text)
        assert calendar["METHOD"] in ("REQUEST", "CANCEL")
        event = calendar.walk("VEVENT")[0]
        for field in ("UID", "DTSTAMP", "ORGANIZER", "SEQUENCE", "DTSTART", "DTEND", "ATTENDEE"):
            assert field in event, field
        assert str(event["UID"]) == f"meeting-{meeting.id}@lists.test"
        sequences.append(int(event["SEQUENCE"]))
        alarms = event.walk("VALARM")
        if calendar["METHOD"] == "REQUEST":  # a reminder the day before ([mail] default)
            [alarm] = alarms
            assert alarm["ACTION"] == "DISPLAY" and alarm["DESCRIPTION"] == meeting.title
            assert alarm["TRIGGER"].dt == -timedelta(days=1)
        else:
            assert alarms == []
    assert sequences == [0, 1, 2]


def test_agenda_is_sent_once_across_a_worker_restart(database: TestDatabase, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from mailer.outbound.senders import make_sender_pool
    from mailer.worker import Worker
    from tests.conftest import make_test_config

    config = make_test_config(tmp_path, database.url)
    services = build_services(config)
    delegates(database, services, timedelta(days=3))

    def one_pass() -> None:
        worker = Worker(
            config, database.sessions, services, make_sender_pool(config)
        )  # a fresh process, in effect
        asyncio.run(worker.run_once())

    one_pass()
    one_pass()
    with database.sessions() as s:
        assert (
            len(
                s.scalars(
                    select(OutboxMessage).where(OutboxMessage.kind == "meeting_details")
                ).all()
            )
            == 3
        )


def test_a_meeting_cannot_be_set_up_or_moved_into_the_past(
    database: TestDatabase, services: Services
) -> None:
    import pytest

    from mailer.domain.errors import InvalidInput
    from mailer.domain.meetings import create_meeting

    make_list(database.sessions)
    with database.sessions() as s, pytest.raises(InvalidInput, match="in the past"):
        create_meeting(
            s,
            list_slug="forum",
            title="Yesterday",
            starts_at="2020-01-01 10:00",
            ends_at="2020-01-01 12:00",
            format="remote",
            actor="test",
        )
    meeting = make_meeting(database.sessions)
    with database.sessions() as s, pytest.raises(InvalidInput, match="in the past"):
        update_meeting(s, services, meeting.id, starts_at="2020-01-01 10:00", actor="test")
    with database.sessions() as s:  # a change of title alone is no move in time
        update_meeting(s, services, meeting.id, title="Renamed", actor="test")


def test_changes_and_cancellation_reach_only_those_who_had_the_meeting(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    with database.sessions() as s:
        add_member(s, slug="forum", email="invited@example.org", actor="test")
        add_member(s, slug="forum", email="coming@example.org", actor="test")
    with database.sessions() as s:
        send_invitations(s, services, meeting.id, actor="test")
    answer(
        database,
        services,
        meeting.id,
        "coming@example.org",
        RsvpResponse.ATTENDING,
        AttendanceMode.IN_PERSON,
    )
    with database.sessions() as s:  # joins after the invitations: has nothing to update
        add_member(s, slug="forum", email="joined-later@example.org", actor="test")
    with database.sessions() as s:
        later = meeting.starts_at + timedelta(hours=1)
        update_meeting(
            s,
            services,
            meeting.id,
            actor="test",
            starts_at=later,
            ends_at=later + timedelta(hours=2),
        )
    updates = messages(database, "meeting_updated")
    assert set(updates) == {"invited@example.org", "coming@example.org"}
    # Each calendar keeps what its person answered: a delegate is not asked to accept again.
    coming = Calendar.from_ical(updates["coming@example.org"].body_calendar).walk("VEVENT")[0]
    invited = Calendar.from_ical(updates["invited@example.org"].body_calendar).walk("VEVENT")[0]
    assert (coming["ATTENDEE"].params["PARTSTAT"], coming["ATTENDEE"].params["RSVP"]) == (
        "ACCEPTED",
        "FALSE",
    )
    assert (invited["ATTENDEE"].params["PARTSTAT"], invited["ATTENDEE"].params["RSVP"]) == (
        "NEEDS-ACTION",
        "TRUE",
    )
    assert "You have not answered yet. To answer:" in updates["invited@example.org"].body_text
    with database.sessions() as s:
        assert cancel_meeting(s, services, meeting.id, actor="test") == 2
    cancellations = messages(database, "meeting_cancelled")
    assert "joined-later@example.org" not in cancellations
    cancelled = Calendar.from_ical(cancellations["coming@example.org"].body_calendar)
    attendee = cancelled.walk("VEVENT")[0]["ATTENDEE"]
    assert str(cancelled["METHOD"]) == "CANCEL"
    assert (attendee.params["PARTSTAT"], attendee.params["RSVP"]) == ("ACCEPTED", "FALSE")


def test_an_update_offers_each_person_only_a_change_and_names_a_held_place(
    database: TestDatabase, services: Services
) -> None:
    from mailer.domain.waitlist import offer_place

    make_list(database.sessions)
    meeting = make_meeting(database.sessions, capacity=1)
    for who in ("ana", "bo", "cy"):  # one place: bo and cy wait
        answer(database, services, meeting.id, f"{who}@example.org")
    with database.sessions() as s:
        cy = s.scalar(select(Person.id).where(Person.email == "cy@example.org"))
    with database.sessions() as s:
        offer_place(
            s, services, meeting.id, cy, reply_by=meeting.starts_at - timedelta(days=2), actor="t"
        )
    later = meeting.starts_at + timedelta(hours=1)
    with database.sessions() as s:
        update_meeting(
            s, services, meeting.id, actor="t", starts_at=later, ends_at=later + timedelta(hours=2)
        )
    updates = messages(database, "meeting_updated")
    ana, bo, cy_mail = (updates[f"{w}@example.org"].body_text for w in ("ana", "bo", "cy"))
    assert "Attend in person" not in ana and "Join remotely instead:" in ana
    assert "Attend in person" not in bo and "(off the waiting list)" in bo
    assert "An in-person place is still held for you until" in cy_mail
    assert "Attend in person:" in cy_mail  # the way to take it


def test_a_cancellation_also_clears_the_entry_of_whoever_declined_after_getting_one(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    answer(database, services, meeting.id, "bo@example.org")  # a yes brings the entry
    answer(database, services, meeting.id, "bo@example.org", RsvpResponse.DECLINED, None)
    answer(database, services, meeting.id, "al@example.org", RsvpResponse.DECLINED, None)
    with database.sessions() as s:
        told = cancel_meeting(s, services, meeting.id, actor="test")
    cancelled = messages(database, "meeting_cancelled")
    assert told == 1 and set(cancelled) == {"bo@example.org"}  # al never had an entry
    event = Calendar.from_ical(cancelled["bo@example.org"].body_calendar).walk("VEVENT")[0]
    assert str(event["ATTENDEE"].params["PARTSTAT"]) == "DECLINED"
    declined = [
        m
        for m in messages_all(database)
        if m.recipient == "bo@example.org" and m.subject.startswith("Can't")
    ]
    assert declined and "VALARM" not in declined[0].body_calendar  # no reminder for a no


def messages_all(database: TestDatabase) -> list[OutboxMessage]:
    with database.sessions() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
