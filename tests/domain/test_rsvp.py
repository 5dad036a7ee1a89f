"""RSVP rules, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mailer.domain.errors import ExpiredLink, InvalidChoice, InvalidLink, RsvpClosed
from mailer.domain.lists import add_member
from mailer.domain.models import (
    AttendanceMode,
    AuditEntry,
    OutboxMessage,
    Person,
    Rsvp,
    RsvpResponse,
)
from mailer.domain.outbox import ReplyThread
from mailer.domain.rsvp import record_rsvp, record_rsvp_from_link, register_by_email, rsvp_page
from mailer.domain.services import Services
from tests.support.databases import TestDatabase
from tests.support.factories import answer, make_list, make_meeting

THREAD = ReplyThread(message_id="<q@example.org>", subject="Forum")


def register(
    database: TestDatabase,
    services: Services,
    mode: AttendanceMode | None = None,
    email: str = "Sam.Example@Example.ORG",
):  # type: ignore[no-untyped-def]
    with database.sessions() as s:
        return register_by_email(
            s,
            services,
            list_slug="forum",
            email=email,
            display_name="Sam Example",
            mode=mode,
            thread=THREAD,
        )


def outbox(database: TestDatabase) -> list[OutboxMessage]:
    with database.sessions() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def token_for(database: TestDatabase, services: Services, meeting_id: int) -> str:
    with database.sessions() as s:
        person = s.scalars(select(Person)).one()
        from mailer.domain.models import Meeting

        return services.links.rsvp_token(person, s.get(Meeting, meeting_id))


def test_register_by_email_registers_and_replies_threaded(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    with database.sessions() as s:
        add_member(
            s, slug="forum", email="sam.example@example.org", display_name="Sam Example", actor="t"
        )
    result = register(database, services, AttendanceMode.REMOTE)
    assert result.rsvp is not None and result.rsvp.changed
    with database.sessions() as s:
        rsvp = s.scalars(select(Rsvp)).one()
        assert (rsvp.meeting_id, rsvp.response, rsvp.mode) == (
            meeting.id,
            RsvpResponse.ATTENDING,
            AttendanceMode.REMOTE,
        )
        assert s.scalars(select(Person)).one().email == "sam.example@example.org"
        assert (
            s.scalars(select(AuditEntry).where(AuditEntry.action == "rsvp.record"))
            .one()
            .actor.startswith("person:")
        )
    [reply] = outbox(database)
    assert reply.kind == "registration_reply"
    assert reply.recipient == "sam.example@example.org"
    assert reply.headers["In-Reply-To"] == "<q@example.org>"
    assert reply.subject == "Re: Forum"
    assert "/rsvp/" in reply.body_text and "Hello Sam," in reply.body_text


def test_a_reply_to_someone_not_on_the_list_repeats_nothing_they_chose(
    database: TestDatabase, services: Services
) -> None:
    """Anyone can write in anyone's name: a reply to a non-member has a fixed subject naming the
    list and greets no one by the name the message gave."""
    make_list(database.sessions)
    make_meeting(database.sessions)
    with database.sessions() as s:
        register_by_email(
            s,
            services,
            list_slug="forum",
            email="sam.example@example.org",
            display_name="Claim Your Prize",
            mode=AttendanceMode.REMOTE,
            thread=ReplyThread("<q@example.org>", subject="URGENT: verify at http://x.example"),
        )
    [reply] = outbox(database)
    assert reply.subject == "Your message to Leaders of Networks Forum"
    assert reply.headers["In-Reply-To"] == "<q@example.org>"
    assert "Claim" not in reply.body_text and "URGENT" not in reply.body_text
    assert "Hello," in reply.body_text


def test_register_again_keeps_the_mode_and_says_already(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    make_meeting(database.sessions)
    register(database, services, AttendanceMode.IN_PERSON)
    again = register(database, services, None)
    assert again.rsvp is not None and not again.rsvp.changed
    assert again.rsvp.mode is AttendanceMode.IN_PERSON
    assert "already registered" in again.summary
    assert "You were already registered" in outbox(database)[-1].body_text


def test_a_second_register_me_is_already_registered_never_a_second_answer(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    make_meeting(database.sessions)
    assert register(database, services, AttendanceMode.REMOTE).rsvp.changed
    assert not register(database, services, AttendanceMode.REMOTE).rsvp.changed
    with database.sessions() as s:
        assert len(s.scalars(select(Rsvp)).all()) == 1


def test_the_hourly_reply_limit_counts_every_reply_to_the_address(
    database: TestDatabase, services: Services, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Replies to one address stop at the hourly limit, a new sender's first one included; a limit
    of none means no reply; an address erased and back starts again with nothing sent. (A reply to
    a registration is a notice about the person's own record, on that limit.)"""
    from mailer.domain.privacy import erase_person
    from mailer.domain.services import build_services
    from tests.conftest import make_test_config

    make_list(database.sessions)
    make_meeting(database.sessions)
    two = build_services(
        make_test_config(tmp_path, database.url, worker={"record_notices_per_person_per_hour": 2})
    )
    assert [register(database, two, AttendanceMode.REMOTE).replied for _ in range(3)] == [
        True,
        True,
        False,
    ]
    with database.sessions() as s:
        erase_person(s, "sam.example@example.org", actor="test", services=services)
    assert register(database, two, AttendanceMode.REMOTE).replied
    with database.sessions() as s:
        erase_person(s, "sam.example@example.org", actor="test", services=services)
    silent = build_services(
        make_test_config(tmp_path, database.url, worker={"record_notices_per_person_per_hour": 0})
    )
    assert not register(database, silent, AttendanceMode.REMOTE).replied
    assert [m.recipient for m in outbox(database)].count("sam.example@example.org") == 0


def test_same_answer_twice_changes_nothing_and_sends_nothing(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    register(database, services)
    token = token_for(database, services, meeting.id)
    with database.sessions() as s:
        first = record_rsvp_from_link(s, services, token, "remote")
    with database.sessions() as s:
        second = record_rsvp_from_link(s, services, token, "remote")
    assert first.changed and not second.changed
    assert [m.kind for m in outbox(database)] == ["registration_reply", "rsvp_confirmation"]


def test_every_change_is_emailed_to_the_owner(database: TestDatabase, services: Services) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    register(database, services)
    token = token_for(database, services, meeting.id)
    for choice in ("in-person", "decline", "remote"):
        with database.sessions() as s:
            record_rsvp_from_link(s, services, token, choice)
    confirmations = [m for m in outbox(database) if m.kind == "rsvp_confirmation"]
    assert len(confirmations) == 3
    assert all(m.recipient == "sam.example@example.org" for m in confirmations)
    assert "can't attend" in confirmations[1].body_text


def test_deadline_passed_is_refused_clearly(database: TestDatabase, services: Services) -> None:
    make_list(database.sessions)
    meeting = make_meeting(
        database.sessions, starts_in=timedelta(days=1), deadline_before=timedelta(days=2)
    )
    with database.sessions() as s, pytest.raises(RsvpClosed, match="deadline"):
        record_rsvp(
            s,
            services,
            meeting_id=meeting.id,
            email="sam@example.org",
            response=RsvpResponse.ATTENDING,
            mode=None,
            source="panel",
        )
    result = register(database, services)
    assert result.rsvp is None and "deadline" in result.summary
    assert outbox(database)[-1].kind == "rsvp_refused"


def test_mode_must_fit_the_meeting_format(database: TestDatabase, services: Services) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, format="remote")
    with database.sessions() as s, pytest.raises(InvalidChoice):
        record_rsvp(
            s,
            services,
            meeting_id=meeting.id,
            email="sam@example.org",
            response=RsvpResponse.ATTENDING,
            mode=AttendanceMode.IN_PERSON,
            source="panel",
        )


def test_link_get_changes_nothing_and_shows_no_personal_data(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    register(database, services)
    before = len(outbox(database))
    with database.sessions() as s:
        page = rsvp_page(s, services, token_for(database, services, meeting.id), "decline")
    # Nothing of the person: not their name, their answer or their access needs.
    assert not {"first_name", "current", "has_access_needs"} & set(vars(page))
    # The page is given the meeting's title and time only: a template cannot show the venue or
    # dial-in.
    assert page.meeting.title == meeting.title and page.meeting.starts_at == meeting.starts_at
    assert not hasattr(page.meeting, "venue") and not hasattr(page.meeting, "dial_in")
    assert len(outbox(database)) == before
    with database.sessions() as s:
        assert s.scalars(select(Rsvp)).one().response is RsvpResponse.ATTENDING


def test_revoked_and_expired_links(database: TestDatabase, services: Services) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    register(database, services)
    token = token_for(database, services, meeting.id)
    with database.sessions() as s, s.begin():
        s.scalars(select(Person)).one().link_version += 1
    with database.sessions() as s, pytest.raises(InvalidLink, match="no longer works"):
        record_rsvp_from_link(s, services, token, "remote")
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    with database.sessions() as s, pytest.raises(InvalidLink):
        rsvp_page(s, services, tampered, "remote")
    with database.sessions() as s, pytest.raises(InvalidLink):
        rsvp_page(s, services, token_for(database, services, meeting.id), "maybe")


def test_links_expire_when_the_meeting_is_over(database: TestDatabase, services: Services) -> None:
    make_list(database.sessions)
    past = make_meeting(database.sessions, starts_in=timedelta(days=-2), deadline_before=None)
    with database.sessions() as s, s.begin():
        s.add(Person(email="sam@example.org"))
    with database.sessions() as s, pytest.raises(ExpiredLink):
        rsvp_page(s, services, token_for(database, services, past.id), "remote")


def test_the_reply_to_a_registration_for_a_full_meeting_says_waiting_list_only(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, capacity=1)
    answer(database, services, meeting.id, "first@example.org")
    result = register(database, services, AttendanceMode.IN_PERSON)
    assert result.rsvp is not None and result.rsvp.waitlisted
    [reply] = [m for m in outbox(database) if m.kind == "registration_reply"]
    for text in (reply.body_text, reply.body_html):
        assert "waiting list" in text
        assert "registered for" not in text and "will be emailed" not in text
        assert "Room 1.01" not in text


def test_the_reply_to_a_registration_without_a_mode_promises_no_details_yet(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    make_meeting(database.sessions)
    register(database, services, None)
    [reply] = [m for m in outbox(database) if m.kind == "registration_reply"]
    assert "Please tell us how you will attend" in reply.body_text
    assert "Choose with the links above, and we will send you yours." in reply.body_text
    assert "Choose with the buttons above" in reply.body_html


def test_without_a_mode_and_with_the_places_taken_nobody_is_promised_a_venue(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, capacity=1)
    answer(database, services, meeting.id, "first@example.org")
    register(database, services, None)
    [reply] = [m for m in outbox(database) if m.kind == "registration_reply"]
    for text in (reply.body_text, reply.body_html):
        assert "The in-person places are all taken" in text
        assert "choose in person to go on the waiting list" in text
        assert "we will send you yours" not in text


def calendar_of(message: OutboxMessage) -> tuple[int, str]:
    """The SEQUENCE and the attendee's PARTSTAT of the calendar an email carries."""
    from icalendar import Calendar

    assert message.body_calendar, f"{message.kind} carries no calendar"
    event = Calendar.from_ical(message.body_calendar).walk("VEVENT")[0]
    return int(event["SEQUENCE"]), str(event["ATTENDEE"].params["PARTSTAT"])


def test_saying_yes_again_after_a_change_one_was_not_told_of_brings_todays_calendar(
    database: TestDatabase, services: Services
) -> None:
    """Dave declines; the meeting moves (decliners are not told); he says yes again: his email
    carries the entry as it is now, or his calendar keeps the old day."""
    from mailer.domain.schedules import update_meeting

    make_list(database.sessions)
    meeting = make_meeting(database.sessions, capacity=1)

    answer(database, services, meeting.id, "dave@example.org", RsvpResponse.DECLINED, None)
    with database.sessions() as s:
        update_meeting(
            s,
            services,
            meeting.id,
            starts_at=meeting.starts_at + timedelta(days=1),
            ends_at=meeting.ends_at + timedelta(days=1),
            actor="test",
        )
    assert all(
        m.recipient != "dave@example.org" for m in outbox(database) if m.kind == "meeting_updated"
    )
    answer(
        database,
        services,
        meeting.id,
        "dave@example.org",
        RsvpResponse.ATTENDING,
        AttendanceMode.IN_PERSON,
    )
    answer(
        database,
        services,
        meeting.id,
        "erin@example.org",
        RsvpResponse.ATTENDING,
        AttendanceMode.IN_PERSON,
    )  # waits
    answer(
        database, services, meeting.id, "dave@example.org", RsvpResponse.DECLINED, None
    )  # erin is given the place
    sent = outbox(database)
    [dave_yes] = [
        m for m in sent if m.recipient == "dave@example.org" and m.subject.startswith("Your place")
    ]
    assert calendar_of(dave_yes) == (1, "ACCEPTED")
    [waiting] = [
        m for m in sent if m.recipient == "erin@example.org" and m.kind == "rsvp_confirmation"
    ]
    assert calendar_of(waiting) == (1, "TENTATIVE")
    [promoted] = [m for m in sent if m.kind == "waitlist_promoted"]
    assert calendar_of(promoted) == (1, "ACCEPTED")
    noes = [m for m in sent if m.recipient == "dave@example.org" and m.subject.startswith("Can't")]
    # The first no adds no entry to a calendar that had none; the second marks his declined.
    assert len(noes) == 2 and noes[0].body_calendar is None
    assert calendar_of(noes[1]) == (1, "DECLINED")
    # And a yes by link says where the details will be.
    assert "The venue will be emailed to you before the meeting." in dave_yes.body_text


def test_links_offer_only_a_change_of_answer(database: TestDatabase, services: Services) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, capacity=1)
    for email in ("ana@example.org", "bo@example.org"):
        answer(database, services, meeting.id, email)
    sent = {m.recipient: m for m in outbox(database) if m.kind == "rsvp_confirmation"}
    ana, bo = sent["ana@example.org"], sent["bo@example.org"]  # a place; the waiting list
    assert "Attend in person" not in ana.body_text and "Attend in person" not in ana.body_html
    assert "Join remotely instead:" in ana.body_text and "Can't attend after all:" in ana.body_text
    assert "Attend in person" not in bo.body_text
    assert "Can't attend (off the waiting list):" in bo.body_text


def test_a_remote_delegate_is_told_what_asking_for_a_full_in_person_place_does(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, capacity=1)
    answer(database, services, meeting.id, "ana@example.org")  # the one place
    answer(database, services, meeting.id, "erin@example.org", mode=AttendanceMode.REMOTE)
    [erin] = [m for m in outbox(database) if m.recipient == "erin@example.org"]
    assert (
        "Attend in person instead (the places are all taken: you would go on the waiting list, "
        "no longer joining remotely):" in erin.body_text
    )
    assert "no longer joining remotely" in erin.body_html
