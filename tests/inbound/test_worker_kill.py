"""A worker process killed with SIGKILL in the middle of inbound mail: after a restart every message
has been acted on exactly once (one registration and one reply per sender, none twice)."""

from __future__ import annotations

import signal
from pathlib import Path

from sqlalchemy import func, select

from mailer.domain.models import InboundMessage, InboundStatus, OutboxMessage, Rsvp
from mailer.domain.queue import Received, store_inbound_many
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting
from tests.support.net import wait_for
from tests.support.proof import dmarc_pass
from tests.support.servers import SmtpSink
from tests.support.workload import workers, write_config

MESSAGES = 400


def _done(database: TestDatabase) -> int:
    with database.sessions() as s:
        return s.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.status == InboundStatus.DONE)
        )


def test_kill_9_while_processing_inbound_acts_on_each_message_exactly_once(
    database: TestDatabase, tmp_path: Path
) -> None:
    make_list(database.sessions, name="Forum")  # no members: every sender is new
    make_meeting(database.sessions, capacity=None)
    with database.sessions() as s:
        store_inbound_many(
            s,
            [
                Received(
                    f"sender{i}@example.org",
                    ["forum@lists.test"],
                    (
                        f"{dmarc_pass('x@example.org')}"
                        f"From: Sender {i} <sender{i}@example.org>\r\nTo: forum@lists.test\r\n"
                        f"Message-ID: <kill-{i}@example.org>\r\nSubject: Forum\r\n\r\n"
                        "Please register me, I will join remotely.\r\n"
                    ).encode(),
                    "127.0.0.1",
                )
                for i in range(MESSAGES)
            ],
        )
    with SmtpSink() as sink:
        path = write_config(tmp_path, database, sink, lease_seconds=2)
        with workers(path, 1) as [victim]:
            wait_for(
                lambda: _done(database) >= 60,
                timeout=120,
                interval=0.005,
                message="the worker to be mid-run",
            )
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
        at_kill = _done(database)
        assert at_kill < MESSAGES, "the worker finished before it could be killed"
        with workers(path, 1):
            wait_for(
                lambda: _done(database) == MESSAGES,
                timeout=180,
                interval=0.2,
                message="every message processed after the restart",
            )
    with database.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Rsvp)) == MESSAGES
        replies = s.execute(
            select(OutboxMessage.recipient, func.count())
            .where(OutboxMessage.kind == "registration_reply")
            .group_by(OutboxMessage.recipient)
        ).all()
        assert len(replies) == MESSAGES and {count for _, count in replies} == {
            1
        }  # one reply each, none twice
        outcomes = s.scalars(select(InboundMessage.intent)).all()
        assert set(outcomes) == {
            "register"
        }  # none was seen as a duplicate of itself or left half done
