"""Connections: a read is one round trip and never holds a write lock; a pooled PostgreSQL
connection is pinged only after lying idle, and one the server dropped is replaced.

Reads (``read_transaction``, ``read_connection``) send no BEGIN or COMMIT: on
PostgreSQL the connection is in autocommit, on SQLite the begin hook leaves
the BEGIN out. Writes still run in a transaction, and a connection that read
goes back to the pool ready for one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

import mailer.db
from mailer.db import make_engine, read_connection, read_transaction, transaction
from mailer.domain.models import MailingList
from tests.support.databases import TestDatabase, statements_sent, terminate_backend
from tests.support.factories import make_list


def _in_transaction(dbapi_connection) -> bool:  # type: ignore[no-untyped-def]
    if hasattr(dbapi_connection, "in_transaction"):  # sqlite3
        return bool(dbapi_connection.in_transaction)
    return dbapi_connection.info.transaction_status != 0  # psycopg: IDLE is 0


def test_a_read_sends_no_begin_and_holds_no_transaction(database: TestDatabase) -> None:
    make_list(database.sessions, slug="forum")
    with database.sessions() as session, statements_sent(database, lambda s: s.startswith(("BEGIN", "COMMIT"))) as sent:
        with read_transaction(session):
            assert session.scalar(select(func.count()).select_from(MailingList)) == 1
            dbapi_connection = session.connection().connection.dbapi_connection
            assert not _in_transaction(dbapi_connection)
        with read_connection(database.engine) as conn:
            assert conn.scalar(select(MailingList.slug)) == "forum"
            assert not _in_transaction(conn.connection.dbapi_connection)
    assert sent == []


def test_a_connection_that_read_goes_back_ready_for_a_write_transaction(database: TestDatabase) -> None:
    """After a read in autocommit, the pooled connection writes in a transaction again: a failed
    write leaves nothing behind."""
    make_list(database.sessions, slug="forum")
    for _ in range(3):  # more than the pooled connections the reads may have left
        with database.sessions() as session, read_transaction(session):
            session.scalar(select(MailingList.slug))
    with database.sessions() as session, pytest.raises(RuntimeError):
        with transaction(session):
            session.add(MailingList(slug="second", name="Second"))
            session.flush()
            assert _in_transaction(session.connection().connection.dbapi_connection)
            raise RuntimeError("the write fails part way")
    with database.sessions() as session:
        assert session.scalars(select(MailingList.slug)).all() == ["forum"]


@pytest.fixture
def pg_engine(postgresql_database: TestDatabase, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setattr(mailer.db, "PING_AFTER_IDLE", 60.0)
    engine = make_engine(postgresql_database.url)
    yield engine
    engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT pg_backend_pid()")))


def _count_pings(engine: Engine) -> list[object]:
    pings: list[object] = []
    original = engine.dialect.do_ping

    def counting(dbapi_connection):  # type: ignore[no-untyped-def]
        pings.append(dbapi_connection)
        return original(dbapi_connection)

    engine.dialect.do_ping = counting  # type: ignore[method-assign]
    return pings


def test_a_connection_in_steady_use_is_not_pinged(pg_engine: Engine) -> None:
    pings = _count_pings(pg_engine)
    pids = {_backend_pid(pg_engine) for _ in range(5)}
    assert len(pids) == 1 and pings == []


def test_an_idle_connection_the_server_dropped_is_noticed_and_replaced(
        postgresql_database: TestDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mailer.db, "PING_AFTER_IDLE", 0.0)  # every pooled connection counts as idle
    engine = make_engine(postgresql_database.url)
    try:
        pings = _count_pings(engine)
        first = _backend_pid(engine)
        assert pings == []  # a new connection is not pinged
        terminate_backend(postgresql_database, first)
        second = _backend_pid(engine)  # no error: the ping found the connection gone
        assert second != first and len(pings) == 1
        with engine.connect() as conn:  # the dialect's ping (psycopg's toggles autocommit) leaves no transaction open
            assert len(pings) == 2 and not _in_transaction(conn.connection.dbapi_connection)
    finally:
        engine.dispose()


def test_a_connection_dropped_while_in_use_fails_that_statement_and_the_next_gets_a_new_one(
        pg_engine: Engine, postgresql_database: TestDatabase) -> None:
    first = _backend_pid(pg_engine)
    terminate_backend(postgresql_database, first)
    with pytest.raises(DBAPIError) as failed:
        _backend_pid(pg_engine)
    assert failed.value.connection_invalidated
    assert _backend_pid(pg_engine) != first

