"""An organiser's hand on the waiting list: order, a place given or held until a reply-by time,
someone taken off; each person told, and places never handed out twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from mailer.domain.errors import InvalidInput
from mailer.domain.meetings import attendee_report
from mailer.domain.models import (
    AttendanceMode,
    Meeting,
    MeetingStatus,
    OutboxMessage,
    Rsvp,
    RsvpResponse,
    utcnow,
)
from mailer.domain.services import Services
from mailer.domain.waitlist import (
    give_place,
    lapse_offers,
    move_in_line,
    offer_place,
    place_for_one_plan,
    take_off_waiting_list,
    waiting_list,
)
from tests.support.databases import TestDatabase
from tests.support.factories import answer, make_list, make_meeting

PAT, JO, SAM, ALEX = "pat@example.org", "jo@example.org", "sam@example.org", "alex@example.org"


@pytest.fixture
def full(database: TestDatabase, services: Services) -> Meeting:
    """One place, held by Pat; Jo, then Sam, then Alex waiting."""
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, capacity=1)
    for email in (PAT, JO, SAM, ALEX):
        answer(database, services, meeting.id, email)
    return meeting


def line(database: TestDatabase, meeting_id: int) -> list[str]:
    with database.sessions() as s:
        return [p.email for p in waiting_list(s, meeting_id)]


def person_id(database: TestDatabase, email: str) -> int:
    from mailer.domain.models import Person

    with database.sessions() as s:
        return s.scalars(select(Person.id).where(Person.email == email)).one()


def mail_to(database: TestDatabase, email: str) -> list[OutboxMessage]:
    with database.sessions() as s:
        return list(
            s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.recipient == email)
                .order_by(OutboxMessage.id)
            )
        )


def in_person(database: TestDatabase, meeting_id: int) -> list[str]:
    with database.sessions() as s:
        report = attendee_report(s, meeting_id)
    return sorted(
        a.email for a in report.attendees if a.mode is AttendanceMode.IN_PERSON and not a.waitlisted
    )


def capacity(database: TestDatabase, meeting_id: int) -> int | None:
    with database.sessions() as s:
        return s.get_one(Meeting, meeting_id).capacity


def test_moving_up_and_down_changes_places_in_line_even_among_equal_times(
    database: TestDatabase, services: Services, full: Meeting
) -> None:
    with database.sessions() as s, s.begin():  # three who asked in the same instant
        s.execute(
            update(Rsvp)
            .where(Rsvp.waitlisted_at.is_not(None))
            .values(waitlisted_at=utcnow() - timedelta(hours=1))
        )
    before = line(database, full.id)
    assert before == sorted(before, key=[JO, SAM, ALEX].index)  # then in line by who came first
    with database.sessions() as s:
        assert (
            move_in_line(s, services, full.id, person_id(database, ALEX), up=True, actor="test")
            == 2
        )
    assert line(database, full.id) == [JO, ALEX, SAM]
    moved = mail_to(database, SAM)[-1]  # Sam went back a place, and is told the new number
    assert moved.kind == "waitlist_moved" and "you are now number 3 in line" in moved.body_text
    assert mail_to(database, ALEX)[-1].kind != "waitlist_moved"  # good news needs no email
    with database.sessions() as s:
        assert (
            move_in_line(s, services, full.id, person_id(database, JO), up=False, actor="test") == 2
        )
    assert line(database, full.id) == [ALEX, JO, SAM]
    with database.sessions() as s, pytest.raises(InvalidInput, match="already first"):
        move_in_line(s, services, full.id, person_id(database, ALEX), up=True, actor="test")
    with database.sessions() as s, pytest.raises(InvalidInput, match="already last"):
        move_in_line(s, services, full.id, person_id(database, SAM), up=False, actor="test")


def test_the_first_in_line_after_a_move_is_the_one_a_free_place_goes_to(
    database: TestDatabase, services: Services, full: Meeting
) -> None:
    with database.sessions() as s:
        move_in_line(s, services, full.id, person_id(database, SAM), up=True, actor="test")
    answer(database, services, full.id, PAT, RsvpResponse.DECLINED, None)
    assert in_person(database, full.id) == [SAM]
    assert line(database, full.id) == [JO, ALEX]


def test_giving_a_place_adds_one_when_none_is_free_and_tells_the_person(
    database: TestDatabase, services: Services, full: Meeting
) -> None:
    with database.sessions() as s:
        plan = place_for_one_plan(s, full.id, person_id(database, SAM))
    assert (plan.capacity, plan.capacity_after) == (1, 2)
    with database.sessions() as s:
        assert give_place(s, services, full.id, person_id(database, SAM), actor="test") == 2
    assert in_person(database, full.id) == [PAT, SAM]
    assert line(database, full.id) == [JO, ALEX]
    assert capacity(database, full.id) == 2
    assert mail_to(database, SAM)[-1].kind == "waitlist_promoted"


def test_a_held_place_is_taken_by_nobody_else_and_is_theirs_to_accept(
    database: TestDatabase, services: Services, full: Meeting
) -> None:
    reply_by = utcnow() + timedelta(days=3)
    with database.sessions() as s:
        offer_place(s, services, full.id, person_id(database, SAM), reply_by=reply_by, actor="t")
    assert capacity(database, full.id) == 2
    offer = mail_to(database, SAM)[-1]
    assert offer.kind == "waitlist_offer"
    assert "held for you until" in offer.body_text and "Attend in person" in offer.body_text
    with database.sessions() as s:
        held = waiting_list(s, full.id)
    assert [(p.email, p.offered_until is not None) for p in held] == [
        (JO, False),
        (SAM, True),
        (ALEX, False),
    ]
    # A held place is not a free one, wherever places are counted.
    from mailer.domain.meetings import meeting_figures

    with database.sessions() as s:
        assert meeting_figures(s, full.id).places_left == 0
        assert attendee_report(s, full.id).held == 1
    # Someone else's answer cannot take the held place...
    answer(database, services, full.id, "new@example.org")
    assert in_person(database, full.id) == [PAT]
    # ...and the person it is held for takes it with their in-person answer.
    answer(database, services, full.id, SAM)
    assert in_person(database, full.id) == [PAT, SAM]
    assert line(database, full.id) == [JO, ALEX, "new@example.org"]
    with database.sessions() as s:
        assert lapse_offers(s, services, now=reply_by + timedelta(minutes=1)) == []


def test_an_offer_not_taken_up_in_time_passes_to_the_next_in_line(
    database: TestDatabase, services: Services, full: Meeting
) -> None:
    reply_by = utcnow() + timedelta(days=3)
    with database.sessions() as s:
        offer_place(s, services, full.id, person_id(database, SAM), reply_by=reply_by, actor="t")
    with database.sessions() as s:
        assert lapse_offers(s, services, now=reply_by - timedelta(minutes=1)) == []
    with database.sessions() as s:
        assert len(lapse_offers(s, services, now=reply_by + timedelta(minutes=1))) == 1
    assert in_person(database, full.id) == [JO, PAT]
    assert line(database, full.id) == [ALEX]
    told = mail_to(database, SAM)[-1]
    assert told.kind == "waitlist_removed"
    assert "has gone to the next person waiting" in told.body_text
    assert "no longer on the waiting list" in told.body_text
    assert mail_to(database, JO)[-1].kind == "waitlist_promoted"


def test_declining_a_held_place_passes_it_on_at_once(
    database: TestDatabase, services: Services, full: Meeting
) -> None:
    with database.sessions() as s:
        offer_place(
            s,
            services,
            full.id,
            person_id(database, SAM),
            reply_by=utcnow() + timedelta(days=1),
            actor="t",
        )
    answer(database, services, full.id, SAM, RsvpResponse.DECLINED, None)
    assert in_person(database, full.id) == [JO, PAT]
    assert line(database, full.id) == [ALEX]


def test_an_offer_must_leave_time_to_reply_before_replies_close(
    database: TestDatabase, services: Services, full: Meeting
) -> None:
    sam = person_id(database, SAM)
    with database.sessions() as s, pytest.raises(InvalidInput, match="at least an hour") as e:
        offer_place(s, services, full.id, sam, reply_by=utcnow() + timedelta(minutes=5), actor="t")
    assert e.value.field == "reply_by"
    assert full.rsvp_deadline is not None
    with database.sessions() as s, pytest.raises(InvalidInput, match="before replies close"):
        offer_place(
            s, services, full.id, sam, reply_by=full.rsvp_deadline + timedelta(hours=1), actor="t"
        )
    assert capacity(database, full.id) == 1 and mail_to(database, SAM)[-1].kind != "waitlist_offer"


def test_taking_someone_off_the_waiting_list_withdraws_their_answer_and_tells_them(
    database: TestDatabase, services: Services, full: Meeting
) -> None:
    with database.sessions() as s:
        take_off_waiting_list(s, services, full.id, person_id(database, JO), actor="test")
    assert line(database, full.id) == [SAM, ALEX]
    assert in_person(database, full.id) == [PAT]
    told = mail_to(database, JO)[-1]
    assert told.kind == "waitlist_removed" and "taken you off the waiting list" in told.body_text
    with database.sessions() as s:
        assert s.scalar(select(Rsvp).where(Rsvp.person_id == person_id(database, JO))) is None
    # They may ask again, and join the end of the line.
    answer(database, services, full.id, JO)
    assert line(database, full.id) == [SAM, ALEX, JO]


def test_a_held_place_of_a_cancelled_meeting_lapses_without_a_word(
    database: TestDatabase, services: Services, full: Meeting
) -> None:
    reply_by = utcnow() + timedelta(days=1)
    with database.sessions() as s:
        offer_place(s, services, full.id, person_id(database, SAM), reply_by=reply_by, actor="t")
    with database.sessions() as s, s.begin():
        s.execute(
            update(Meeting).where(Meeting.id == full.id).values(status=MeetingStatus.CANCELLED)
        )
    with database.sessions() as s:
        assert lapse_offers(s, services, now=reply_by + timedelta(minutes=1)) == []
        assert s.scalars(select(Rsvp.offered_until)).all() == [None] * 4
    assert mail_to(database, SAM)[-1].kind == "waitlist_offer"


def test_replies_cannot_close_before_a_held_place_can_be_taken(
    database: TestDatabase, services: Services, full: Meeting
) -> None:
    from mailer.domain.rsvp import change_places

    reply_by = utcnow() + timedelta(days=3)
    sam = person_id(database, SAM)
    with database.sessions() as s:
        offer_place(s, services, full.id, sam, reply_by=reply_by, actor="t")
    with database.sessions() as s, pytest.raises(InvalidInput, match="replies cannot close") as e:
        change_places(
            s,
            services,
            full.id,
            capacity=2,
            rsvp_deadline=reply_by - timedelta(hours=1),
            actor="t",
        )
    assert e.value.field == "rsvp_deadline"
    # Giving the place to the one it is held for uses that place: none is added.
    with database.sessions() as s:
        plan = place_for_one_plan(s, full.id, sam)
    assert plan.capacity == plan.capacity_after == 2
    with database.sessions() as s:
        assert give_place(s, services, full.id, sam, actor="t") == 2


def test_replying_yes_to_the_email_takes_the_held_place(
    database: TestDatabase, services: Services, full: Meeting
) -> None:
    from mailer.domain.queue import store_inbound
    from mailer.inbound.process import process_inbound

    with database.sessions() as s:
        offer_place(
            s,
            services,
            full.id,
            person_id(database, SAM),
            reply_by=utcnow() + timedelta(days=2),
            actor="t",
        )
    offer = mail_to(database, SAM)[-1]
    raw = (
        f"From: {SAM}\r\nTo: forum@lists.test\r\nSubject: Re: {offer.subject}\r\n"
        f"Message-ID: <yes@example.org>\r\nIn-Reply-To: {offer.message_id}\r\n\r\n"
        "Yes please, I'll take it!\r\n"
    ).encode()
    with database.sessions() as s:
        inbound_id = store_inbound(s, mail_from=SAM, rcpt_to=["forum@lists.test"], raw=raw)
    process_inbound(database.sessions, services, inbound_id)
    assert in_person(database, full.id) == [PAT, SAM]


def test_a_held_place_can_be_held_longer_but_not_shorter(
    database: TestDatabase, services: Services, full: Meeting
) -> None:
    sam = person_id(database, SAM)
    first = utcnow() + timedelta(days=1)
    with database.sessions() as s:
        offer_place(s, services, full.id, sam, reply_by=first, actor="t")
    with database.sessions() as s, pytest.raises(InvalidInput, match="choose a later time"):
        offer_place(s, services, full.id, sam, reply_by=first - timedelta(hours=2), actor="t")
    with database.sessions() as s:
        assert (
            offer_place(s, services, full.id, sam, reply_by=first + timedelta(days=1), actor="t")
            == 2
        )
    with database.sessions() as s:
        [held] = [p for p in waiting_list(s, full.id) if p.offered_until is not None]
    assert held.email == SAM and held.offered_until > first
    assert [m.kind for m in mail_to(database, SAM)].count("waitlist_offer") == 2
