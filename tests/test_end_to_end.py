"""The whole path over real sockets: smtplib → Convene's SMTP → worker → outbound SMTP
to a sink → the link from the received message → Convene's HTTP → GET → POST →
the organiser's attendee list. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select

from mailer.domain.lists import add_member
from mailer.domain.models import AttendanceMode, InboundMessage, InboundStatus, Rsvp, RsvpResponse
from mailer.domain.services import build_services
from mailer.runtime import Runtime
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_list, make_meeting, make_organiser
from tests.support.http import HttpClient
from tests.support.net import wait_for
from tests.support.servers import RunningService, SmtpSink


def outlook_style_request() -> EmailMessage:
    """A reply as Outlook writes it: new text on top, the quoted original below; our MTA saw its
    DMARC pass."""
    msg = EmailMessage()
    msg["Authentication-Results"] = "mx.lists.test; dmarc=pass header.from=dept.example.org"
    msg["From"] = "Alex Example <alex.example@dept.example.org>"
    msg["To"] = "forum@lists.test"
    msg["Subject"] = "RE: Leaders of Networks Forum"
    msg["Message-ID"] = "<request-1@dept.example.org>"
    msg.set_content(
        "Hi,\r\n\r\nPlease register me for the forum, I'll be there in person.\r\n\r\nThanks\r\n"
        "Alex\r\n\r\n"
        "________________________________\r\n"
        "From: Leaders of Networks Forum <forum@lists.test>\r\n"
        "Sent: 02 March 2026 09:00\r\n"
        "Subject: Leaders of Networks Forum\r\n\r\n"
        "If you can't attend, or want to unsubscribe, reply and tell us.\r\n"
    )
    return msg


def test_register_by_email_rsvp_by_link_and_organiser_sees_it(
    database: TestDatabase, tmp_path: Path
) -> None:
    with SmtpSink() as sink:
        config = make_test_config(tmp_path, database.url, delivery=sink.smarthost_settings())
        runtime = Runtime(config, database.engine, database.sessions, build_services(config))
        make_list(database.sessions)
        meeting = make_meeting(database.sessions, title="Leaders of Networks Forum (Spring)")
        make_organiser(database.sessions)
        with database.sessions() as s:
            add_member(s, slug="forum", email="alex.example@dept.example.org", actor="test")

        with RunningService(runtime):
            # 1. A leader on the list emails the forum address.
            with smtplib.SMTP(config.inbound.host, config.inbound.port, timeout=10) as client:
                refused = client.send_message(
                    outlook_style_request(),
                    from_addr="alex.example@dept.example.org",
                    to_addrs=["forum@lists.test"],
                )
            assert refused == {}

            # 2. The worker registers them and replies, threaded, with signed links.
            reply = sink.wait_for_count(1)[0]
            assert reply.rcpt_tos == ["alex.example@dept.example.org"]
            assert reply.message["In-Reply-To"] == "<request-1@dept.example.org>"
            assert reply.message["Subject"] == "RE: Leaders of Networks Forum"
            assert reply.message["Auto-Submitted"] == "auto-replied"
            text = reply.text
            assert "registered for Leaders of Networks Forum (Spring)" in text
            # The quoted "can't attend / unsubscribe" below the new text was not acted on:
            with database.sessions() as s:
                rsvp = s.scalars(select(Rsvp)).one()
                assert (rsvp.response, rsvp.mode, rsvp.source) == (
                    RsvpResponse.ATTENDING,
                    AttendanceMode.IN_PERSON,
                    "email",
                )
                inbound = s.scalars(select(InboundMessage)).one()
                assert inbound.status is InboundStatus.DONE
            remote_link = re.search(r"(http://\S+/remote)\s", text).group(1)
            assert remote_link.startswith(config.service.base_url)
            # Nothing personal in the link itself.
            assert "alex" not in remote_link.lower() and "example.org" not in remote_link

            # 3. GET shows the meeting and one button, and changes nothing.
            member = HttpClient(config.service.base_url)
            page = member.get(remote_link)
            assert page.status == 200
            assert "Leaders of Networks Forum (Spring)" in page.body
            assert "Join remotely" in page.body
            assert "alex.example@dept.example.org" not in page.body
            with database.sessions() as s:
                assert s.scalars(select(Rsvp)).one().mode is AttendanceMode.IN_PERSON

            # 4. POST records the RSVP and sends a confirmation email.
            done = member.post(remote_link, {"csrf_token": member.csrf_token(page.body)})
            assert done.status == 200
            assert "You are joining remotely" in done.body
            with database.sessions() as s:
                rsvp = s.scalars(select(Rsvp)).one()
                assert (rsvp.mode, rsvp.source) == (AttendanceMode.REMOTE, "link")
            confirmation = sink.wait_for_count(2)[1]
            assert confirmation.rcpt_tos == ["alex.example@dept.example.org"]
            assert "joining Leaders of Networks Forum (Spring) remotely" in confirmation.text
            assert "Not you, or changed your mind?" in confirmation.text

            # 5. The organiser logs in and sees the attendee with the counts.
            organiser = HttpClient(config.service.base_url)
            assert organiser.login("organiser@example.org", ORGANISER_PASSWORD).status == 200
            panel = organiser.get(f"/panel/meetings/{meeting.id}")
            assert panel.status == 200
            assert "alex.example@dept.example.org" in panel.body
            assert re.search(r'id="count-remote">1<', panel.body)
            assert re.search(r'id="count-in-person">0 of 40<', panel.body)
            api = organiser.get(f"/api/meetings/{meeting.id}/attendees").json()
            assert api["counts"] == {
                "in_person": 0,
                "remote": 1,
                "undecided": 0,
                "declined": 0,
                "waitlist": 0,
            }
            assert api["attendees"][0]["email"] == "alex.example@dept.example.org"


def test_dev_mailbox_receives_mail_when_no_smarthost(
    sqlite_only_database: TestDatabase, tmp_path: Path
) -> None:
    """With no mail server configured, replies land in the Maildir the panel shows. (With no MTA in
    front, nothing proves a sender: a request by email is answered "was this you?", with links.)"""
    db = sqlite_only_database
    config = make_test_config(tmp_path, db.url)
    assert config.delivery.backend == "maildir"
    runtime = Runtime(config, db.engine, db.sessions, build_services(config))
    make_list(db.sessions)
    make_meeting(db.sessions)
    make_organiser(db.sessions)
    with RunningService(runtime):
        with smtplib.SMTP(config.inbound.host, config.inbound.port, timeout=10) as client:
            client.sendmail(
                "sam@example.org",
                ["forum@lists.test"],
                b"From: Sam <sam@example.org>\r\nSubject: Forum\r\nMessage-ID: "
                b"<m1@example.org>\r\n\r\n"
                b"Please register me, I will join remotely.\r\n",
            )
        new_dir = config.maildir_path / "new"
        wait_for(
            lambda: new_dir.exists() and any(new_dir.iterdir()),
            message="a message in the dev mailbox",
        )
        organiser = HttpClient(config.service.base_url)
        organiser.login("organiser@example.org", ORGANISER_PASSWORD)
        listing = organiser.get("/panel/mailbox")
        assert listing.status == 200 and "Was this you?" in listing.body
        key = re.search(r'/panel/mailbox/([^"]+)"', listing.body).group(1)
        shown = organiser.get(f"/panel/mailbox/{key}")
        assert "/rsvp/" in shown.body and "Join remotely" in shown.body
