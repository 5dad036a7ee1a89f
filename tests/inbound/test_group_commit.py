"""The SMTP edge's writer: commits on a connection it keeps, and gets over losing it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, func, select

from mailer.domain.models import InboundMessage
from mailer.domain.queue import Received
from mailer.inbound.server import GroupCommitWriter
from tests.support.databases import TestDatabase, terminate_backend


def _message(i: int) -> Received:
    return Received(
        "sam@example.org",
        ["forum@lists.test"],
        f"Message-ID: <{i}@example.org>\r\n\r\nHi\r\n".encode(),
        "127.0.0.1",
    )


def _store(writer: GroupCommitWriter, messages: list[Received]) -> list[int]:
    async def run() -> list[int]:
        try:
            return [await writer.store(message) for message in messages]
        finally:
            await writer.close()

    return asyncio.run(run())


def _stored(database: TestDatabase) -> int:
    with database.sessions() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage))


def test_commits_share_one_connection_taken_from_the_pool_once(database: TestDatabase) -> None:
    checkouts: list[object] = []
    listener = lambda *args: checkouts.append(args)  # noqa: E731
    event.listen(database.engine, "checkout", listener)
    try:
        ids = _store(GroupCommitWriter(database.sessions), [_message(i) for i in range(5)])
    finally:
        event.remove(database.engine, "checkout", listener)
    assert len(ids) == len(set(ids)) == 5
    assert _stored(database) == 5
    assert len(checkouts) == 1  # not one per commit, each of which PostgreSQL would be pinged for


def test_a_connection_the_server_dropped_is_replaced_and_the_batch_stored_once(
    postgresql_database: TestDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    postgresql_database.empty(InboundMessage.metadata)
    writer = GroupCommitWriter(postgresql_database.sessions)

    async def run() -> list[int]:
        try:
            first = await writer.store(_message(1))
            assert writer._connection is not None
            pid = writer._connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            writer._connection.commit()
            terminate_backend(
                postgresql_database, pid
            )  # the database drops the writer's connection
            second = await writer.store(_message(2))
            return [first, second]
        finally:
            await writer.close()

    ids = asyncio.run(run())
    assert "database connection lost; storing 1 message(s) again" in caplog.text
    assert len(set(ids)) == 2
    assert _stored(postgresql_database) == 2
