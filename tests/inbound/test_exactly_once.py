"""What a message does and the record that it was handled are one commit.

A crash between the two (here: recording the outcome fails) leaves nothing
behind, so the retry does it exactly once: one registration, one reply. Two
copies of one message handled at the same moment by two workers are
handled once. A request with no meeting to register for is answered.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from mailer.domain import triage
from mailer.domain.models import Base, InboundMessage, InboundStatus, OutboxMessage, Rsvp
from mailer.domain.queue import claim_inbound, store_inbound
from mailer.domain.services import Services, build_services
from mailer.inbound import process
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting
from tests.support.net import wait_for

#: A registration our MTA saw pass DMARC, so it is acted on at once.
RAW = (
    b"Authentication-Results: mx.lists.test; dmarc=pass header.from=example.org\r\n"
    b"From: Sam <sam@example.org>\r\nTo: forum@lists.test\r\nMessage-ID: <%s@example.org>\r\n"
    b"Subject: Forum\r\n\r\nPlease register me, I will come in person.\r\n"
)


def _store(database: TestDatabase, token: bytes, raw: bytes = RAW) -> int:
    with database.sessions() as s:
        return store_inbound(
            s, mail_from="sam@example.org", rcpt_to=["forum@lists.test"], raw=raw % token
        )


def _counts(database: TestDatabase) -> tuple[int, int]:
    with database.sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(Rsvp)),
            s.scalar(select(func.count()).select_from(OutboxMessage)),
        )


def test_a_crash_before_the_outcome_is_recorded_undoes_everything_and_the_retry_acts_once(
    database: TestDatabase, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_list(database.sessions)
    make_meeting(database.sessions)
    inbound_id = _store(database, b"crash")
    with database.sessions() as s:
        assert claim_inbound(s, limit=10, lease=timedelta(minutes=5), worker_id="w") == [inbound_id]
    real_finish = triage.finish_inbound
    crashing = True

    def crash(*args: object, **kwargs: object) -> None:
        if crashing:
            raise ConnectionError("database connection lost")
        real_finish(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(process, "finish_inbound", crash)
    assert process.process_inbound(database.sessions, services, inbound_id).summary.startswith(
        "error:"
    )
    assert _counts(database) == (0, 0)  # the registration and its reply went with the failed commit
    with database.sessions() as s:
        row = s.get(InboundMessage, inbound_id)
        assert (
            row.status is InboundStatus.PROCESSING
            and "connection lost" in row.error
            and row.message_id is None
        )

    crashing = False
    outcome = process.process_inbound(database.sessions, services, inbound_id)
    assert outcome.summary.startswith("registered for ")
    assert _counts(database) == (1, 1)
    with database.sessions() as s:
        reply = s.scalar(select(OutboxMessage))
        assert reply.kind == "registration_reply" and reply.recipient == "sam@example.org"


def test_a_message_that_fails_part_way_in_a_batch_is_undone_alone_and_its_retry_acts_once(
    database: TestDatabase, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second of two messages from one sender fails after its reply was written: that message
    is undone (the first keeps its registration and reply) and, retried, is answered once."""
    make_list(database.sessions)
    make_meeting(database.sessions)
    first, second = _store(database, b"part-1"), _store(database, b"part-2")
    with database.sessions() as s:
        claim_inbound(s, limit=10, lease=timedelta(minutes=5), worker_id="w")
    real_finish = triage.finish_inbound
    calls: list[int] = []

    def crash_first_time(session: object, inbound_id: int, *args: object, **kwargs: object) -> None:
        calls.append(inbound_id)
        if calls.count(inbound_id) == 1 and inbound_id == second:
            raise ConnectionError("database connection lost")
        real_finish(session, inbound_id, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(process, "finish_inbound", crash_first_time)
    outcomes = process.process_inbound_batch(database.sessions, services, [first, second])
    assert outcomes[first].summary.startswith("registered for ")
    assert outcomes[second].summary == "error: database connection lost"
    assert _counts(database) == (1, 1)
    assert process.process_inbound(database.sessions, services, second).summary.startswith(
        "already registered for "
    )  # same sender: registered once
    with database.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Rsvp)) == 1
        assert (
            s.scalar(select(func.count()).select_from(OutboxMessage)) == 2
        )  # and a reply to each message
        assert {row.status for row in s.scalars(select(InboundMessage))} == {InboundStatus.DONE}


def test_no_upcoming_meeting_is_answered_and_logged(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    inbound_id = _store(database, b"nomeeting")
    outcome = process.process_inbound(database.sessions, services, inbound_id)
    assert "no upcoming meeting" in outcome.summary
    with database.sessions() as s:
        row = s.get(InboundMessage, inbound_id)
        assert row.status is InboundStatus.DONE and row.intent == "register"
        reply = s.scalar(select(OutboxMessage))
        assert reply is not None and reply.kind == "no_upcoming_meeting"
        assert reply.headers["In-Reply-To"] == "<nomeeting@example.org>"
        assert "no upcoming meeting" in reply.body_text


def test_two_copies_handled_at_the_same_moment_are_handled_once(
    postgresql_database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL, where two workers really write at once: the second copy waits for the first's
    commit.
    (Remote registrations: a message asking for an in-person place would wait for earlier mail
    anyway.)"""
    database = postgresql_database
    database.empty(Base.metadata)
    services = build_services(make_test_config(tmp_path, database.url))
    make_list(database.sessions)
    make_meeting(database.sessions)
    remote = RAW.replace(b"I will come in person", b"I will join remotely")
    first, second = _store(database, b"twice", remote), _store(database, b"twice", remote)
    with database.sessions() as s:
        assert sorted(claim_inbound(s, limit=10, lease=timedelta(minutes=5), worker_id="w")) == [
            first,
            second,
        ]

    release = threading.Event()
    real_check = process.check_sender

    def held_check(*args: object, **kwargs: object) -> None:
        assert release.wait(30), "the second copy never reached the lock"
        real_check(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(process, "check_sender", held_check)
    outcomes: dict[int, str] = {}
    workers = [
        threading.Thread(
            target=lambda i=i: outcomes.__setitem__(
                i, process.process_inbound(database.sessions, services, i).summary
            )
        )
        for i in (first, second)
    ]
    workers[0].start()
    try:
        # The first copy holds its Message-ID's lock (it is past the copy check) before the second
        # starts.
        wait_for(
            lambda: _advisory_locks(database, granted=True) == 1, message="the first copy's lock"
        )
        workers[1].start()
        wait_for(
            lambda: _advisory_locks(database, granted=False) == 1, message="the second copy to wait"
        )
    finally:
        release.set()
        for worker in workers:
            if worker.is_alive() or worker.ident is not None:
                worker.join(30)
    assert outcomes[first].startswith("registered for ")
    assert outcomes[second] == f"duplicate of inbound message {first}: not processed again"
    assert _counts(database) == (1, 1)


def _advisory_locks(database: TestDatabase, *, granted: bool) -> int:
    with database.engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted = :g"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"g": granted},
        ).scalar_one()
