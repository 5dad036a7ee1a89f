"""PostgreSQL: which answers queue behind which.

A meeting with a capacity takes answers one at a time (its row lock), so
in-person places are never handed out twice. A meeting without one (fixed
when it is made, so no one is ever waitlisted) only queues a person's
answers behind that same person's: two people answer at once.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select, text

from mailer.db import transaction
from mailer.domain.models import AttendanceMode, Base, Person, Rsvp, RsvpResponse
from mailer.domain.rsvp import lock_answers_of, record_rsvp
from mailer.domain.services import Services, build_services
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase, statements_sent
from tests.support.factories import make_list, make_meeting
from tests.support.net import wait_for


@pytest.fixture
def pg(postgresql_database: TestDatabase) -> TestDatabase:
    postgresql_database.empty(Base.metadata)
    make_list(postgresql_database.sessions)
    return postgresql_database


@pytest.fixture
def pg_services(pg: TestDatabase, tmp_path: Path) -> Services:
    return build_services(make_test_config(tmp_path, pg.url))


def _answer(database: TestDatabase, services: Services, meeting_id: int, email: str) -> None:
    with database.sessions() as session:
        record_rsvp(session, services, meeting_id=meeting_id, email=email, response=RsvpResponse.ATTENDING,
                    mode=AttendanceMode.REMOTE, source="panel")


def _locks(database: TestDatabase):  # type: ignore[no-untyped-def]
    return statements_sent(database, lambda s: "FOR UPDATE" in s or "pg_advisory_xact_lock" in s)


def test_an_answer_locks_the_meeting_only_when_it_has_a_capacity(pg: TestDatabase, pg_services: Services) -> None:
    limited = make_meeting(pg.sessions, title="Limited", capacity=10)
    open_ended = make_meeting(pg.sessions, title="Open", capacity=None)
    _answer(pg, pg_services, limited.id, "sam@example.org")  # adds Sam: nobody else can see them yet
    _answer(pg, pg_services, open_ended.id, "robin@example.org")
    with _locks(pg) as limited_locks:
        _answer(pg, pg_services, limited.id, "robin@example.org")
    with _locks(pg) as open_locks:
        _answer(pg, pg_services, open_ended.id, "sam@example.org")
    assert len(limited_locks) == 1 and "FROM meeting" in limited_locks[0]
    assert len(open_locks) == 1 and "pg_advisory_xact_lock" in open_locks[0]


def test_without_a_capacity_a_persons_answers_queue_and_other_peoples_do_not(
        pg: TestDatabase, pg_services: Services) -> None:
    meeting = make_meeting(pg.sessions, capacity=None)
    for email in ("sam@example.org", "robin@example.org"):
        _answer(pg, pg_services, meeting.id, email)
    with pg.sessions() as s:
        sam = s.scalar(select(Person.id).where(Person.email == "sam@example.org"))
    finished: list[str] = []

    def answer_in_person(email: str) -> None:
        with pg.sessions() as session:
            record_rsvp(session, pg_services, meeting_id=meeting.id, email=email,
                        response=RsvpResponse.ATTENDING, mode=AttendanceMode.IN_PERSON, source="panel")
        finished.append(email)

    def waiting_for_a_lock() -> int:
        with pg.engine.connect() as conn:
            return conn.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"))

    with pg.sessions() as holder, transaction(holder):
        lock_answers_of(holder, [sam])  # another answer of Sam's, not yet committed
        robin = threading.Thread(target=answer_in_person, args=("robin@example.org",))
        robin.start()
        robin.join(30)
        assert finished == ["robin@example.org"]  # someone else's answer did not wait
        sam_thread = threading.Thread(target=answer_in_person, args=("sam@example.org",))
        sam_thread.start()
        wait_for(lambda: waiting_for_a_lock() == 1, timeout=30, message="Sam's answer queued behind the lock")
        assert finished == ["robin@example.org"]
    sam_thread.join(30)  # the holder committed: Sam's answer goes through
    assert finished == ["robin@example.org", "sam@example.org"]
    with pg.sessions() as s:
        assert {r.mode for r in s.scalars(select(Rsvp))} == {AttendanceMode.IN_PERSON}

