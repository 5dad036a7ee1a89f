"""SQLite: one writer at a time, through SQLite's own write lock (``BEGIN IMMEDIATE``).

The lock must be given back however a write transaction ends (commit,
rollback after an error, a session closed half way, a BEGIN that fails, a
writer killed mid-transaction), or every later writer would wait for it in
vain; readers never wait for it.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import OperationalError

from mailer.db import make_engine, make_sessionmaker, migrate, read_transaction
from mailer.domain.models import AuditEntry, utcnow


def _start_writer(sessions, action: str) -> threading.Event:  # type: ignore[no-untyped-def]
    """A write transaction in another thread; the event is set once it has committed."""
    done = threading.Event()

    def write() -> None:
        with sessions() as s, s.begin():
            s.execute(
                insert(AuditEntry),
                {"at": utcnow(), "actor": "system", "action": action, "target": "", "detail": {}},
            )
        done.set()

    threading.Thread(target=write, daemon=True).start()
    return done


def _write_in_another_thread(sessions, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """A write transaction from another thread must get through at once, not after the 30 s wait."""
    assert _start_writer(sessions, "test").wait(timeout), "the write lock was not given back"


def _fail_inside(sessions) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError), sessions() as s, s.begin():
        s.execute(
            insert(AuditEntry),
            {"at": utcnow(), "actor": "system", "action": "lost", "target": "", "detail": {}},
        )
        raise RuntimeError("an error inside the transaction")


def _close_half_way(sessions) -> None:  # type: ignore[no-untyped-def]
    s = sessions()
    s.begin()
    s.execute(
        insert(AuditEntry),
        {"at": utcnow(), "actor": "system", "action": "lost", "target": "", "detail": {}},
    )
    s.close()


def _commit(sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions() as s, s.begin():
        s.execute(
            insert(AuditEntry),
            {"at": utcnow(), "actor": "system", "action": "kept", "target": "", "detail": {}},
        )


@pytest.mark.parametrize(
    "end", [_commit, _fail_inside, _close_half_way], ids=["commit", "error", "closed"]
)
def test_every_way_a_write_transaction_ends_gives_the_lock_back(
    tmp_path: Path, end: Callable[..., None]
) -> None:
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


def test_a_read_transaction_reads_beside_a_writer(tmp_path: Path) -> None:
    """A read transaction takes no write lock: it reads while a writer holds the lock, where a
    write transaction would wait for it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'writers.db'}")
    migrate(engine)
    sessions = make_sessionmaker(engine)
    _commit(sessions)
    try:
        with sessions() as writer, writer.begin():
            writer.execute(
                insert(AuditEntry),
                {
                    "at": utcnow(),
                    "actor": "system",
                    "action": "pending",
                    "target": "",
                    "detail": {},
                },
            )
            done = threading.Event()

            def read() -> None:
                with sessions() as reader, read_transaction(reader):
                    assert (
                        reader.scalar(select(func.count()).select_from(AuditEntry)) == 1
                    )  # the committed row
                done.set()

            threading.Thread(target=read, daemon=True).start()
            assert done.wait(10), "the reader waited for the writer"
    finally:
        engine.dispose()


def test_a_begin_that_fails_gives_the_lock_back(tmp_path: Path) -> None:
    """Another program holds SQLite's write lock past the busy timeout: BEGIN fails clearly, and the
    next writer gets the lock once the other program lets it go."""
    path = tmp_path / "writers.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    sessions = make_sessionmaker(engine)
    holder = sqlite3.connect(path, isolation_level=None)  # not Convene
    try:
        holder.execute("BEGIN IMMEDIATE")  # SQLite's write lock, held
        with engine.connect() as impatient:
            impatient.connection.dbapi_connection.execute("PRAGMA busy_timeout=100")  # type: ignore[union-attr]
            with pytest.raises(OperationalError, match="locked"):
                impatient.begin()
        holder.execute("ROLLBACK")
        _write_in_another_thread(sessions)
        with sessions() as s:
            assert s.scalar(select(func.count()).select_from(AuditEntry)) == 1
    finally:
        holder.close()
        engine.dispose()


_HOLD = """
import sys
from sqlalchemy import insert
from mailer.db import make_engine, make_sessionmaker
from mailer.domain.models import AuditEntry, utcnow
sessions = make_sessionmaker(make_engine(sys.argv[1]))
with sessions() as s, s.begin():
    s.execute(insert(AuditEntry),
              {"at": utcnow(), "actor": "system", "action": "held", "target": "", "detail": {}})
    print("holding", flush=True)
    sys.stdin.readline()
"""


def test_a_writer_of_another_process_is_waited_for_and_a_killed_holder_frees_the_lock(
    tmp_path: Path,
) -> None:
    """A writer in another process holds the write lock: ours waits for it, and when that process is
    killed mid-transaction its lock is freed (and what it wrote undone) and ours goes on."""
    url = f"sqlite:///{tmp_path / 'writers.db'}"
    engine = make_engine(url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"holding\n"
        done = _start_writer(sessions, "ours")
        assert not done.wait(0.5), "wrote while another process held the write lock"
        holder.kill()
        holder.wait(10)
        assert done.wait(10), "the lock of a killed process was not freed"
        with sessions() as s:
            assert s.scalars(select(AuditEntry.action)).all() == ["ours"]
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.communicate(timeout=10)  # reaps it and closes its pipes
        engine.dispose()
