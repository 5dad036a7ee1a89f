"""SQLite: the writers of one process queue on a lock of their own before SQLite's write lock.

The lock must be given back however a write transaction ends (commit,
rollback after an error, a session closed half way, a BEGIN that fails), or
every later writer of the process would wait for it in vain.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import OperationalError

from mailer.db import make_engine, make_sessionmaker, migrate
from mailer.domain.models import AuditEntry, utcnow


def _write_in_another_thread(sessions, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """A write transaction from another thread must get through at once, not after the 30 s wait."""
    done = threading.Event()

    def write() -> None:
        with sessions() as s, s.begin():
            s.execute(insert(AuditEntry), {"at": utcnow(), "actor": "system", "action": "test", "target": "",
                                           "detail": {}})
        done.set()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    assert done.wait(timeout), "the write lock was not given back"


def _fail_inside(sessions) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError), sessions() as s, s.begin():
        s.execute(insert(AuditEntry), {"at": utcnow(), "actor": "system", "action": "lost", "target": "", "detail": {}})
        raise RuntimeError("an error inside the transaction")


def _close_half_way(sessions) -> None:  # type: ignore[no-untyped-def]
    s = sessions()
    s.begin()
    s.execute(insert(AuditEntry), {"at": utcnow(), "actor": "system", "action": "lost", "target": "", "detail": {}})
    s.close()


def _commit(sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions() as s, s.begin():
        s.execute(insert(AuditEntry), {"at": utcnow(), "actor": "system", "action": "kept", "target": "",
                                       "detail": {}})


@pytest.mark.parametrize("end", [_commit, _fail_inside, _close_half_way], ids=["commit", "error", "closed"])
def test_every_way_a_write_transaction_ends_gives_the_lock_back(tmp_path: Path,
                                                               end: Callable[..., None]) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'writers.db'}")
    migrate(engine)
    sessions = make_sessionmaker(engine)
    try:
        end(sessions)
        _write_in_another_thread(sessions)
        with sessions() as s:
            actions = s.scalars(select(AuditEntry.action)).all()
        assert "lost" not in actions and actions.count("test") == 1
    finally:
        engine.dispose()


def test_a_begin_that_fails_gives_the_lock_back(tmp_path: Path) -> None:
    """Another process holds SQLite's write lock past the busy timeout: BEGIN fails, and the lock
    of this process is free again for the next writer."""
    path = tmp_path / "writers.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    other = make_engine(f"sqlite:///{path}")  # stands for another process: a lock of its own
    sessions = make_sessionmaker(engine)
    try:
        with other.connect() as holder:
            holder.begin()  # BEGIN IMMEDIATE: SQLite's write lock, held
            with engine.connect() as impatient:
                impatient.connection.dbapi_connection.execute("PRAGMA busy_timeout=100")  # type: ignore[union-attr]
                with pytest.raises(OperationalError, match="locked"):
                    impatient.begin()
            holder.rollback()
        _write_in_another_thread(sessions)
        with sessions() as s:
            assert s.scalar(select(func.count()).select_from(AuditEntry)) == 1
    finally:
        engine.dispose()
        other.dispose()
