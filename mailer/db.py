"""Database engines and sessions for SQLite (WAL) and PostgreSQL.

SQLite is used in a way that makes it safe as a queue: WAL journal, a busy
timeout, and every transaction opened with ``BEGIN IMMEDIATE`` so that a
read-then-write (claiming outbox rows) can never fail half way with
SQLITE_BUSY. PostgreSQL uses row locks (``FOR UPDATE SKIP LOCKED``) instead.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_READ_ONLY = "convene_read_only"
_HOLDS_WRITER_LOCK = "convene_holds_writer_lock"
#: Seconds a writer waits for the others of its process, as long as SQLite's busy timeout.
_WRITER_WAIT = 30.0


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, *, echo: bool = False) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    # Writers of this process queue on a lock of their own before asking SQLite for its
    # write lock: a waiting thread is woken the moment the lock is free, where SQLite's
    # busy handler would sleep in steps of up to 100 ms and let others overtake it.
    # Writers in other processes still meet at SQLite's lock.
    writers = threading.Lock()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # Readers take no lock (WAL lets them run beside a writer); writers take the
        # write lock up front so they queue on busy_timeout instead of failing later.
        if conn.get_execution_options().get(_READ_ONLY):
            conn.exec_driver_sql("BEGIN")
            return
        if not writers.acquire(timeout=_WRITER_WAIT):
            raise OperationalError("BEGIN IMMEDIATE", None, TimeoutError("waited too long for the write lock"))
        conn.info[_HOLDS_WRITER_LOCK] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn)
            raise

    def _release(conn):  # type: ignore[no-untyped-def]
        if conn.info.pop(_HOLDS_WRITER_LOCK, False):
            writers.release()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)


_UNIT_OF_WORK = "convene_unit_of_work"


@contextmanager
def transaction(session: Session) -> Iterator[None]:
    """The transaction of one domain operation: it commits when the block ends.

    Inside a :func:`unit_of_work` the operation joins the caller's transaction
    instead, as a SAVEPOINT, so an error in it undoes its own changes only and
    everything commits together when the unit of work ends. Domain functions
    use this instead of ``session.begin()`` so that they compose.
    """
    if _UNIT_OF_WORK in session.info:
        with session.begin_nested():
            yield
    else:
        with session.begin():
            yield


@contextmanager
def unit_of_work(session: Session) -> Iterator[None]:
    """One write transaction around several domain operations: all of them commit, or none.

    The worker handles an inbound message this way, so what the message did
    and the record that it was handled are one commit: a crash at any point
    leaves the message to be handled again, never handled twice.
    """
    with session.begin():
        session.info[_UNIT_OF_WORK] = {}
        try:
            yield
        finally:
            session.info.pop(_UNIT_OF_WORK, None)


def unit_of_work_memo(session: Session) -> dict[object, object] | None:
    """A dict that lives as long as the current unit of work (None outside one): rows that
    several operations of one unit read, such as the list a message was sent to, are read once."""
    return session.info.get(_UNIT_OF_WORK)


@contextmanager
def read_transaction(session: Session) -> Iterator[None]:
    """A transaction that only reads: on SQLite it does not take the write lock.

    Domain functions that change nothing use this instead of ``session.begin()``
    so that pages and lookups never wait behind the worker's writes. Inside a
    :func:`unit_of_work` it reads within that transaction.
    """
    if _UNIT_OF_WORK in session.info:
        yield
        return
    with session.begin():
        session.connection(execution_options={_READ_ONLY: True})
        yield


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (views render them)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
