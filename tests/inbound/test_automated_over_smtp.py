"""Over real SMTP and the real worker: a read receipt, an out-of-office reply that no header
marks, and a delayed delivery report get no reply and change nothing; a person who writes that
they will be out of the office is still read as a person."""

from __future__ import annotations

import smtplib
from pathlib import Path

from sqlalchemy import func, select

from mailer.domain.lists import add_member
from mailer.domain.models import (
    BounceEvent,
    InboundIntent,
    InboundMessage,
    InboundStatus,
    Mailing,
    OutboxMessage,
    OutboxStatus,
    Rsvp,
    Subscription,
    SubscriptionStatus,
)
from mailer.domain.services import build_services
from mailer.runtime import Runtime
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting
from tests.support.net import wait_for
from tests.support.servers import RunningService

MEMBER = "alex.jones@dept.example.org"
PERSON = "kim.lee@dept.example.org"
TOKEN = "5f0c3a9e2b7d4e1f8a6b9c0d1e2f3a4b"

READ_RECEIPT = (
    f"From: Alex Jones <{MEMBER}>\r\nTo: forum@lists.test\r\n"
    "Subject: Read: Leaders of Networks Forum\r\nMessage-ID: <mdn-1@dept.example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/report; report-type=disposition-notification; boundary="R"\r\n\r\n'
    "--R\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "Your message\r\n\r\n  To: Alex Jones\r\n  Subject: Leaders of Networks Forum\r\n\r\n"
    "was read on 3 March 2026 09:12.\r\n"
    "--R\r\nContent-Type: message/disposition-notification\r\n\r\n"
    "Reporting-UA: dept.example.org; Microsoft Outlook 16.0\r\n"
    f"Final-Recipient: rfc822;{MEMBER}\r\n"
    "Original-Message-ID: <invitation-1@lists.test>\r\n"
    "Disposition: manual-action/MDN-sent-manually; displayed\r\n\r\n--R--\r\n"
).encode()

OUT_OF_OFFICE = (
    f"From: Alex Jones <{MEMBER}>\r\nTo: forum@lists.test\r\n"
    "Subject: Automatic reply: Leaders of Networks Forum\r\n"
    "Message-ID: <ooo-1@dept.example.org>\r\nIn-Reply-To: <invitation-1@lists.test>\r\n"
    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "Thank you for your email. I am currently out of the office with limited access to email "
    "and will respond on my return on Monday 16 March.\r\n\r\n"
    "If your matter is urgent, please contact the Networks team.\r\n"
).encode()

DELAYED = (
    "From: Mail Delivery System <MAILER-DAEMON@mx.dept.example.org>\r\n"
    f"To: bounces+{TOKEN}@lists.test\r\n"
    "Subject: Delayed Mail (still being retried)\r\nMessage-ID: <dsn-1@mx.dept.example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/report; report-type=delivery-status; boundary="D"\r\n\r\n'
    "--D\r\nContent-Type: text/plain\r\n\r\nYour message has not been delivered yet. "
    "The mail system will keep trying.\r\n"
    "--D\r\nContent-Type: message/delivery-status\r\n\r\n"
    "Reporting-MTA: dns; mx.dept.example.org\r\n\r\n"
    f"Final-Recipient: rfc822; {MEMBER}\r\nAction: delayed\r\nStatus: 4.4.7\r\n"
    "Diagnostic-Code: smtp; 452 4.2.2 mailbox full\r\n"
    "Will-Retry-Until: Fri, 6 Mar 2026 09:00:00 +0000\r\n\r\n--D--\r\n"
).encode()

#: A real person: away on the day, so declining. Read as a person, so answered.
DECLINE = (
    f"From: Kim Lee <{PERSON}>\r\nTo: forum@lists.test\r\n"
    "Subject: Re: Invitation: Leaders of Networks Forum\r\nMessage-ID: <kim-1@dept.example.org>\r\n"
    "\r\nI'll be out of the office that day, so can't attend. Sorry!\r\n"
).encode()


def handled(database: TestDatabase, count: int) -> bool:
    with database.sessions() as s:
        done = s.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(
                InboundMessage.status.in_(
                    [InboundStatus.DONE, InboundStatus.TRIAGE, InboundStatus.IGNORED]
                )
            )
        )
        return done >= count


def test_automated_mail_gets_no_reply_and_changes_nothing(
    database: TestDatabase, tmp_path: Path
) -> None:
    config = make_test_config(tmp_path, database.url)
    make_list(database.sessions)
    make_meeting(database.sessions)
    with database.sessions() as s:
        member = add_member(s, slug="forum", email=MEMBER, actor="test")
    with database.sessions() as s, s.begin():
        mailing = Mailing(
            kind="news", list_id=member.list_id, subject="News", body_text="b", headers={}
        )
        s.add(mailing)
        s.flush()
        s.add(
            OutboxMessage(
                kind="news",
                person_id=member.person_id,
                recipient=MEMBER,
                sender=f"bounces+{TOKEN}@lists.test",
                message_id=f"<{TOKEN}@lists.test>",
                mailing_id=mailing.id,
                status=OutboxStatus.SENT,
            )
        )
    runtime = Runtime(config, database.engine, database.sessions, build_services(config))
    with RunningService(runtime, web=False):
        with smtplib.SMTP(config.inbound.host, config.inbound.port, timeout=10) as client:
            client.sendmail(MEMBER, ["forum@lists.test"], READ_RECEIPT)
            client.sendmail(MEMBER, ["forum@lists.test"], OUT_OF_OFFICE)
            client.sendmail("", [f"bounces+{TOKEN}@lists.test"], DELAYED)
            client.sendmail(PERSON, ["forum@lists.test"], DECLINE)
        wait_for(lambda: handled(database, 4), message="all four messages handled")
    with database.sessions() as s:
        rows = {row.message_id: row for row in s.scalars(select(InboundMessage))}
        outcomes = {
            key: (rows[key].status, rows[key].intent, rows[key].outcome)
            for key in ("<mdn-1@dept.example.org>", "<ooo-1@dept.example.org>")
        }
        assert outcomes == {
            "<mdn-1@dept.example.org>": (
                InboundStatus.IGNORED,
                InboundIntent.AUTOMATED,
                "not answered: read receipt (RFC 8098)",
            ),
            "<ooo-1@dept.example.org>": (
                InboundStatus.IGNORED,
                InboundIntent.AUTOMATED,
                "not answered: out-of-office reply (subject)",
            ),
        }
        dsn = rows["<dsn-1@mx.dept.example.org>"]
        assert (dsn.status, dsn.intent) == (InboundStatus.IGNORED, InboundIntent.AUTOMATED)
        assert dsn.outcome.startswith("not a bounce: delivery report (delayed, 4.4.7)")

        # nothing answered the member, and nothing about the member changed
        to_member = s.scalars(select(OutboxMessage).where(OutboxMessage.recipient == MEMBER))
        assert [m.kind for m in to_member] == ["news"]
        assert s.scalars(select(BounceEvent)).all() == []
        sub = s.scalars(
            select(Subscription).where(Subscription.person_id == member.person_id)
        ).one()
        assert (sub.bounce_score, sub.status) == (0, SubscriptionStatus.ACTIVE)
        assert s.scalars(select(Rsvp).where(Rsvp.person_id == member.person_id)).all() == []

        # the person who wrote about being away was read as a person, and answered
        decline = rows["<kim-1@dept.example.org>"]
        assert decline.intent is not InboundIntent.AUTOMATED
        to_person = s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.recipient == PERSON)
        )
        assert to_person == 1
