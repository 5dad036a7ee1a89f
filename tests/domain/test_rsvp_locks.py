"""PostgreSQL: which answers queue behind which.

A meeting with a capacity takes answers one at a time (its row lock), so
in-person places are never handed out twice. At a meeting without one,
a person's answer queues only behind that same person's (their answer's
row lock): two people answer at once.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from mailer.db import transaction
from mailer.domain.models import AttendanceMode, Base, Meeting, Person, Rsvp, RsvpResponse
from mailer.domain.rsvp import record_rsvp
from mailer.domain.services import Services, build_services
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
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


def _answer(
    database: TestDatabase,
    services: Services,
    meeting_id: int,
    email: str,
    response: RsvpResponse = RsvpResponse.ATTENDING,
    mode: AttendanceMode | None = AttendanceMode.REMOTE,
) -> None:
    with database.sessions() as session:
        record_rsvp(
            session,
            services,
            meeting_id=meeting_id,
            email=email,
            response=response,
            mode=mode,
            source="panel",
        )


def _waiting(database: TestDatabase) -> int:
    """How many of this database's sessions wait for a lock."""
    with database.engine.connect() as conn:
        return conn.scalar(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE NOT l.granted AND a.datname = current_database()"
            )
        )


def test_without_a_capacity_a_persons_answers_queue_and_other_peoples_do_not(
    pg: TestDatabase, pg_services: Services
) -> None:
    meeting = make_meeting(pg.sessions, capacity=None)
    for email in ("sam@example.org", "robin@example.org"):
        _answer(pg, pg_services, meeting.id, email)
    with pg.sessions() as s:
        sam = s.scalar(select(Person.id).where(Person.email == "sam@example.org"))
    finished: list[str] = []

    def answer_in_person(email: str) -> None:
        with pg.sessions() as session:
            record_rsvp(
                session,
                pg_services,
                meeting_id=meeting.id,
                email=email,
                response=RsvpResponse.ATTENDING,
                mode=AttendanceMode.IN_PERSON,
                source="panel",
            )
        finished.append(email)

    with pg.sessions() as holder, transaction(holder):
        # Another answer of Sam's, not yet committed.
        holder.execute(select(Rsvp).where(Rsvp.person_id == sam).with_for_update())
        robin = threading.Thread(target=answer_in_person, args=("robin@example.org",))
        robin.start()
        robin.join(30)
        assert finished == ["robin@example.org"]  # someone else's answer did not wait
        sam_thread = threading.Thread(target=answer_in_person, args=("sam@example.org",))
        sam_thread.start()
        wait_for(
            lambda: _waiting(pg) == 1, timeout=30, message="Sam's answer queued behind the lock"
        )
        assert finished == ["robin@example.org"]
    sam_thread.join(30)  # the holder committed: Sam's answer goes through
    assert finished == ["robin@example.org", "sam@example.org"]
    with pg.sessions() as s:
        assert {r.mode for r in s.scalars(select(Rsvp))} == {AttendanceMode.IN_PERSON}


def test_a_decline_waits_for_a_promotion_under_way_and_passes_the_place_on(
    pg: TestDatabase, pg_services: Services
) -> None:
    """Bo waits for a place and declines just as another answer, holding the meeting's lock, gives
    Bo the place. Bo's decline waits for that lock and reads Bo's answer again: Bo now held the
    place, so giving it up promotes Cy, the next in line."""
    meeting = make_meeting(pg.sessions, capacity=1)
    for email in (
        "al@example.org",
        "bo@example.org",
        "cy@example.org",
    ):  # Al has the place; Bo, then Cy wait
        _answer(
            pg, pg_services, meeting.id, email, RsvpResponse.ATTENDING, AttendanceMode.IN_PERSON
        )
    with pg.sessions() as s:
        ids = {p.email.split("@")[0]: p.id for p in s.scalars(select(Person))}
    done: list[BaseException | None] = []

    def bo_declines() -> None:
        try:
            _answer(pg, pg_services, meeting.id, "bo@example.org", RsvpResponse.DECLINED, None)
            done.append(None)
        except BaseException as exc:  # asserted below
            done.append(exc)

    with (
        pg.sessions() as al,
        transaction(al),
    ):  # Al's decline, under way: the lock, then Bo promoted
        al.execute(select(Meeting.id).where(Meeting.id == meeting.id).with_for_update())
        al.execute(
            update(Rsvp)
            .where(Rsvp.person_id == ids["al"])
            .values(response=RsvpResponse.DECLINED, mode=None)
        )
        al.execute(update(Rsvp).where(Rsvp.person_id == ids["bo"]).values(waitlisted_at=None))
        bo = threading.Thread(target=bo_declines)
        bo.start()
        wait_for(
            lambda: _waiting(pg) >= 1,
            timeout=30,
            message="Bo's decline waiting for the meeting's lock",
        )
        assert done == []
    bo.join(30)
    assert done == [None]
    with pg.sessions() as s:
        state = {
            r.person_id: (r.response, r.waitlisted_at is None) for r in s.scalars(select(Rsvp))
        }
    assert state[ids["bo"]][0] is RsvpResponse.DECLINED
    assert state[ids["cy"]] == (RsvpResponse.ATTENDING, True)  # the place Bo gave up went to Cy
