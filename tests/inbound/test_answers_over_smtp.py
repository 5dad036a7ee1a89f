"""Over real SMTP: a repeated Message-ID is processed once, automated mail gets no answer,
and answers to one sender are rate-limited. Plus retention and soft-bounce scoring."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from mailer.domain.bounces import record_bounce
from mailer.domain.lists import add_member
from mailer.domain.models import (
    BounceKind,
    InboundMessage,
    InboundStatus,
    OutboxMessage,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from mailer.domain.queue import store_inbound
from mailer.domain.services import build_services
from mailer.domain.triage import apply_retention
from mailer.runtime import Runtime
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting
from tests.support.inbound import processed
from tests.support.net import wait_for
from tests.support.servers import RunningService


def test_duplicates_automated_mail_and_rate_limit(database: TestDatabase, tmp_path: Path) -> None:
    config = make_test_config(tmp_path, database.url, worker={"replies_per_sender_per_hour": 3})
    make_list(database.sessions)
    make_meeting(database.sessions)
    runtime = Runtime(config, database.engine, database.sessions, build_services(config))
    with RunningService(runtime, web=False):
        with smtplib.SMTP(config.inbound.host, config.inbound.port, timeout=10) as client:
            same = (
                b"From: sam@example.org\r\nSubject: Forum\r\nMessage-ID: <once@example.org>\r\n\r\n"
                b"Please register me\r\n"
            )
            client.sendmail("sam@example.org", ["forum@lists.test"], same)
            client.sendmail(
                "sam@example.org", ["forum@lists.test"], same
            )  # a retry after a lost 250
            client.sendmail(
                "robot@example.org",
                ["forum@lists.test"],
                b"From: robot@example.org\r\nAuto-Submitted: auto-replied\r\nMessage-ID: "
                b"<ooo@x>\r\n"
                b"Subject: Out of office\r\n\r\nI am away. Please register me.\r\n",
            )
            for i in range(6):
                client.sendmail(
                    "kim@example.org",
                    ["forum@lists.test"],
                    f"From: kim@example.org\r\nMessage-ID: <q{i}@x>\r\nSubject: q\r\n\r\n"
                    f"Question {i}: what time does it start?\r\n".encode(),
                )
        wait_for(lambda: processed(database, 9), message="all nine messages processed")
    with database.sessions() as s:

        def to(who: str) -> int:
            return s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.recipient == who)
            )

        assert to("sam@example.org") == 1
        assert to("robot@example.org") == 0
        assert to("kim@example.org") == 3  # the hourly limit
        dup = s.scalar(select(InboundMessage).where(InboundMessage.intent == "duplicate"))
        assert dup is not None and dup.status is InboundStatus.IGNORED
        kim = s.scalars(
            select(InboundMessage).where(InboundMessage.mail_from == "kim@example.org")
        ).all()
        assert all(m.status is InboundStatus.TRIAGE for m in kim)
        assert sum("rate-limited" in m.outcome for m in kim) == 3


def test_retention_deletes_old_raw_mail_and_keeps_the_record(database: TestDatabase) -> None:
    with database.sessions() as s:
        old = store_inbound(
            s, mail_from="a@example.org", rcpt_to=["forum@lists.test"], raw=b"secret old"
        )
    with database.sessions() as s:
        new = store_inbound(
            s, mail_from="a@example.org", rcpt_to=["forum@lists.test"], raw=b"secret new"
        )
    with database.sessions() as s, s.begin():
        for row in s.scalars(select(InboundMessage)):
            row.status, row.outcome = InboundStatus.DONE, "registered"
        s.get(InboundMessage, old).received_at = utcnow() - timedelta(days=31)
    with database.sessions() as s:
        assert apply_retention(s, inbound_days=30) == 1
    with database.sessions() as s:
        assert (
            s.get(InboundMessage, old).raw == b""
            and s.get(InboundMessage, old).outcome == "registered"
        )
        assert s.get(InboundMessage, new).raw == b"secret new"
    with database.sessions() as s:
        assert apply_retention(s, inbound_days=0) == 0


def test_soft_bounces_count_half(database: TestDatabase) -> None:
    make_list(database.sessions)
    with database.sessions() as s:
        sub = add_member(s, slug="forum", email="full@example.org", actor="test")
    with database.sessions() as s, s.begin():
        from mailer.domain.models import Mailing

        mailing = Mailing(kind="news", list_id=sub.list_id, subject="s", body_text="b", headers={})
        s.add(mailing)
        s.flush()
        rows = [
            OutboxMessage(
                kind="news",
                person_id=sub.person_id,
                recipient="full@example.org",
                sender="b@x",
                message_id=f"<m{i}@x>",
                mailing_id=mailing.id,
            )
            for i in range(4)
        ]
        s.add_all(rows)
        s.flush()
        for row in rows[:3]:
            record_bounce(
                s, outbox_id=row.id, person_id=sub.person_id, kind=BounceKind.SOFT, threshold=2
            )
    with database.sessions() as s:
        current = s.scalars(select(Subscription)).one()
        assert (current.bounce_score, current.status) == (3, SubscriptionStatus.ACTIVE)
    with database.sessions() as s, s.begin():
        record_bounce(
            s, outbox_id=rows[3].id, person_id=sub.person_id, kind=BounceKind.SOFT, threshold=2
        )
    with database.sessions() as s:
        assert s.scalars(select(Subscription)).one().status is SubscriptionStatus.BOUNCING
