"""Database engines, transactions and migrations, for SQLite (WAL, synchronous=FULL) and
PostgreSQL.

SQLite is used in a way that makes it safe as a queue: WAL journal, a busy
timeout, and every write transaction opened with ``BEGIN IMMEDIATE`` so that
a read-then-write (claiming outbox rows) can never fail half way with
SQLITE_BUSY; read transactions open with a plain ``BEGIN`` and read beside a
writer. PostgreSQL uses row locks (``FOR UPDATE [SKIP LOCKED]``) instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import CursorResult, Engine, Executable, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: Execution option of a connection whose transaction only reads (see :func:`read_transaction`).
READ_ONLY = "convene_read_only"
#: Seconds a SQLite writer waits for another's write lock before giving up.
SQLITE_BUSY_TIMEOUT = 30
#: How long an erasure's checkpoint waits for readers (milliseconds).
CHECKPOINT_WAIT_MS = 1000


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
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        return engine
    # pool_pre_ping: a connection the server dropped while it lay in the pool (a restart
    # overnight) is noticed and replaced before it is handed out.
    return create_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    """SQLAlchemy's documented recipe for pysqlite transactions, with the BEGIN chosen by us."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # the driver sends no BEGIN of its own
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on stable storage before it returns, so the SMTP edge's 250 (sent
        # only after the commit) survives a power cut too; group commit keeps it cheap.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted rows are overwritten, not left readable in free pages (erasure must erase).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # Writers take the write lock up front, so they queue on busy_timeout instead of
        # failing later when a read turns into a write; readers read a snapshot beside them.
        conn.exec_driver_sql(
            "BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE"
        )


@contextmanager
def transaction(session: Session) -> Iterator[None]:
    """The transaction of one domain operation: it commits when the block ends.

    Called inside another transaction (one domain operation calling another,
    or the worker's batch), it is a SAVEPOINT instead: an error undoes the
    operation's own changes only, and everything commits with the outer
    transaction. Inside a SAVEPOINT already (the worker's SAVEPOINT around one
    message), it joins that one: an error undoes everything the SAVEPOINT
    holds, which is what its owner expects of an error it did not catch. Domain
    functions use this instead of ``session.begin()`` so that they compose.
    """
    if session.in_nested_transaction():
        yield
    elif session.in_transaction():
        with session.begin_nested():
            yield
    else:
        with session.begin():
            yield


@contextmanager
def read_transaction(session: Session) -> Iterator[None]:
    """A transaction that only reads: on SQLite it takes no write lock.

    Domain functions that change nothing use this instead of ``session.begin()``
    so that pages and lookups never wait behind the worker's writes. Inside
    another transaction it reads within that one.
    """
    if session.in_transaction():
        yield
        return
    with session.begin():
        session.connection(execution_options={READ_ONLY: True})
        yield


def forget_deleted_pages(session: Session) -> None:
    """After an erasure has committed: on SQLite, copy the write-ahead log into the database and
    empty it, so that the old versions of the pages it held (with what was deleted) are gone too.
    PostgreSQL needs nothing here (its old row versions are vacuumed; see docs/deployment.md)."""
    engine = session.get_bind()
    if engine.dialect.name != "sqlite" or not isinstance(engine, Engine):
        return
    with engine.connect() as connection:  # the driver's own connection: outside any transaction
        driver = connection.connection.driver_connection
        # A checkpoint waits for readers of older snapshots while holding the write lock: it
        # waits briefly, never the full busy timeout (SMTP must keep storing mail meanwhile).
        # What it could not copy now, the next erasure or SQLite's own checkpoints will.
        driver.execute(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")  # type: ignore[union-attr]
        try:
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        finally:
            driver.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT * 1000}")  # type: ignore[union-attr]


def rows_changed(session: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE in the session's transaction; returns how many rows it changed."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (views render them)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision, in one transaction.

    On SQLite, a migration that rebuilds a table (to change what ALTER TABLE
    cannot) must not have the old table's DROP delete the rows that refer to
    it, so foreign keys are off while migrations run and checked before the
    commit, as SQLite's documented procedure for schema changes has it.
    """
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        driver = connection.connection.dbapi_connection
        if sqlite and driver is not None:  # outside any transaction, where the pragma acts
            driver.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, "head")
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration left broken references: {broken[:5]}")
        finally:
            if sqlite and driver is not None:
                driver.execute("PRAGMA foreign_keys=ON")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def revision_at(url: str) -> str | None:
    """The Alembic revision of the database at ``url``; None when it has no schema yet.

    A SQLite file that does not exist has none, and is not created to find out
    (connecting would create it). Any other database is asked on a connection of
    its own, closed before returning.
    """
    parsed = make_url(normalise_url(url))
    path = parsed.database
    if (
        parsed.get_backend_name() == "sqlite"
        and path not in (None, "", ":memory:")
        and not parsed.query.get("uri")
        and not Path(path).exists()
    ):
        return None
    engine = make_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()
