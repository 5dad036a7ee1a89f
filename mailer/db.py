"""Database engines and sessions for SQLite (WAL) and PostgreSQL.

SQLite is used in a way that makes it safe as a queue: WAL journal, a busy
timeout, and every transaction opened with ``BEGIN IMMEDIATE`` so that a
read-then-write (claiming outbox rows) can never fail half way with
SQLITE_BUSY. PostgreSQL uses row locks (``FOR UPDATE SKIP LOCKED``) instead.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import (
    Connection,
    Engine,
    Executable,
    Row,
    bindparam,
    create_engine,
    event,
    insert,
    inspect,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_READ_ONLY = "convene_read_only"
_HOLDS_WRITER_LOCK = "convene_holds_writer_lock"
_HOLDS_PROCESS_LOCK = "convene_holds_process_lock"
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
    engine = create_engine(url, echo=echo, pool_size=10, max_overflow=10)
    _ping_after_idle(engine, PING_AFTER_IDLE)
    return engine


#: Seconds a pooled connection may lie idle before it is checked with a ping when next taken.
PING_AFTER_IDLE = 5.0
_IDLE_SINCE = "convene_idle_since"


def _ping_after_idle(engine: Engine, seconds: float) -> None:
    """Check a pooled connection that has lain idle for ``seconds`` before handing it out.

    Like SQLAlchemy's ``pool_pre_ping`` (and with the dialect's own ping), but
    a connection in steady use is not pinged: at one round trip per checkout,
    pinging every time cost a fifth of the RSVP page's throughput on
    PostgreSQL. A database restarted while the pool was idle (overnight, say)
    is noticed here and every older connection replaced; one that goes away
    mid-request fails that request, is recognised as a disconnect, and the
    pool is renewed the same way.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):  # type: ignore[no-untyped-def]
        record.info[_IDLE_SINCE] = time.monotonic()  # cleared when the record reconnects

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):  # type: ignore[no-untyped-def]
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                raise InvalidatePoolError(f"the database dropped an idle connection: {exc}") from exc
            raise


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

    # Writers queue on a lock of their own before asking SQLite for its write lock: a
    # waiting writer gets it the moment it is free, where SQLite's busy handler sleeps in
    # steps of up to 100 ms and lets others overtake it. Threads of one process meet at a
    # threading lock; processes (SMTP, workers, web) at a lock file beside the database.
    writers = threading.Lock()
    database = engine.url.database
    between_processes = _ProcessLock(f"{database}-writers") if database and database != ":memory:" else None

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # Readers send no BEGIN: each statement reads one snapshot of its own, as under
        # PostgreSQL's READ COMMITTED, and WAL lets it run beside a writer. Writers take
        # the write lock up front so they queue on busy_timeout instead of failing later.
        if conn.get_execution_options().get(_READ_ONLY):
            return
        deadline = time.monotonic() + _WRITER_WAIT
        if not writers.acquire(timeout=_WRITER_WAIT):
            raise _waited_too_long()
        conn.info[_HOLDS_WRITER_LOCK] = True
        try:
            if between_processes is not None:
                between_processes.acquire(deadline)
                conn.info[_HOLDS_PROCESS_LOCK] = True
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn)
            raise

    def _release(conn):  # type: ignore[no-untyped-def]
        if conn.info.pop(_HOLDS_PROCESS_LOCK, False):
            between_processes.release()
        if conn.info.pop(_HOLDS_WRITER_LOCK, False):
            writers.release()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)


def _waited_too_long() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", None, TimeoutError("waited too long for the write lock"))


class _ProcessLock:
    """An exclusive lock between processes on one file (flock), held by one thread of this process at a time.

    The kernel drops it when its holder dies, so a killed writer never leaves
    it taken. Waiting polls every half millisecond at most: a blocking flock
    could not give up after the same 30 s that SQLite waits.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child needs its own open file
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def acquire(self, deadline: float) -> None:
        fd, pause = self._file(), 0.00005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise _waited_too_long() from None
                time.sleep(pause)
                pause = min(pause * 2, 0.0005)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


_UNIT_OF_WORK = "convene_unit_of_work"


@contextmanager
def transaction(session: Session) -> Iterator[None]:
    """The transaction of one domain operation: it commits when the block ends.

    Inside a :func:`unit_of_work` the operation joins the caller's transaction
    instead, as a SAVEPOINT, so an error in it undoes its own changes only and
    everything commits together when the unit of work ends. Domain functions
    use this instead of ``session.begin()`` so that they compose.
    """
    attempt = session.info.get(_OPTIMISTIC)
    if attempt is not None:
        try:
            yield
        except BaseException:
            attempt.failed = True  # its changes may be half made: the caller must undo and redo
            raise
    elif _UNIT_OF_WORK in session.info:
        with savepoint(session):
            yield
    else:
        with session.begin():
            yield


_OPTIMISTIC = "convene_optimistic"


class OptimisticAttempt:
    """Whether an operation failed part way during an :func:`optimistic` block."""

    failed = False


@contextmanager
def optimistic(session: Session) -> Iterator[OptimisticAttempt]:
    """Within a transaction the caller can undo (its own SAVEPOINT, or a whole unit of work):
    domain operations take no SAVEPOINT of their own.

    Most operations succeed, and each SAVEPOINT costs as much as a query. If
    an exception leaves one (even one that the caller then handles), the
    attempt is marked failed: its changes may be half made, so the caller
    must undo them and do the work again outside this block, where every
    operation undoes its own changes on error.
    """
    attempt = OptimisticAttempt()
    session.info[_OPTIMISTIC] = attempt
    try:
        yield attempt
    finally:
        session.info.pop(_OPTIMISTIC, None)


@contextmanager
def unit_of_work(session: Session) -> Iterator[None]:
    """One write transaction around several domain operations: all of them commit, or none.

    The worker handles an inbound message this way, so what the message did
    and the record that it was handled are one commit: a crash at any point
    leaves the message to be handled again, never handled twice.
    """
    with session.begin():
        session.info[_UNIT_OF_WORK] = {}
        session.info[_AT_COMMIT] = {}
        try:
            yield
            _write_held(session)
        finally:
            session.info.pop(_UNIT_OF_WORK, None)
            session.info.pop(_AT_COMMIT, None)


_AT_COMMIT = "convene_write_at_commit"


def write_at_commit(session: Session, statement: Executable, row: dict[str, Any]) -> None:
    """A write that nothing in the transaction reads back (an audit entry, the record of a
    message's outcome, a queued message): within a unit of work and outside any SAVEPOINT,
    sent just before the commit together with the others of the same statement, in one
    executemany; anywhere else, now. A query in the unit that must see such rows calls
    :func:`write_now` first.

    Rows of one statement must have the same keys. If the unit of work fails, they are
    dropped with the rest of it; inside a SAVEPOINT they are written at once, so that
    rolling the SAVEPOINT back undoes them.
    """
    pending = session.info.get(_AT_COMMIT)
    if pending is None or session.in_nested_transaction():
        session.connection().execute(statement, row)
        return
    pending.setdefault(statement, []).append(row)


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """A SAVEPOINT within the unit of work. The writes :func:`write_at_commit` holds are sent
    first: rolling the SAVEPOINT back must not undo what other messages did."""
    _write_held(session)
    with session.begin_nested():
        yield


def write_now(session: Session, statement: Executable) -> None:
    """Send the rows of ``statement`` that :func:`write_at_commit` is holding: for the one query
    in a unit of work that must see them (how many replies an address was sent this hour)."""
    pending = session.info.get(_AT_COMMIT)
    rows = pending.pop(statement, None) if pending is not None else None
    if rows:
        session.connection().execute(statement, rows)


def _write_held(session: Session) -> None:
    for statement in list(session.info.get(_AT_COMMIT) or ()):
        write_now(session, statement)


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
        session.connection(execution_options=_read_options(session.get_bind()))
        yield


def read_connection(engine: Engine) -> Connection:
    """A connection of its own for reads only, outside any session: like :func:`read_transaction`,
    it takes no write lock on SQLite and sends no BEGIN."""
    return engine.connect().execution_options(**_read_options(engine))


def read_row(session: Session, statement: Executable, params: dict[str, Any]) -> Row[Any] | None:
    """The first row of one read-only statement, in one round trip.

    Inside a transaction of the session (a unit of work, a write) it reads
    there, seeing what that transaction wrote. Otherwise it reads on a pooled
    read connection (:func:`read_connection`) without opening a session
    transaction, whose bookkeeping costs as much as the query itself on a
    page that makes just this one.
    """
    if session.in_transaction():
        return session.connection().execute(statement, params).first()
    with read_connection(session.get_bind()) as conn:
        return conn.execute(statement, params).first()


def _read_options(bind: Engine | Connection) -> dict[str, Any]:
    """Execution options of a connection that only reads: no BEGIN, no COMMIT, so a page's one
    query is one round trip. Each statement then reads its own snapshot, which is what
    PostgreSQL's READ COMMITTED gave every statement of a read transaction anyway; on SQLite
    a reader never holds the write lock. Autocommit on PostgreSQL is psycopg's own setting;
    on SQLite the begin hook of :func:`_configure_sqlite` leaves the BEGIN out."""
    if bind.dialect.name == "sqlite":
        return {_READ_ONLY: True}
    return {_READ_ONLY: True, "isolation_level": "AUTOCOMMIT"}


_Row = TypeVar("_Row", bound=DeclarativeBase)
_INSERTS: dict[type, Any] = {}
#: Per model: the UPDATE by primary key, and the columns whose Python ``onupdate`` value it sets.
_UPDATES: dict[type, tuple[Any, list[Any]]] = {}


def insert_row(session: Session, model: type[_Row], **values: Any) -> _Row:
    """Within the caller's transaction: INSERT one new row now and return it as a persistent object.

    The same result as ``session.add(model(...))`` followed by a flush, for a
    third of the cost: one prebuilt INSERT ... RETURNING on the transaction's
    connection (column defaults filled in as usual), and the returned row put
    into the session as already loaded, so nothing is flushed or read again.
    For the worker's hot path (a new person, a new answer); relationships
    still load on first use.
    """
    statement = _INSERTS.get(model)
    if statement is None:
        table = model.__table__  # type: ignore[attr-defined]
        statement = _INSERTS[model] = insert(table).returning(*table.c)
    return _persistent(session, model, dict(session.connection().execute(statement, values).one()._mapping),
                       inserted=True)


def load_row(session: Session, model: type[_Row], statement: Any, params: dict[str, Any]) -> _Row | None:
    """Within the caller's transaction: the first row a Core SELECT of all of ``model``'s table
    columns finds, as a persistent object (the session's own, if it already holds that row).

    What ``session.scalar(select(model)...)`` gives, for half the cost on the
    worker's hot path, with one difference: nothing is flushed first, so it
    suits lookups that pending changes cannot affect (rows are added with
    :func:`insert_row` and changed with :func:`update_row`, which write at once).
    """
    found = load_rows(session, (model,), statement, params)
    return found[0] if found is not None else None


def load_rows(session: Session, models: tuple[type[DeclarativeBase], ...], statement: Any,
              params: dict[str, Any]) -> tuple[Any, ...] | None:
    """Like :func:`load_row` for a SELECT of all the columns of each model's table in turn
    (``select(*a.__table__.c, *b.__table__.c)``): one persistent object per model, or None.

    The session holds its objects weakly: keep a reference to each one needed
    later (or set it on a relationship), or it is read again."""
    row = session.connection().execute(statement, params).first()
    return _objects(session, models, row) if row is not None else None


def load_all(session: Session, model: type[_Row], statement: Any, params: dict[str, Any]) -> list[_Row]:
    """Like :func:`load_row`, every row the SELECT finds."""
    return [_objects(session, (model,), row)[0] for row in session.connection().execute(statement, params)]


def _objects(session: Session, models: tuple[type[DeclarativeBase], ...], row: Any) -> tuple[Any, ...]:
    objects, start = [], 0
    for model in models:
        columns = model.__table__.c  # type: ignore[attr-defined]
        objects.append(_persistent(session, model, dict(zip(columns.keys(), row[start:start + len(columns)]))))
        start += len(columns)
    return tuple(objects)


def update_row(session: Session, obj: DeclarativeBase, **values: Any) -> None:
    """Within the caller's transaction: UPDATE one persistent object's row now, and the object with it.

    For hot paths instead of setting attributes and flushing: one prebuilt
    UPDATE by primary key, the values (and columns' Python ``onupdate``
    values, such as ``updated_at``) then recorded on the object as saved.
    """
    prepared = _UPDATES.get(type(obj))
    if prepared is None:
        table = obj.__table__  # type: ignore[attr-defined]
        prepared = _UPDATES[type(obj)] = (
            update(table).where(table.c.id == bindparam("_row_id")),
            [c for c in table.c if c.onupdate is not None and c.onupdate.is_callable])
    statement, on_update = prepared
    values = {**{c.key: c.onupdate.arg(None) for c in on_update if c.key not in values}, **values}
    session.connection().execute(statement, {**values, "_row_id": obj.id})  # type: ignore[attr-defined]
    for key, value in values.items():
        set_committed_value(obj, key, value)
    _remember_write(session, obj, inserted=False)


def _persistent(session: Session, model: type[_Row], values: dict[str, Any], *, inserted: bool = False) -> _Row:
    held = session.identity_map.get(session.identity_key(model, values["id"]))  # type: ignore[arg-type]
    if held is not None and not inserted:
        return held  # type: ignore[return-value]
    if held is not None:  # a row written and rolled back earlier in this session, whose id came round again
        session.expunge(held)
    # As the ORM's own loading does: the values go straight into the new object's __dict__ as
    # loaded state (no attribute events, no change history), not through the constructor.
    obj = model.__mapper__.class_manager.new_instance()  # type: ignore[attr-defined]
    obj.__dict__.update(values)
    make_transient_to_detached(obj)
    session.add(obj)
    if inserted:
        _remember_write(session, obj, inserted=True)
    return obj


# The ORM undoes what it flushed when a transaction or SAVEPOINT rolls back (it expires or drops
# the objects); rows written by the helpers above bypass the flush, so they are remembered with
# the transaction that wrote them and undone the same way.
_CORE_WRITES = "convene_core_writes"


def _remember_write(session: Session, obj: object, *, inserted: bool) -> None:
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_CORE_WRITES, []).append((transaction, obj, inserted))


@event.listens_for(Session, "after_soft_rollback")
def _undo_core_writes(session: Session, rolled_back: Any) -> None:
    writes = session.info.get(_CORE_WRITES)
    if not writes:
        return
    kept = []
    for transaction, obj, inserted in writes:
        if not _within(transaction, rolled_back):
            kept.append((transaction, obj, inserted))
        elif obj in session:
            if inserted:
                session.expunge(obj)  # its row is gone
            else:
                session.expire(obj)  # read again: the row has its earlier values
    session.info[_CORE_WRITES] = kept


@event.listens_for(Session, "after_transaction_end")
def _forget_core_writes(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the database transaction ended: committed, or undone above
        session.info.pop(_CORE_WRITES, None)


def _within(transaction: Any, outer: Any) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


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
