"""A test database: a URL, its engine and sessions, and a fast way to empty it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, MetaData, event, text
from sqlalchemy.orm import Session, sessionmaker


@dataclass
class TestDatabase:
    __test__ = False  # not a test class, whatever pytest thinks of the name

    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def empty(self, metadata: MetaData) -> None:
        tables = [t.name for t in reversed(metadata.sorted_tables)]
        with self.engine.begin() as conn:
            if self.backend == "postgresql":
                conn.execute(
                    text(
                        "TRUNCATE "
                        + ", ".join(f'"{t}"' for t in tables)
                        + " RESTART IDENTITY CASCADE"
                    )
                )
            else:
                for table in tables:
                    conn.execute(text(f'DELETE FROM "{table}"'))
                conn.execute(text("DELETE FROM sqlite_sequence")) if self._has_sequence(
                    conn
                ) else None

    @staticmethod
    def _has_sequence(conn) -> bool:  # type: ignore[no-untyped-def]
        return (
            conn.execute(text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first()
            is not None
        )


def terminate_backend(database: TestDatabase, pid: int) -> None:
    """PostgreSQL: end one server process and wait until it is gone (pg_terminate_backend only
    signals it, so a statement sent at once could still be answered)."""
    from tests.support.net import wait_for

    with database.engine.connect() as admin:
        assert admin.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.commit()

    def gone() -> bool:
        with database.engine.connect() as admin:
            return not admin.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )

    wait_for(gone, timeout=30, message=f"PostgreSQL backend {pid} to exit")


@contextmanager
def statements_sent(database: TestDatabase, wanted: Callable[[str], bool]) -> Iterator[list[str]]:
    """The SQL statements sent to the database while the block runs, those that ``wanted`` keeps."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if wanted(statement):
            seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
