"""Over real SMTP: an answer is applied to the meeting it is about. A reply to the second
meeting's invitation is about that meeting, a fresh message is about the meeting it names, and a
fresh message naming none of two open meetings changes nothing and asks back with links for each.
"""

from __future__ import annotations

import smtplib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailer.domain.invitations import send_invitations
from mailer.domain.lists import add_member
from mailer.domain.models import (
    AttendanceMode,
    InboundMessage,
    InboundStatus,
    Meeting,
    OutboxMessage,
    Person,
    Rsvp,
    RsvpResponse,
)
from mailer.domain.services import build_services
from mailer.runtime import Runtime
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting
from tests.support.net import wait_for
from tests.support.proof import dmarc_pass
from tests.support.servers import RunningService

MEMBERS = ["ash@example.org", "bo@example.org", "cy@example.org", "di@example.org"]


@pytest.fixture
def two_meetings(database: TestDatabase, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A list with a March and a June meeting, both invited; the running service."""
    config = make_test_config(tmp_path, database.url)
    make_list(database.sessions)
    march = make_meeting(database.sessions, title="Leaders of Networks Forum – March")
    june = make_meeting(
        database.sessions,
        title="Leaders of Networks Forum – June",
        starts_in=timedelta(days=105),
    )
    services = build_services(config)
    with database.sessions() as s:
        for email in MEMBERS:
            add_member(s, slug="forum", email=email, actor="test")
        for meeting in (march, june):
            send_invitations(s, services, meeting.id, actor="test")
    runtime = Runtime(config, database.engine, database.sessions, services)
    with RunningService(runtime, web=False):
        yield config, march, june


def _invitation_to(database: TestDatabase, email: str, meeting: Meeting) -> str:
    with database.sessions() as s:
        return s.scalar(
            select(OutboxMessage.message_id).where(
                OutboxMessage.recipient == email,
                OutboxMessage.kind == "invitation",
                OutboxMessage.meeting_id == meeting.id,
            )
        )


def _send(config, sender: str, body: str, *, subject: str = "Forum", answers: str = "") -> None:  # type: ignore[no-untyped-def]
    threading = f"In-Reply-To: {answers}\r\nReferences: {answers}\r\n" if answers else ""
    proof = "" if answers else dmarc_pass(sender)  # a reply to one's own invitation proves itself
    raw = (
        f"{proof}From: {sender}\r\nTo: forum@lists.test\r\nSubject: {subject}\r\n"
        f"Message-ID: <{abs(hash((sender, body)))}@example.org>\r\n{threading}\r\n{body}\r\n"
    )
    with smtplib.SMTP(config.inbound.host, config.inbound.port, timeout=10) as client:
        client.sendmail(sender, ["forum@lists.test"], raw.encode())


def _done(database: TestDatabase, sender: str) -> InboundMessage | None:
    with database.sessions() as s:
        row = s.scalar(select(InboundMessage).where(InboundMessage.mail_from == sender))
        return (
            row
            if row is not None
            and row.status in (InboundStatus.DONE, InboundStatus.TRIAGE, InboundStatus.IGNORED)
            else None
        )


def _answers(database: TestDatabase, email: str) -> dict[int, tuple[RsvpResponse, object]]:
    with database.sessions() as s:
        rows = s.execute(
            select(Rsvp.meeting_id, Rsvp.response, Rsvp.mode)
            .join(Person, Person.id == Rsvp.person_id)
            .where(Person.email == email)
        ).all()
    return {row.meeting_id: (row.response, row.mode) for row in rows}


def _replies(database: TestDatabase, email: str) -> list[OutboxMessage]:
    with database.sessions() as s:
        return list(
            s.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.recipient == email, OutboxMessage.in_reply_to.is_not(None)
                )
            )
        )


def test_a_reply_to_the_second_meetings_invitation_applies_to_the_second_meeting(
    database: TestDatabase, two_meetings
) -> None:  # type: ignore[no-untyped-def]
    config, march, june = two_meetings
    invitation = _invitation_to(database, "ash@example.org", june)
    _send(config, "ash@example.org", "Please register me, I'll join remotely.", answers=invitation)
    wait_for(lambda: _done(database, "ash@example.org"), message="the reply handled")
    assert _answers(database, "ash@example.org") == {
        june.id: (RsvpResponse.ATTENDING, AttendanceMode.REMOTE)
    }
    reply = _replies(database, "ash@example.org")
    assert [r.kind for r in reply] == ["registration_reply"] and reply[0].meeting_id == june.id
    assert june.title in (reply[0].body_text or "")
    row = _done(database, "ash@example.org")
    assert row is not None and row.understood is not None
    assert row.understood["answering"] == "invitation"
    assert row.understood["meeting_id"] == june.id


def test_a_fresh_message_naming_no_meeting_changes_nothing_and_asks_which(
    database: TestDatabase, two_meetings
) -> None:  # type: ignore[no-untyped-def]
    config, march, june = two_meetings
    _send(config, "cy@example.org", "Hello, please register me. Thanks")
    wait_for(lambda: _done(database, "cy@example.org"), message="the message handled")
    assert _answers(database, "cy@example.org") == {}
    [asked] = _replies(database, "cy@example.org")
    assert asked.kind == "which_meeting"
    text = asked.body_text or ""
    assert march.title in text and june.title in text
    assert text.count("/rsvp/") == 6  # in person, remotely, can't attend: for each meeting
    row = _done(database, "cy@example.org")
    assert row is not None and row.status is InboundStatus.DONE
    assert "asked which meeting" in row.outcome


def test_a_fresh_message_naming_a_meeting_applies_to_it(
    database: TestDatabase, two_meetings
) -> None:  # type: ignore[no-untyped-def]
    config, march, june = two_meetings
    _send(config, "di@example.org", "I'd like to attend the June forum in person please.")
    wait_for(lambda: _done(database, "di@example.org"), message="the message handled")
    assert _answers(database, "di@example.org") == {
        june.id: (RsvpResponse.ATTENDING, AttendanceMode.IN_PERSON)
    }


def test_with_one_open_meeting_a_fresh_message_needs_no_name(
    database: TestDatabase, tmp_path: Path
) -> None:
    config = make_test_config(tmp_path, database.url)
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    runtime = Runtime(config, database.engine, database.sessions, build_services(config))
    with RunningService(runtime, web=False):
        _send(config, "ed@example.org", "Please register me")
        wait_for(lambda: _done(database, "ed@example.org"), message="the message handled")
    assert _answers(database, "ed@example.org") == {meeting.id: (RsvpResponse.ATTENDING, None)}
    [reply] = _replies(database, "ed@example.org")
    assert "Please tell us how you will attend" in (reply.body_text or "")
    with database.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Rsvp)) == 1


def test_a_reply_that_names_other_meetings_in_its_request_is_about_those(
    database: TestDatabase, two_meetings
) -> None:  # type: ignore[no-untyped-def]
    """Answering the March invitation: "the June one instead" is about June; "both" is asked
    back; a no to June beside a yes is about March."""
    config, march, june = two_meetings
    cases = {
        "ash@example.org": "Please register me for the June one instead.",
        "bo@example.org": "Please register me for both the March and the June forums.",
        "cy@example.org": "Please register me in person. I can't do the June one though.",
    }
    for sender, text in cases.items():
        _send(config, sender, text, answers=_invitation_to(database, sender, march))
    for sender in cases:
        wait_for(lambda s=sender: _done(database, s), message=f"{sender} handled")
    assert _answers(database, "ash@example.org") == {june.id: (RsvpResponse.ATTENDING, None)}
    assert _answers(database, "bo@example.org") == {}
    assert [r.kind for r in _replies(database, "bo@example.org")] == ["which_meeting"]
    assert _answers(database, "cy@example.org") == {
        march.id: (RsvpResponse.ATTENDING, AttendanceMode.IN_PERSON)
    }


def test_a_reply_keeping_our_subject_is_about_the_invitation_not_what_the_subject_names(
    database: TestDatabase, tmp_path: Path
) -> None:
    """Two meetings on the same day: the invitation's subject (its title and date) names both, but
    a reply that keeps it is about the meeting it answers; the subject is our words, not theirs."""
    config = make_test_config(tmp_path, database.url)
    make_list(database.sessions)
    make_meeting(database.sessions, title="[Demo] Leaders of Networks Forum")
    winter = make_meeting(database.sessions, title="Winter Network Meeting")
    services = build_services(config)
    with database.sessions() as s:
        add_member(s, slug="forum", email="ash@example.org", actor="test")
        send_invitations(s, services, winter.id, actor="test")
    with database.sessions() as s:
        subject = s.scalar(select(OutboxMessage.subject).where(OutboxMessage.kind == "invitation"))
    invitation = _invitation_to(database, "ash@example.org", winter)
    runtime = Runtime(config, database.engine, database.sessions, services)
    with RunningService(runtime, web=False):
        _send(
            config,
            "ash@example.org",
            "Please register me, in person.",
            subject=f"RE: {subject}",
            answers=invitation,
        )
        wait_for(lambda: _done(database, "ash@example.org"), message="the reply handled")
    assert _answers(database, "ash@example.org") == {
        winter.id: (RsvpResponse.ATTENDING, AttendanceMode.IN_PERSON)
    }
