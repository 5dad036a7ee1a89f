"""Requests written in plain words to the list address, through the real worker step: a change of
mode changes the registration, a wish to join reaches the join command, and a negated request
changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from mailer.domain.models import (
    AttendanceMode,
    InboundIntent,
    InboundStatus,
    OutboxMessage,
    Person,
    Rsvp,
    RsvpResponse,
    Subscription,
    SubscriptionStatus,
)
from mailer.domain.services import Services
from tests.inbound.test_membership import deliver_in
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting

SENDER = "alex@dept.example.org"


def rsvp_of(database: TestDatabase) -> tuple[RsvpResponse, AttendanceMode | None] | None:
    with database.sessions() as s:
        rsvp = s.scalar(
            select(Rsvp).join(Person, Person.id == Rsvp.person_id).where(Person.email == SENDER)
        )
        return (rsvp.response, rsvp.mode) if rsvp else None


def test_a_change_of_mode_changes_the_registration(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    make_meeting(database.sessions)
    deliver_in(
        database, services, "forum@lists.test", body="Please register me, in person.", proven=True
    )
    assert rsvp_of(database) == (RsvpResponse.ATTENDING, AttendanceMode.IN_PERSON)

    row = deliver_in(
        database,
        services,
        "forum@lists.test",
        body="Could you switch me to Teams please?",
        proven=True,
    )
    assert (row.status, row.intent) == (InboundStatus.DONE, InboundIntent.REGISTER)
    assert rsvp_of(database) == (RsvpResponse.ATTENDING, AttendanceMode.REMOTE)

    deliver_in(
        database, services, "forum@lists.test", body="I'll come in person instead.", proven=True
    )
    assert rsvp_of(database) == (RsvpResponse.ATTENDING, AttendanceMode.IN_PERSON)


def test_asking_in_words_to_join_reaches_the_join_command(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    row = deliver_in(
        database, services, "forum@lists.test", body="Please add me to the mailing list."
    )
    assert (row.status, row.intent) == (InboundStatus.DONE, InboundIntent.JOIN)
    with database.sessions() as s:
        status = s.scalar(
            select(Subscription.status)
            .join(Person, Person.id == Subscription.person_id)
            .where(Person.email == SENDER)
        )
    assert status is SubscriptionStatus.PENDING  # confirmed by the address owner, as ever


def test_a_negated_request_goes_to_an_organiser_and_changes_nothing(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    make_meeting(database.sessions)
    row = deliver_in(database, services, "forum@lists.test", body="Please don't register me.")
    assert (row.status, row.intent) == (InboundStatus.TRIAGE, InboundIntent.UNCLEAR)
    assert rsvp_of(database) is None


def triage_reply(database: TestDatabase) -> str:
    with database.sessions() as s:
        return (
            s.scalars(
                select(OutboxMessage.body_text)
                .where(OutboxMessage.kind == "triage_ack", OutboxMessage.recipient == SENDER)
                .order_by(OutboxMessage.id.desc())
            ).first()
            or ""
        )


def test_a_question_after_thanks_is_a_question_and_a_delegate_is_not_told_to_register(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    make_meeting(database.sessions)
    deliver_in(
        database, services, "forum@lists.test", body="Please register me, in person.", proven=True
    )
    row = deliver_in(
        database, services, "forum@lists.test", body="Thanks. Is there parking at the venue?"
    )
    assert (row.status, row.intent) == (InboundStatus.TRIAGE, InboundIntent.UNCLEAR)
    assert "question only" in row.outcome
    reply = triage_reply(database)
    assert "you asked something that a person needs to answer" in reply
    assert "nothing in it for us to do" not in reply and "please register me" not in reply


def test_only_someone_who_may_want_to_register_is_told_how(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    make_meeting(database.sessions)
    deliver_in(database, services, "forum@lists.test", body="Thanks!")
    thanks = triage_reply(database)
    assert '"please register me"' in thanks  # a thanks, and no answer yet
    assert "will read your message and reply" not in thanks  # nothing to answer: no promise
    assert "you need do nothing more" in thanks
    deliver_in(
        database, services, "forum@lists.test", body="Please don't register me for this one."
    )
    assert '"please register me"' not in triage_reply(database)
