"""A claimed batch is handled several messages to a transaction, each in a SAVEPOINT of its own.

Sharing a commit must not cost the guarantees of handling messages one by
one: every message gets its own outcome, an error in one undoes only that
one (and nothing the others did), a copy of a message in the same batch is
still handled once, and a transaction that fails as a whole is handled
again message by message.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from mailer.db import READ_ONLY
from mailer.domain.models import (
    Base,
    InboundMessage,
    InboundStatus,
    OutboxMessage,
    Person,
    Rsvp,
    utcnow,
)
from mailer.domain.queue import Received, claim_inbound, store_inbound_many
from mailer.domain.services import Services, build_services
from mailer.inbound import process
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting

#: A registration our MTA saw pass DMARC, so it is acted on at once.
RAW = (
    "Authentication-Results: mx.lists.test; dmarc=pass header.from=example.org\r\n"
    "From: {name} <{email}>\r\nTo: forum@lists.test\r\nMessage-ID: <{mid}@example.org>\r\n"
    "Subject: Forum\r\n\r\nPlease register me, I will join remotely.\r\n"
)


def _store_and_claim(
    database: TestDatabase, messages: list[tuple[str, str]], raw: str = RAW
) -> list[int]:
    """Store (sender, Message-ID token) messages and claim them all."""
    with database.sessions() as s:
        ids = store_inbound_many(
            s,
            [
                Received(
                    email,
                    ["forum@lists.test"],
                    raw.format(name=email.split("@")[0].title(), email=email, mid=mid).encode(),
                )
                for email, mid in messages
            ],
        )
    with database.sessions() as s:
        assert claim_inbound(s, limit=100, lease=timedelta(minutes=5), worker_id="w") == ids
    return ids


@contextmanager
def _write_commits(database: TestDatabase) -> Iterator[list[int]]:
    """Counts the commits of write transactions (read-only ones are left out) while the block
    runs."""
    commits: list[int] = []

    def on_commit(conn) -> None:  # type: ignore[no-untyped-def]
        if not conn.get_execution_options().get(READ_ONLY):
            commits.append(1)

    event.listen(database.engine, "commit", on_commit)
    try:
        yield commits
    finally:
        event.remove(database.engine, "commit", on_commit)


def _fail_recording_outcome_of(monkeypatch: pytest.MonkeyPatch, failing_id: int):  # type: ignore[no-untyped-def]
    """Make recording one message's outcome fail ("disk said no"); returns the real function."""
    real_finish = process.finish_inbound

    def finish(session, inbound_id, *args, **kwargs):  # type: ignore[no-untyped-def]
        if inbound_id == failing_id:
            raise RuntimeError("disk said no")
        real_finish(session, inbound_id, *args, **kwargs)

    monkeypatch.setattr(process, "finish_inbound", finish)
    return real_finish


def _rows(database: TestDatabase) -> dict[int, InboundMessage]:
    with database.sessions() as s:
        return {row.id: row for row in s.scalars(select(InboundMessage))}


def _registered(database: TestDatabase) -> list[str]:
    with database.sessions() as s:
        return sorted(s.scalars(select(Person.email).join(Rsvp, Rsvp.person_id == Person.id)))


def _replies(database: TestDatabase) -> list[str]:
    with database.sessions() as s:
        return sorted(s.scalars(select(OutboxMessage.recipient)))


def test_a_batch_shares_one_commit_and_each_message_gets_its_own_outcome(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    make_meeting(database.sessions)
    senders = [f"member{i}@example.org" for i in range(4)]
    ids = _store_and_claim(
        database, [(email, f"m{i}") for i, email in enumerate(senders)] + [(senders[0], "m0")]
    )  # a second copy of the first message, in the same batch
    with _write_commits(database) as commits:
        outcomes = process.process_inbound_batch(database.sessions, services, ids)
    assert len(commits) == 1
    assert [outcomes[i].summary for i in ids[:4]] == ["registered for Quarterly Forum (remote)"] * 4
    assert outcomes[ids[4]].summary == f"duplicate of inbound message {ids[0]}: not processed again"
    rows = _rows(database)
    assert [rows[i].status for i in ids] == [InboundStatus.DONE] * 4 + [InboundStatus.IGNORED]
    assert all(rows[i].lease_until is None and rows[i].processed_at is not None for i in ids)
    assert _registered(database) == sorted(senders)
    assert _replies(database) == sorted(senders)  # one reply each, none for the copy


def test_one_message_per_transaction_gives_the_write_lock_back_after_each(
    database: TestDatabase, services: Services
) -> None:
    """``[worker] messages_per_transaction`` bounds how long a batch keeps the write lock: at 1,
    every message is a commit of its own."""
    make_list(database.sessions)
    make_meeting(database.sessions)
    ids = _store_and_claim(database, [(f"member{i}@example.org", f"m{i}") for i in range(3)])
    services = build_services(services.config.replace(worker={"messages_per_transaction": 1}))
    with _write_commits(database) as commits:
        outcomes = process.process_inbound_batch(database.sessions, services, ids)
    assert len(commits) == 3
    assert all(outcome.summary.startswith("registered") for outcome in outcomes.values())


def test_an_error_in_one_message_undoes_that_message_only(
    database: TestDatabase, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_list(database.sessions)
    make_meeting(database.sessions)
    senders = ["first@example.org", "broken@example.org", "third@example.org"]
    ids = _store_and_claim(database, [(email, f"m{i}") for i, email in enumerate(senders)])
    real_finish = _fail_recording_outcome_of(
        monkeypatch, ids[1]
    )  # after its registration and reply were written
    with _write_commits(database) as commits:
        outcomes = process.process_inbound_batch(database.sessions, services, ids)
    assert len(commits) == 1
    assert outcomes[ids[1]].summary == "error: disk said no"
    rows = _rows(database)
    assert rows[ids[0]].status is rows[ids[2]].status is InboundStatus.DONE
    broken = rows[ids[1]]
    assert broken.status is InboundStatus.PROCESSING and "disk said no" in broken.error
    assert broken.lease_until is not None  # retried later, after a delay
    assert _registered(database) == ["first@example.org", "third@example.org"]
    assert _replies(database) == ["first@example.org", "third@example.org"]

    monkeypatch.setattr(process, "finish_inbound", real_finish)
    assert process.process_inbound_batch(database.sessions, services, [ids[1]])[
        ids[1]
    ].summary.startswith("registered")
    assert _registered(database) == sorted(senders)
    assert _replies(database) == sorted(senders)


def test_what_earlier_messages_of_the_unit_wrote_survives_a_later_message_being_undone(
    database: TestDatabase, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message undone in its SAVEPOINT (here one whose sender is known, so their replies this hour
    are counted, and whose outcome cannot be recorded) takes nothing the others did with it."""
    make_list(database.sessions)
    make_meeting(database.sessions)
    [earlier] = _store_and_claim(database, [("known@example.org", "before")])
    assert process.process_inbound_batch(database.sessions, services, [earlier])[
        earlier
    ].summary.startswith("registered")
    ids = _store_and_claim(
        database,
        [("first@example.org", "a"), ("known@example.org", "b"), ("third@example.org", "c")],
    )
    _fail_recording_outcome_of(monkeypatch, ids[1])
    outcomes = process.process_inbound_batch(database.sessions, services, ids)
    assert outcomes[ids[1]].summary == "error: disk said no"
    rows = _rows(database)
    assert rows[ids[0]].status is rows[ids[2]].status is InboundStatus.DONE
    assert _replies(database) == [
        "first@example.org",
        "known@example.org",
        "third@example.org",
    ]  # known's: the earlier
    with database.sessions() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 3


def test_known_and_new_senders_in_one_batch_are_each_registered_once(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    make_meeting(database.sessions)
    [earlier] = _store_and_claim(database, [("known@example.org", "before")])
    process.process_inbound_batch(database.sessions, services, [earlier])
    ids = _store_and_claim(
        database,
        [
            ("known@example.org", "k"),
            ("new@example.org", "n1"),
            ("new@example.org", "n2"),
            ("other@example.org", "o"),
        ],
    )
    outcomes = process.process_inbound_batch(database.sessions, services, ids)
    assert [outcomes[i].summary.split(" for ")[0] for i in ids] == [
        "already registered",
        "registered",
        "already registered",
        "registered",
    ]
    assert _registered(database) == ["known@example.org", "new@example.org", "other@example.org"]


def test_places_go_in_order_to_the_messages_kept_when_one_of_them_is_undone(
    database: TestDatabase, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two places, five in-person registrations in one transaction, the second of which fails
    after registering (undone): the places go to the first and third senders, and the fourth and
    fifth wait."""
    make_list(database.sessions)
    make_meeting(database.sessions, capacity=2)
    senders = [f"p{i}@example.org" for i in range(5)]
    ids = _store_and_claim(
        database,
        [(email, f"place{i}") for i, email in enumerate(senders)],
        RAW.replace("I will join remotely", "I will attend in person"),
    )
    _fail_recording_outcome_of(monkeypatch, ids[1])
    outcomes = process.process_inbound_batch(database.sessions, services, ids)
    assert outcomes[ids[1]].summary == "error: disk said no"
    with database.sessions() as s:
        rows = {
            email: waitlisted
            for email, waitlisted in s.execute(
                select(Person.email, Rsvp.waitlisted_at.is_not(None)).join(
                    Rsvp, Rsvp.person_id == Person.id
                )
            )
        }
    assert rows == {
        "p0@example.org": False,
        "p2@example.org": False,
        "p3@example.org": True,
        "p4@example.org": True,
    }


def test_a_sender_added_in_a_savepoint_rolled_back_is_added_again_by_their_next_message(
    database: TestDatabase, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_list(database.sessions)
    make_meeting(database.sessions)
    ids = _store_and_claim(database, [("new@example.org", "first"), ("new@example.org", "second")])
    _fail_recording_outcome_of(monkeypatch, ids[0])  # undone with the person it added
    outcomes = process.process_inbound_batch(database.sessions, services, ids)
    assert outcomes[ids[0]].summary == "error: disk said no"
    assert outcomes[ids[1]].summary.startswith("registered for ")
    assert _registered(database) == ["new@example.org"]
    with database.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 1


def test_a_transaction_that_fails_as_a_whole_is_handled_again_message_by_message(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    make_meeting(database.sessions)
    senders = [f"member{i}@example.org" for i in range(3)]
    ids = _store_and_claim(database, [(email, f"m{i}") for i, email in enumerate(senders)])
    write_commits: list[int] = []

    def lose_the_first_write_commit(session: Session) -> None:
        if session.in_nested_transaction() or session.connection().get_execution_options().get(
            READ_ONLY
        ):
            return
        write_commits.append(1)
        if len(write_commits) == 1:  # everything was written; then the commit fails
            raise ConnectionError("connection lost at commit")

    def sessions() -> Session:
        session = database.sessions()
        event.listen(session, "before_commit", lose_the_first_write_commit)
        return session

    outcomes = process.process_inbound_batch(sessions, services, ids)  # type: ignore[arg-type]
    assert len(write_commits) == 1 + len(ids)  # the failed transaction, then one per message
    assert all(outcome.summary.startswith("registered for ") for outcome in outcomes.values())
    assert {row.status for row in _rows(database).values()} == {InboundStatus.DONE}
    assert _registered(database) == sorted(senders)  # exactly once each
    assert _replies(database) == sorted(senders)


def test_a_message_that_cannot_be_read_is_recorded_and_the_others_go_on(
    database: TestDatabase, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_list(database.sessions)
    make_meeting(database.sessions)
    ids = _store_and_claim(
        database, [("first@example.org", "m0"), ("unreadable@example.org", "m1")]
    )
    real_read = process._read

    def read(stored, *rest):  # type: ignore[no-untyped-def]
        if stored.mail_from == "unreadable@example.org":
            raise UnicodeError("parser gave up")
        return real_read(stored, *rest)

    monkeypatch.setattr(process, "_read", read)
    outcomes = process.process_inbound_batch(database.sessions, services, ids)
    assert outcomes[ids[0]].summary.startswith("registered")
    assert outcomes[ids[1]].summary == "error: parser gave up"
    rows = _rows(database)
    assert (
        rows[ids[1]].status is InboundStatus.PROCESSING and "parser gave up" in rows[ids[1]].error
    )
    with database.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Rsvp)) == 1


def test_an_operation_that_fails_part_way_leaves_nothing_of_itself(
    database: TestDatabase, services: Services
) -> None:
    """An operation that fails after writing (here: the sender is recorded, then there is no meeting
    to decline) is undone by its SAVEPOINT and leaves nothing behind."""
    make_list(database.sessions)  # and no meeting
    with database.sessions() as s:
        ids = store_inbound_many(
            s,
            [
                Received(
                    "sam@example.org",
                    ["forum@lists.test"],
                    RAW.format(name="Sam", email="sam@example.org", mid="m0")
                    .replace(
                        "Please register me, I will join remotely.",
                        "Sorry, I can't make it this time.",
                    )
                    .encode(),
                ),
                Received(
                    "alex@example.org",
                    ["forum@lists.test"],
                    RAW.format(name="Alex", email="alex@example.org", mid="m1").encode(),
                ),
            ],
        )
    with database.sessions() as s:
        claim_inbound(s, limit=10, lease=timedelta(minutes=5), worker_id="w")
    outcomes = process.process_inbound_batch(database.sessions, services, ids)
    assert outcomes[ids[0]].summary == "Leaders of Networks Forum has no upcoming meeting."
    assert (
        outcomes[ids[1]].summary
        == "Leaders of Networks Forum has no upcoming meeting to register for"
    )
    rows = _rows(database)
    assert rows[ids[0]].status is rows[ids[1]].status is InboundStatus.DONE
    with database.sessions() as s:
        # The decline that failed part way left no trace of the sender; the registration kept its
        # sender (it answered them).
        assert list(s.scalars(select(Person.email))) == ["alex@example.org"]
    assert _replies(database) == ["alex@example.org"]


def test_a_copy_counts_as_a_duplicate_only_of_a_message_that_was_handled(
    database: TestDatabase, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within one transaction: the copy of a message that failed is handled itself; the copy of a
    message handled in an earlier transaction is a duplicate of it."""
    make_list(database.sessions)
    make_meeting(database.sessions)
    handled_before = _store_and_claim(database, [("early@example.org", "early")])
    assert (
        process.process_inbound_batch(database.sessions, services, handled_before)[
            handled_before[0]
        ].summary
        == "registered for Quarterly Forum (remote)"
    )
    ids = _store_and_claim(
        database,
        [
            ("sam@example.org", "twice"),
            ("sam@example.org", "twice"),
            ("early@example.org", "early"),
        ],
    )
    _fail_recording_outcome_of(monkeypatch, ids[0])
    with _write_commits(database) as commits:
        outcomes = process.process_inbound_batch(database.sessions, services, ids)
    assert len(commits) == 1
    assert {i: o.summary for i, o in outcomes.items()} == {
        ids[0]: "error: disk said no",
        ids[1]: "registered for Quarterly Forum (remote)",
        ids[2]: f"duplicate of inbound message {handled_before[0]}: not processed again",
    }


def test_transactions_that_deadlock_on_postgresql_are_redone_message_by_message(
    postgresql_database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers, each with a transaction registering people for two meetings in opposite orders,
    hold one meeting's lock each and want the other's. PostgreSQL ends one (deadlock detected);
    its messages are then handled one by one, and nobody is left with an error."""
    database = postgresql_database
    database.empty(Base.metadata)
    services = build_services(make_test_config(tmp_path, database.url))
    make_list(database.sessions)
    make_list(database.sessions, slug="network", name="Network Leads")
    make_meeting(database.sessions)
    make_meeting(database.sessions, list_slug="network", title="Network Meeting")

    def store(batch: list[tuple[str, str]], worker: str) -> list[int]:
        with database.sessions() as s:
            ids = store_inbound_many(
                s,
                [
                    Received(
                        email,
                        [f"{slug}@lists.test"],
                        RAW.replace("forum@lists.test", f"{slug}@lists.test")
                        .format(name="Member", email=email, mid=email)
                        .encode(),
                    )
                    for slug, email in batch
                ],
            )
        with database.sessions() as s:
            assert claim_inbound(s, limit=10, lease=timedelta(minutes=5), worker_id=worker) == ids
        return ids

    first = store([("forum", "a1@example.org"), ("network", "a2@example.org")], "w1")
    second = store([("network", "b1@example.org"), ("forum", "b2@example.org")], "w2")
    both_hold_a_lock = threading.Barrier(2, timeout=30)
    waited: set[int] = set()
    real_handle = process._handle

    def handle_then_wait_for_the_other(*args, **kwargs):  # type: ignore[no-untyped-def]
        outcome = real_handle(*args, **kwargs)
        if threading.get_ident() not in waited:  # only after each worker's very first message
            waited.add(threading.get_ident())
            both_hold_a_lock.wait()
        return outcome

    monkeypatch.setattr(process, "_handle", handle_then_wait_for_the_other)
    outcomes: dict[int, str] = {}
    workers = [
        threading.Thread(
            target=lambda ids=ids: outcomes.update(
                (i, o.summary)
                for i, o in process.process_inbound_batch(database.sessions, services, ids).items()
            )
        )
        for ids in (first, second)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert outcomes == {
        first[0]: "registered for Quarterly Forum (remote)",
        first[1]: "registered for Network Meeting (remote)",
        second[0]: "registered for Network Meeting (remote)",
        second[1]: "registered for Quarterly Forum (remote)",
    }
    rows = _rows(database)
    assert {row.status for row in rows.values()} == {InboundStatus.DONE} and all(
        not r.error for r in rows.values()
    )
    assert _replies(database) == sorted(
        ["a1@example.org", "a2@example.org", "b1@example.org", "b2@example.org"]
    )


def test_a_place_goes_to_the_earlier_message_when_another_worker_reads_a_later_one_first(
    database: TestDatabase, services: Services
) -> None:
    """One place left. Kim's "register me in person" arrived first and was claimed by one worker;
    Lee's arrived next and was claimed by another, which got to it first. Lee's waits for Kim's to
    be handled, then finds the place gone."""
    make_list(database.sessions)
    make_meeting(database.sessions, capacity=1)
    raw = RAW.replace("I will join remotely", "I will attend in person")
    with database.sessions() as s:
        kim, lee = store_inbound_many(
            s,
            [
                Received(
                    email,
                    ["forum@lists.test"],
                    raw.format(name=name, email=email, mid=name).encode(),
                )
                for name, email in (("Kim", "kim@example.org"), ("Lee", "lee@example.org"))
            ],
        )
    for inbound_id, worker in ((kim, "first worker"), (lee, "second worker")):
        with database.sessions() as s:
            assert claim_inbound(s, limit=1, lease=timedelta(minutes=5), worker_id=worker) == [
                inbound_id
            ]

    waiting = process.process_inbound_batch(database.sessions, services, [lee])[lee]
    assert (
        waiting.status is InboundStatus.PROCESSING and "waits for earlier mail" in waiting.summary
    )
    assert _registered(database) == [] and _replies(database) == []
    assert process.process_inbound_batch(database.sessions, services, [kim])[
        kim
    ].summary.startswith("registered")
    with database.sessions() as s:  # Lee's message is claimed again once its short wait is over
        s.execute(
            update(InboundMessage).where(InboundMessage.id == lee).values(lease_until=utcnow())
        )
        s.commit()
    with database.sessions() as s:
        assert claim_inbound(
            s, limit=10, lease=timedelta(minutes=5), worker_id="second worker"
        ) == [lee]
    assert process.process_inbound_batch(database.sessions, services, [lee])[
        lee
    ].summary.startswith("registered")
    with database.sessions() as s:
        places = dict(
            s.execute(
                select(Person.email, Rsvp.waitlisted_at.is_(None)).join(
                    Rsvp, Rsvp.person_id == Person.id
                )
            ).all()
        )
        attempts = s.scalar(select(InboundMessage.attempts).where(InboundMessage.id == lee))
    assert places == {"kim@example.org": True, "lee@example.org": False}
    assert attempts == 1  # waiting was not a failed attempt
