"""One member's whole journey through a full meeting, over real SMTP and HTTP: "please register
me" onto the waiting list, a place coming free, the agenda, a change of venue, the reminder and
the cancellation. Every email they get says their state in plain words, has an HTML part and a
plain-text part written as text, and says its links are personal only when it has some; every
page their links open shows nothing of them."""

from __future__ import annotations

import re
import smtplib
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from mailer.domain.lists import add_member
from mailer.domain.models import AttendanceMode, Meeting, RsvpResponse
from mailer.domain.rsvp import record_rsvp
from mailer.domain.schedules import (
    cancel_meeting,
    send_agenda_now,
    send_due_schedules,
    set_agenda,
    update_meeting,
)
from mailer.domain.services import build_services
from mailer.runtime import Runtime
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting
from tests.support.http import HttpClient
from tests.support.net import wait_for
from tests.support.proof import dmarc_pass
from tests.support.servers import Received, RunningService, SmtpSink

JO = "jo.bloggs@dept.example.org"
VENUE = "Room 1.01, 1 Example Street, London"
NEW_VENUE = "Room 2.02\n2 Other Street\nLondon"
DIAL_IN = "https://meet.invalid/secret-room"
LINKS_SENTENCE = "The links above are personal to you but contain no personal details."


def check_written_for_both_parts(mail: Received, base_url: str) -> str:
    """The checks every email to a member passes; returns its text."""
    message = mail.message
    assert mail.rcpt_tos == [JO]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert message.get_content_type() in ("multipart/alternative", "multipart/mixed")
    assert "**" not in text and "](" not in text  # no raw Markdown in the plain text
    assert html.lstrip().startswith("<!doctype html>")
    has_links = re.search(re.escape(base_url) + r"/(?!privacy)\S+", text.split("\n--\n")[0])
    assert (LINKS_SENTENCE in text) == bool(has_links), message["Subject"]
    assert "links above" not in html or 'href="' + base_url + "/r" in html
    assert "(s)" not in text
    return text


def test_one_member_from_please_register_me_to_the_cancellation(
    database: TestDatabase, tmp_path: Path
) -> None:
    with SmtpSink() as sink:
        config = make_test_config(tmp_path, database.url, delivery=sink.smarthost_settings())
        services = build_services(config)
        base_url = config.service.base_url
        runtime = Runtime(config, database.engine, database.sessions, services)
        make_list(database.sessions)
        meeting = make_meeting(
            database.sessions,
            title="Leaders of Networks Forum",
            starts_in=timedelta(days=5),
            capacity=1,
            location="London and online",
        )
        day = meeting.starts_at.date().isoformat()
        with database.sessions() as s:  # at 2pm, so "the day before" is never in doubt
            update_meeting(
                s,
                services,
                meeting.id,
                starts_at=f"{day} 14:00",
                ends_at=f"{day} 16:00",
                actor="test",
            )
            set_agenda(
                s,
                meeting.id,
                agenda="1. Welcome\n2. **Pronouns at work**",
                days_before=2,
                actor="test",
            )
            add_member(s, slug="forum", email=JO, display_name="Jo Bloggs", actor="test")
            add_member(s, slug="forum", email="pat@dept.example.org", actor="test")
            record_rsvp(
                s,
                services,
                meeting_id=meeting.id,
                email="pat@dept.example.org",
                response=RsvpResponse.ATTENDING,
                mode=AttendanceMode.IN_PERSON,
                source="panel",
            )
        seen = 0

        def next_mail() -> Received:
            """The next email to Jo (Pat's own confirmations go by)."""
            nonlocal seen
            seen += 1
            wait_for(lambda: len(to_jo()) >= seen, message=f"email {seen} to Jo")
            return to_jo()[seen - 1]

        def to_jo() -> list[Received]:
            return [mail for mail in sink.received if mail.rcpt_tos == [JO]]

        with RunningService(runtime):
            # 1. Jo asks by email; the only place is taken, so the waiting list, said as such.
            with smtplib.SMTP(config.inbound.host, config.inbound.port, timeout=10) as client:
                client.sendmail(
                    JO,
                    ["forum@lists.test"],
                    (
                        dmarc_pass(JO) + f"From: Jo Bloggs <{JO}>\r\nTo: forum@lists.test\r\n"
                        "Subject: Forum\r\nMessage-ID: <jo-1@dept.example.org>\r\n\r\n"
                        "Please register me, in person.\r\n"
                    ).encode(),
                )
            reply = next_mail()
            text = check_written_for_both_parts(reply, base_url)
            assert reply.message["Subject"] == "Re: Forum"  # in the thread Jo started
            assert "on the waiting list" in text and "you are registered" not in text.lower()
            assert "will be emailed to you" not in text and VENUE not in text
            # Waiting already for a place in person, Jo is offered only a change of answer.
            assert "/in-person" not in text and "off the waiting list" in text
            remote_link = re.search(r"(http://\S+/remote)\s", text).group(1)

            # 2. The link, opened by anyone it was forwarded to, shows nothing of Jo.
            page = HttpClient(base_url).get(remote_link)
            assert page.status == 200 and "Leaders of Networks Forum" in page.body
            for private in ("Jo Bloggs", "Hello Jo", JO, "waiting list", "Your current answer"):
                assert private not in page.body

            # 3. Pat can't come: the place is Jo's.
            with database.sessions() as s:
                record_rsvp(
                    s,
                    services,
                    meeting_id=meeting.id,
                    email="pat@dept.example.org",
                    response=RsvpResponse.DECLINED,
                    mode=None,
                    source="panel",
                )
            promoted = next_mail()
            text = check_written_for_both_parts(promoted, base_url)
            assert promoted.message["Subject"] == "A place is yours: Leaders of Networks Forum"
            assert "you now have an in-person place" in text and VENUE not in text

            # 4. The agenda: Jo's venue, never the joining details; the agenda as text.
            with database.sessions() as s:
                assert send_agenda_now(s, services, meeting.id, actor="test") == 1
            agenda = next_mail()
            text = check_written_for_both_parts(agenda, base_url)
            assert VENUE in text and DIAL_IN not in agenda.message.as_string()
            assert "2. Pronouns at work" in text
            html = agenda.message.get_body(preferencelist=("html",)).get_content()
            assert "<strong>Pronouns at work</strong>" in html

            # 5. The venue moves: Jo is told, with its lines kept in the HTML.
            with database.sessions() as s:
                assert update_meeting(s, services, meeting.id, venue=NEW_VENUE, actor="test") == 1
            updated = next_mail()
            text = check_written_for_both_parts(updated, base_url)
            assert (
                "The venue of Leaders of Networks Forum has changed." in text
                and "2 Other Street" in text
            )
            html = updated.message.get_body(preferencelist=("html",)).get_content()
            assert "Room 2.02<br>" in html and "London and online." in text

            # 6. The reminder, the day before, still with Jo's venue.
            with database.sessions() as s:
                starts = s.scalars(select(Meeting.starts_at)).one()
            with database.sessions() as s:
                done = send_due_schedules(s, services, now=starts - timedelta(hours=20))
            assert done == [f"meeting_reminder for meeting {meeting.id} to 1 delegate"]
            reminder = next_mail()
            text = check_written_for_both_parts(reminder, base_url)
            assert reminder.message["Subject"] == "Tomorrow: Leaders of Networks Forum"
            assert "2 Other Street" in text

            # 7. Cancelled: told, with no links, so no word of links above.
            with database.sessions() as s:
                # Jo, and Pat, whose calendar kept the entry (marked declined) when Pat said no
                assert cancel_meeting(s, services, meeting.id, actor="test", reason="Strikes") == 2
            cancelled = next_mail()
            text = check_written_for_both_parts(cancelled, base_url)
            assert "has been cancelled" in text and "Strikes" in text
            assert LINKS_SENTENCE not in text
