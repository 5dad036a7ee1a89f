"""Connections: a read never waits behind a write; a pooled PostgreSQL connection the server
dropped is replaced.

Reads (``read_transaction``) read a snapshot of their own beside an open
write transaction, and a connection that read goes back to the pool ready
for a write.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from mailer.db import make_engine, read_transaction, transaction
from mailer.domain.models import MailingList
from tests.support.databases import TestDatabase, terminate_backend
from tests.support.factories import make_list


def _in_transaction(dbapi_connection) -> bool:  # type: ignore[no-untyped-def]
    if hasattr(dbapi_connection, "in_transaction"):  # sqlite3
        return bool(dbapi_connection.in_transaction)
    return dbapi_connection.info.transaction_status != 0  # psycopg: IDLE is 0


def test_a_read_reads_beside_an_open_write_without_waiting(database: TestDatabase) -> None:
    make_list(database.sessions, slug="forum")
    with database.sessions() as writer, transaction(writer):
        writer.add(MailingList(slug="pending", name="Pending"))
        writer.flush()  # written, not committed: the writer holds its locks
        seen: list[int] = []

        def read() -> None:
            with database.sessions() as reader, read_transaction(reader):
                seen.append(reader.scalar(select(func.count()).select_from(MailingList)) or 0)

        thread = threading.Thread(target=read)
        thread.start()
        thread.join(10)
        assert seen == [1], "the reader waited for the writer, or saw what it had not committed"


def test_a_connection_that_read_goes_back_ready_for_a_write_transaction(
    database: TestDatabase,
) -> None:
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
def pg_engine(postgresql_database: TestDatabase) -> Iterator[Engine]:
    engine = make_engine(postgresql_database.url)
    yield engine
    engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT pg_backend_pid()")))


def test_an_idle_connection_the_server_dropped_is_noticed_and_replaced(
    pg_engine: Engine, postgresql_database: TestDatabase
) -> None:
    """A restart of the database while the pool lay idle: the next use gets a new connection, no
    error."""
    first = _backend_pid(pg_engine)
    terminate_backend(postgresql_database, first)
    second = _backend_pid(pg_engine)
    assert second != first
    with pg_engine.connect() as conn:  # and it is a working connection
        assert conn.scalar(text("SELECT 1")) == 1


def test_a_connection_dropped_while_in_use_fails_that_statement_and_the_next_gets_a_new_one(
    pg_engine: Engine, postgresql_database: TestDatabase
) -> None:
    with pg_engine.connect() as conn:
        first = int(conn.scalar(text("SELECT pg_backend_pid()")))
        conn.commit()
        terminate_backend(postgresql_database, first)
        with pytest.raises(DBAPIError) as failed:
            conn.execute(text("SELECT 1"))
        assert failed.value.connection_invalidated
    assert _backend_pid(pg_engine) != first
