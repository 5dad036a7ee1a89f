"""Invitations with calendar requests, and in-person capacity with a waitlist."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from icalendar import Calendar
from sqlalchemy import select

from mailer.domain.icalendar_invites import build_ics
from mailer.domain.invitations import send_invitations
from mailer.domain.lists import add_member
from mailer.domain.meetings import attendee_report, create_meeting
from mailer.domain.models import AttendanceMode, OutboxMessage, Person, Rsvp, RsvpResponse
from mailer.domain.rsvp import record_rsvp
from mailer.domain.services import Services, build_services
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.delivery import deliver_once
from tests.support.factories import answer, make_list, make_meeting
from tests.support.servers import SmtpSink


def london(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=ZoneInfo("Europe/London"))


def test_ics_times_are_right_across_daylight_saving(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    with database.sessions() as s:
        winter = create_meeting(
            s,
            list_slug="forum",
            title="Winter",
            starts_at="2027-01-14 14:00",
            ends_at="2027-01-14 16:00",
            venue="Room 1",
            actor="test",
        )
    with database.sessions() as s:
        summer = create_meeting(
            s,
            list_slug="forum",
            title="Summer",
            starts_at="2027-07-15 14:00",
            ends_at="2027-07-15 16:00",
            venue="Room 1",
            actor="test",
        )
    person = Person(id=5, email="sam@example.org", display_name="Sam Example")
    for meeting, utc_hour in ((winter, 14), (summer, 13)):
        ics = build_ics(
            meeting,
            person=person,
            organiser_address="forum@lists.test",
            organiser_name="Forum",
            domain="lists.test",
        )
        assert f"DTSTART:{meeting.starts_at:%Y%m%d}T{utc_hour:02}0000Z" in ics
        event = Calendar.from_ical(ics).walk("VEVENT")[0]
        assert event["DTSTART"].dt == london(
            meeting.starts_at.year, meeting.starts_at.month, meeting.starts_at.day, 14
        ).astimezone(UTC)
        assert str(event["UID"]) == f"meeting-{meeting.id}@lists.test"
        assert "Room 1" not in ics  # the venue goes to delegates only


def test_invitations_reach_each_member_with_links_and_a_calendar_request(
    database: TestDatabase, tmp_path: Path
) -> None:
    with SmtpSink() as sink:
        config = make_test_config(tmp_path, database.url, delivery=sink.smarthost_settings())
        services = build_services(config)
        make_list(database.sessions)
        meeting = make_meeting(database.sessions, title="Spring Forum")
        for who in ("ana", "ben"):
            with database.sessions() as s:
                add_member(
                    s,
                    slug="forum",
                    email=f"{who}@example.org",
                    display_name=who.title(),
                    actor="test",
                )
        with database.sessions() as s:
            assert send_invitations(s, services, meeting.id, actor="test") == 2
        with (
            database.sessions() as s
        ):  # again: nobody has answered, so both again; after answers, fewer
            record_rsvp(
                s,
                services,
                meeting_id=meeting.id,
                email="ana@example.org",
                response=RsvpResponse.DECLINED,
                mode=None,
                source="panel",
            )
        with database.sessions() as s:
            assert send_invitations(s, services, meeting.id, actor="test") == 1
        deliver_once(database, config)
        received = sink.wait_for_count(4)
    ben = next(
        r
        for r in received
        if r.rcpt_tos == ["ben@example.org"] and "Invitation" in r.message["Subject"]
    )
    msg = ben.message
    assert msg["Subject"].startswith("Invitation: Spring Forum")
    assert (
        msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        and "/u/" in msg["List-Unsubscribe"]
    )
    calendar_part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
    assert calendar_part.get_param("method") == "REQUEST"
    event = Calendar.from_ical(calendar_part.get_content()).walk("VEVENT")[0]
    assert (
        str(event["ATTENDEE"]) == "mailto:ben@example.org"
        and event["ATTENDEE"].params["RSVP"] == "TRUE"
    )
    assert str(event["ORGANIZER"]) == "mailto:forum@lists.test"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "/in-person" in text and "/remote" in text and "/decline" in text
    assert "Room 1.01" not in msg.as_string() and "secret-room" not in msg.as_string()


def test_an_invitation_says_where_in_the_organisers_words_and_never_the_venue(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, location="Leeds and online")
    with database.sessions() as s:
        add_member(s, slug="forum", email="ana@example.org", actor="test")
        send_invitations(s, services, meeting.id, actor="test")
        [row] = s.scalars(select(OutboxMessage)).all()
    event = Calendar.from_ical(row.body_calendar).walk("VEVENT")[0]
    assert "Leeds and online." in row.body_text and "Leeds and online." in (row.body_html or "")
    assert str(event["LOCATION"]) == "Leeds and online"
    assert "London" not in row.body_text + (row.body_html or "") + row.body_calendar


def test_capacity_waitlist_and_promotion(database: TestDatabase, services: Services) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, capacity=2)
    assert not answer(database, services, meeting.id, "a@example.org").waitlisted
    assert not answer(database, services, meeting.id, "b@example.org").waitlisted
    assert answer(database, services, meeting.id, "c@example.org").waitlisted
    assert answer(database, services, meeting.id, "d@example.org").waitlisted
    with database.sessions() as s:
        report = attendee_report(s, meeting.id)
    assert (report.in_person, report.waitlist) == (2, 2)
    with database.sessions() as s:
        confirmation = s.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient == "c@example.org")
        ).one()
    assert "waiting list" in confirmation.body_text
    # Remote needs no place: switching frees one, and the longest-waiting person gets it.
    answer(database, services, meeting.id, "a@example.org", mode=AttendanceMode.REMOTE)
    with database.sessions() as s:
        report = attendee_report(s, meeting.id)
        promoted = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "waitlist_promoted")
        ).all()
    assert (report.in_person, report.waitlist) == (2, 1)
    assert [m.recipient for m in promoted] == ["c@example.org"]
    answer(
        database, services, meeting.id, "b@example.org", response=RsvpResponse.DECLINED, mode=None
    )
    with database.sessions() as s:
        report = attendee_report(s, meeting.id)
    assert (report.in_person, report.waitlist) == (2, 0)
    # The same answer twice changes nothing and promotes nobody.
    assert not answer(database, services, meeting.id, "d@example.org").changed


def test_twenty_concurrent_answers_for_ten_places(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, capacity=10)
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            answer(database, services, meeting.id, f"p{i:02}@example.org")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with database.sessions() as s:
        rows = s.scalars(select(Rsvp)).all()
    assert len(rows) == 20
    assert sum(1 for r in rows if r.waitlisted_at is None) == 10
    assert sum(1 for r in rows if r.waitlisted_at is not None) == 10


def test_the_waiting_list_is_in_the_order_people_asked_not_the_order_their_mail_was_handled(
    database: TestDatabase, services: Services
) -> None:
    """Bo's "register me in person" arrived before Cy's, but Cy's was handled first (another worker,
    say). The meeting is full, so both wait; when the place comes free it goes to Bo."""
    from datetime import timedelta

    from mailer.domain.outbox import ReplyThread
    from mailer.domain.rsvp import register_by_email

    make_list(database.sessions)
    meeting = make_meeting(database.sessions, capacity=1)
    with database.sessions() as s:
        record_rsvp(
            s,
            services,
            meeting_id=meeting.id,
            email="al@example.org",
            response=RsvpResponse.ATTENDING,
            mode=AttendanceMode.IN_PERSON,
            source="panel",
        )
    bo_asked = datetime.now(UTC) - timedelta(minutes=5)
    for email, asked in (
        ("cy@example.org", bo_asked + timedelta(minutes=1)),
        ("bo@example.org", bo_asked),
    ):
        with database.sessions() as s:
            outcome = register_by_email(
                s,
                services,
                list_slug="forum",
                email=email,
                display_name=None,
                mode=AttendanceMode.IN_PERSON,
                thread=ReplyThread("<x@example.org>"),
                at=asked,
            )
        assert outcome.rsvp is not None and outcome.rsvp.waitlisted
    with database.sessions() as s:
        record_rsvp(
            s,
            services,
            meeting_id=meeting.id,
            email="al@example.org",
            response=RsvpResponse.DECLINED,
            mode=None,
            source="panel",
        )
    with database.sessions() as s:
        places = {
            email: waiting
            for email, waiting in s.execute(
                select(Person.email, Rsvp.waitlisted_at.is_not(None))
                .join(Rsvp, Rsvp.person_id == Person.id)
                .where(Rsvp.response == RsvpResponse.ATTENDING)
            )
        }
    assert places == {"bo@example.org": False, "cy@example.org": True}


def test_a_second_choice_of_mode_is_taken_instead_of_the_waiting_list(
    database: TestDatabase, services: Services
) -> None:
    """ "In person if there's room, otherwise remotely": with the places taken, remotely; with a
    place free, in person; without a second choice, the waiting list, as the reply says."""
    from mailer.domain.outbox import ReplyThread
    from mailer.domain.rsvp import register_by_email

    make_list(database.sessions)
    make_meeting(database.sessions, capacity=1)

    def register(email: str, fallback: AttendanceMode | None):  # type: ignore[no-untyped-def]
        with database.sessions() as s:
            return register_by_email(
                s,
                services,
                list_slug="forum",
                email=email,
                display_name=None,
                mode=AttendanceMode.IN_PERSON,
                fallback=fallback,
                thread=ReplyThread(f"<{email}>"),
            )

    first = register("al@example.org", AttendanceMode.REMOTE)
    second = register("bo@example.org", AttendanceMode.REMOTE)
    third = register("cy@example.org", None)
    assert first.rsvp and first.rsvp.mode is AttendanceMode.IN_PERSON and not first.rsvp.waitlisted
    assert second.rsvp and second.rsvp.mode is AttendanceMode.REMOTE and not second.rsvp.waitlisted
    assert third.rsvp and third.rsvp.waitlisted and "waiting list" in third.summary
    with database.sessions() as s:
        reply = s.scalar(
            select(OutboxMessage).where(
                OutboxMessage.recipient == "cy@example.org",
                OutboxMessage.kind == "registration_reply",
            )
        )
        assert reply is not None and "waiting list" in (reply.subject or "") + (
            reply.body_text or ""
        )
        assert "you are registered" not in (reply.body_text or "")


def test_links_by_email_reach_whoever_still_has_an_answer_and_nobody_removed(
    database: TestDatabase, services: Services
) -> None:
    """Gina left the list but kept her place (as the unsubscribe page says she does): she can
    still ask for her links. Someone an organiser removed, or who left with no answer, cannot."""
    from sqlalchemy import update

    from mailer.domain.invitations import send_links
    from mailer.domain.lists import remove_member
    from mailer.domain.models import Subscription, SubscriptionStatus

    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    for who in ("gina", "hal", "ivy"):
        with database.sessions() as s:
            add_member(s, slug="forum", email=f"{who}@example.org", actor="test")
    for who in ("gina", "ivy"):
        answer(database, services, meeting.id, f"{who}@example.org")
    with database.sessions() as s, s.begin():  # gina and hal leave by their own choice
        left = select(Person.id).where(Person.email.in_(["gina@example.org", "hal@example.org"]))
        s.execute(
            update(Subscription)
            .where(Subscription.person_id.in_(left))
            .values(status=SubscriptionStatus.UNSUBSCRIBED)
        )
    with database.sessions() as s:
        remove_member(s, slug="forum", email="ivy@example.org", actor="test")
    sent = {}
    for who in ("gina", "hal", "ivy"):
        with database.sessions() as s:
            sent[who] = send_links(
                s, services, meeting.id, email=f"{who}@example.org", client=f"client-{who}"
            )
    assert sent == {"gina": True, "hal": False, "ivy": False}
    with database.sessions() as s:
        [links] = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "your_links"))
    # They say where she stands, and offer only a change.
    assert "You are attending in person." in links.body_text
    assert "Attend in person" not in links.body_text and "Join remotely instead:" in links.body_text
