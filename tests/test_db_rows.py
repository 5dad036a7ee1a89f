"""The hot paths' row helpers give the same objects the ORM would, with fewer statements;
writes nothing reads back wait for the unit of work's commit.

``insert_row``, ``load_row``/``load_rows`` and ``update_row`` write and read
through Core and hand back persistent objects: what they return must be what
a fresh query returns, the session's own object when it already holds the
row, and an UPDATE must leave both the row and the object current.
"""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, func, select

from mailer.db import insert_row, load_row, load_rows, transaction, unit_of_work, update_row
from mailer.domain import audit
from mailer.domain.models import (
    AttendanceMode,
    AuditEntry,
    MailingList,
    Meeting,
    Person,
    Rsvp,
    RsvpResponse,
)
from tests.support.databases import TestDatabase, statements_sent
from tests.support.factories import make_list, make_meeting

_PERSON = Person.__table__
_BY_EMAIL = select(_PERSON).where(_PERSON.c.email == bindparam("email"))
_MEETING_AND_LIST = (select(*Meeting.__table__.c, *MailingList.__table__.c)
                     .join(MailingList.__table__, MailingList.__table__.c.id == Meeting.__table__.c.list_id)
                     .where(Meeting.__table__.c.id == bindparam("id")))


def _statements(database: TestDatabase):  # type: ignore[no-untyped-def]
    return statements_sent(database, lambda statement: not statement.startswith(
        ("BEGIN", "SAVEPOINT", "RELEASE", "COMMIT", "SELECT pg_")))


def test_inserted_and_loaded_rows_are_the_sessions_objects(database: TestDatabase) -> None:
    with database.sessions() as s, transaction(s):
        person = insert_row(s, Person, email="sam@example.org", display_name="Sam")
        assert person.id and person.link_version == 1 and person.created_at is not None  # column defaults
        assert load_row(s, Person, _BY_EMAIL, {"email": "sam@example.org"}) is person
        assert load_row(s, Person, _BY_EMAIL, {"email": "nobody@example.org"}) is None
    with database.sessions() as s, transaction(s):
        loaded = load_row(s, Person, _BY_EMAIL, {"email": "sam@example.org"})
        assert loaded is s.get(Person, person.id)  # in the identity map: no second object for the row
        assert (loaded.email, loaded.display_name) == ("sam@example.org", "Sam")


def test_load_rows_builds_one_object_per_model(database: TestDatabase) -> None:
    make_list(database.sessions, name="Forum of Networks")
    meeting_id = make_meeting(database.sessions, title="Summer Forum").id
    with database.sessions() as s, transaction(s):
        meeting, mailing_list = load_rows(s, (Meeting, MailingList), _MEETING_AND_LIST, {"id": meeting_id})
        assert meeting.title == "Summer Forum" and meeting.starts_at.tzinfo is not None
        assert mailing_list.name == "Forum of Networks"
        with _statements(database) as seen:
            assert meeting.mailing_list is mailing_list  # held by the session: no query
        assert seen == []
        assert load_rows(s, (Meeting, MailingList), _MEETING_AND_LIST, {"id": meeting_id + 99}) is None


def _remote_answer(database: TestDatabase) -> Rsvp:
    """Sam's answer "remote" for a new meeting, committed."""
    make_list(database.sessions)
    meeting_id = make_meeting(database.sessions).id
    with database.sessions() as s, transaction(s):
        person = insert_row(s, Person, email="sam@example.org")
        return insert_row(s, Rsvp, meeting_id=meeting_id, person_id=person.id, response=RsvpResponse.ATTENDING,
                          mode=AttendanceMode.REMOTE, source="email")


def test_update_row_writes_at_once_and_keeps_the_object_current(database: TestDatabase) -> None:
    rsvp = _remote_answer(database)
    created = rsvp.updated_at
    with database.sessions() as s, transaction(s):
        rsvp = s.get(Rsvp, rsvp.id)
        with _statements(database) as seen:
            update_row(s, rsvp, response=RsvpResponse.DECLINED, mode=None, source="link")
            assert (rsvp.response, rsvp.mode, rsvp.source) == (RsvpResponse.DECLINED, None, "link")
            assert rsvp.updated_at >= created  # the onupdate value, known without a query
        assert len(seen) == 1 and seen[0].startswith("UPDATE")
        assert not s.dirty  # nothing left for a flush to write again
    with database.sessions() as s:
        fresh = s.get(Rsvp, rsvp.id)
        assert (fresh.response, fresh.mode, fresh.source) == (RsvpResponse.DECLINED, None, "link")
        assert fresh.updated_at == rsvp.updated_at


def test_rows_written_in_a_savepoint_that_rolls_back_are_undone_in_the_session_too(database: TestDatabase) -> None:
    """As the ORM does for what it flushed: an inserted object leaves the session, an updated one is read
    again, so a later lookup in the same transaction never sees values the database no longer has."""
    rsvp = _remote_answer(database)
    with database.sessions() as s, transaction(s):
        rsvp = s.get(Rsvp, rsvp.id)
        try:
            with s.begin_nested():
                update_row(s, rsvp, response=RsvpResponse.DECLINED, mode=None)
                newcomer = insert_row(s, Person, email="alex@example.org", display_name="Alex")
                raise RuntimeError("undo")
        except RuntimeError:
            pass
        assert newcomer not in s
        assert (rsvp.response, rsvp.mode) == (RsvpResponse.ATTENDING, AttendanceMode.REMOTE)
        assert load_row(s, Person, _BY_EMAIL, {"email": "alex@example.org"}) is None
        again = insert_row(s, Person, email="alex@example.org")  # may be given the rolled-back row's id
        assert again is not newcomer and again.display_name is None
        assert load_row(s, Person, _BY_EMAIL, {"email": "alex@example.org"}) is again
    with database.sessions() as s:
        assert s.get(Rsvp, rsvp.id).response is RsvpResponse.ATTENDING


def _entries(database: TestDatabase) -> list[str]:
    with database.sessions() as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_writes_at_commit_go_together_before_the_commit_and_never_from_a_failed_unit(
        database: TestDatabase) -> None:
    """In a unit of work, writes nothing reads back (audit entries, inbound outcomes) wait for the
    commit and go in one executemany; inside a SAVEPOINT they are made at once, so that rolling it
    back undoes them; a unit that fails writes none of them; outside a unit they are made at once."""
    with _statements(database) as sent, database.sessions() as s:
        with unit_of_work(s):
            for i in range(3):
                audit.record(s, actor="system", action=f"later-{i}")
            assert s.connection().scalar(select(func.count()).select_from(AuditEntry)) == 0  # not yet
            with pytest.raises(RuntimeError), s.begin_nested():
                audit.record(s, actor="system", action="undone")
                raise RuntimeError("the SAVEPOINT is rolled back")
            with s.begin_nested():
                audit.record(s, actor="system", action="at-once")
    assert _entries(database) == ["at-once", "later-0", "later-1", "later-2"]
    assert sum(statement.startswith("INSERT INTO audit_entry") for statement in sent) == 3  # undone, at-once, the 3

    with pytest.raises(RuntimeError), database.sessions() as s, unit_of_work(s):
        audit.record(s, actor="system", action="lost")
        raise RuntimeError("the unit of work fails")
    with database.sessions() as s, transaction(s):
        audit.record(s, actor="system", action="alone")
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 5  # written at once
    assert _entries(database)[-1] == "alone" and "lost" not in _entries(database)
