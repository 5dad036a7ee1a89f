"""Over real SMTP: what people write in answer to an invitation does what they mean, and nothing
else. A mode change frees the place for the next person waiting; a request about someone else,
a negated request and a "Thanks!" change nothing; a decline that also asks something is
recorded and left for an organiser; a registration without a mode is asked how they will attend.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from mailer.config import Config
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
from mailer.domain.rsvp import record_rsvp
from mailer.domain.services import build_services
from mailer.runtime import Runtime
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting
from tests.support.net import wait_for
from tests.support.servers import RunningService

FINISHED = (InboundStatus.DONE, InboundStatus.TRIAGE, InboundStatus.IGNORED)


@dataclass
class Forum:
    database: TestDatabase
    config: Config
    meeting: Meeting
    sent: int = 0

    def invitation_to(self, email: str) -> OutboxMessage:
        with self.database.sessions() as s:
            row = s.scalar(
                select(OutboxMessage).where(
                    OutboxMessage.recipient == email, OutboxMessage.kind == "invitation"
                )
            )
            assert row is not None
            return row

    def reply(
        self, email: str, text: str, *, quote_invitation: str = "", subject: str = ""
    ) -> InboundMessage:
        """``email`` answers their invitation with ``text`` (above a quote of it, introduced by
        ``quote_invitation``), and the worker handles it."""
        invitation = self.invitation_to(email)
        quoted = ""
        if quote_invitation:
            quoted = f"\r\n\r\n{quote_invitation}\r\n" + "\r\n".join(
                (invitation.body_text or "").splitlines()
            )
        self.sent += 1
        raw = (
            f"From: {email}\r\nTo: forum@lists.test\r\n"
            f"Subject: {subject or 'Re: ' + (invitation.subject or '')}\r\n"
            f"Message-ID: <answer-{self.sent}@example.org>\r\n"
            f"In-Reply-To: {invitation.message_id}\r\nReferences: {invitation.message_id}\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}{quoted}\r\n"
        )
        with smtplib.SMTP(self.config.inbound.host, self.config.inbound.port, timeout=10) as c:
            c.sendmail(email, ["forum@lists.test"], raw.encode())
        message_id = f"<answer-{self.sent}@example.org>"

        def handled() -> InboundMessage | None:
            with self.database.sessions() as s:
                row = s.scalar(
                    select(InboundMessage).where(InboundMessage.message_id == message_id)
                )
                return row if row is not None and row.status in FINISHED else None

        row = wait_for(handled, message=f"{message_id} handled")
        assert row is not None
        return row

    def answer_of(self, email: str) -> tuple[RsvpResponse, AttendanceMode | None, bool] | None:
        with self.database.sessions() as s:
            row = s.execute(
                select(Rsvp.response, Rsvp.mode, Rsvp.waitlisted_at)
                .join(Person, Person.id == Rsvp.person_id)
                .where(Person.email == email, Rsvp.meeting_id == self.meeting.id)
            ).first()
        return (row.response, row.mode, row.waitlisted_at is not None) if row else None

    def replies_to(self, email: str) -> list[OutboxMessage]:
        with self.database.sessions() as s:
            return list(
                s.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.recipient == email, OutboxMessage.in_reply_to.is_not(None))
                    .order_by(OutboxMessage.id)
                )
            )


MEMBERS = [f"{name}@example.org" for name in ("al", "bo", "cy", "di", "ed", "fi", "gus")]


@pytest.fixture
def forum(database: TestDatabase, tmp_path: Path) -> Iterator[Forum]:
    config = make_test_config(tmp_path, database.url)
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, title="Leaders of Networks Forum", capacity=1)
    services = build_services(config)
    with database.sessions() as s:
        for email in MEMBERS:
            add_member(s, slug="forum", email=email, actor="test")
        send_invitations(s, services, meeting.id, actor="test")
    runtime = Runtime(config, database.engine, database.sessions, services)
    with RunningService(runtime, web=False):
        yield Forum(database, config, meeting)


def test_a_change_from_in_person_to_remote_frees_the_place_for_the_next_person_waiting(
    forum: Forum,
) -> None:
    services = build_services(forum.config)
    for email in ("al@example.org", "bo@example.org"):
        with forum.database.sessions() as s:
            record_rsvp(
                s,
                services,
                meeting_id=forum.meeting.id,
                email=email,
                response=RsvpResponse.ATTENDING,
                mode=AttendanceMode.IN_PERSON,
                source="link",
            )
    assert forum.answer_of("bo@example.org") == (
        RsvpResponse.ATTENDING,
        AttendanceMode.IN_PERSON,
        True,
    )
    forum.reply("al@example.org", "Could you switch me from in person to remote please?")
    assert forum.answer_of("al@example.org") == (
        RsvpResponse.ATTENDING,
        AttendanceMode.REMOTE,
        False,
    )
    assert forum.answer_of("bo@example.org") == (
        RsvpResponse.ATTENDING,
        AttendanceMode.IN_PERSON,
        False,
    )
    with forum.database.sessions() as s:
        kinds = s.scalars(
            select(OutboxMessage.kind).where(OutboxMessage.recipient == "bo@example.org")
        ).all()
    assert "waitlist_promoted" in kinds


@pytest.mark.parametrize(
    "text",
    [
        "Please register my colleague Sam Jones, who will attend in my place.",
        "Please don't register me, I'm only forwarding this to my team.",
        "Thanks!",
    ],
)
def test_requests_about_someone_else_negated_requests_and_thanks_change_nothing(
    forum: Forum, text: str
) -> None:
    row = forum.reply(
        "cy@example.org", text, quote_invitation="From: Forum Team\r\nSent: today\r\n"
    )
    assert forum.answer_of("cy@example.org") is None
    assert row.status is InboundStatus.TRIAGE
    assert "Can't attend" not in row.new_text


def test_a_thanks_above_a_quote_with_an_unknown_header_changes_nothing(forum: Forum) -> None:
    row = forum.reply(
        "di@example.org", "Thanks!", quote_invitation="=== Leaders' office, 4 March ==="
    )
    assert forum.answer_of("di@example.org") is None
    assert row.status is InboundStatus.TRIAGE
    assert row.new_text.strip() == "Thanks!"


def test_a_decline_that_asks_something_is_recorded_and_left_for_an_organiser(
    forum: Forum,
) -> None:
    row = forum.reply(
        "ed@example.org", "Sorry, can't make it. Could you send me the slides afterwards?"
    )
    assert forum.answer_of("ed@example.org") == (RsvpResponse.DECLINED, None, False)
    assert row.status is InboundStatus.TRIAGE
    [reply] = forum.replies_to("ed@example.org")
    assert "passed your message on" in (reply.body_text or "")


def test_a_registration_without_a_mode_is_asked_how_they_will_attend(forum: Forum) -> None:
    forum.reply("fi@example.org", "Yes please")
    assert forum.answer_of("fi@example.org") == (RsvpResponse.ATTENDING, None, False)
    [reply] = forum.replies_to("fi@example.org")
    text = reply.body_text or ""
    assert "Please tell us how you will attend" in text
    assert "/in-person" in text and "/remote" in text


def test_a_reply_is_read_by_its_subject_only_when_the_sender_wrote_it(forum: Forum) -> None:
    """A signature-only reply: "Attending remotely" in the subject registers; our own subject kept
    ("Re: Invitation: …", which may hold request words) is never read as the request."""
    signature = "Gus Fry\r\nCo-Chair, Early Careers Network"
    forum.reply("gus@example.org", signature, subject="Attending remotely")
    assert forum.answer_of("gus@example.org") == (
        RsvpResponse.ATTENDING,
        AttendanceMode.REMOTE,
        False,
    )
    row = forum.reply("cy@example.org", signature)
    assert forum.answer_of("cy@example.org") is None and row.status is InboundStatus.TRIAGE
