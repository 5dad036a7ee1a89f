"""Backing up and restoring the database: everything Convene holds is in it, queued mail too.

On SQLite the backup is SQLite's online backup API, copying the whole
database in one step under a read transaction: a consistent snapshot, taken
while Convene runs (the SMTP edge and the worker write on beside it; what
they commit after the snapshot began is not in it). On PostgreSQL the
server's own tools do this better (``pg_dump``, point-in-time recovery), so
Convene says so instead of copying rows.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from mailer.db import normalise_url


class BackupError(Exception):
    """The backup or restore was not done; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int


def _sqlite_path(database_url: str) -> Path:
    url = make_url(normalise_url(database_url))
    if url.get_backend_name() != "sqlite":
        tool = shutil.which("pg_dump")
        raise BackupError(
            "The database is PostgreSQL: back it up with its own tools, for example\n"
            f"  pg_dump --format=custom --file=convene.dump '{url.render_as_string()}'\n"
            "and restore with pg_restore into an empty database, then run 'convene init'. "
            + ("pg_dump is installed here." if tool else "pg_dump is not installed here.")
        )
    if not url.database or url.database == ":memory:":
        raise BackupError("The database is in memory: there is nothing to back up.")
    return Path(url.database)


def backup(database_url: str, target: Path) -> BackupResult:
    """Copy the live database to ``target`` (which must not exist), consistently, while the
    service runs."""
    source = _sqlite_path(database_url)
    if not source.exists():
        raise BackupError(f"There is no database at {source}: run 'convene init' first.")
    if target.exists():
        raise BackupError(f"{target} already exists: choose a new file for the backup.")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    with sqlite3.connect(source) as live, sqlite3.connect(partial) as copy:
        live.backup(copy)  # all pages in one step: one snapshot
    partial.replace(target)  # never a half-written file under the name asked for
    return BackupResult(target, target.stat().st_size)


def restore(source: Path, database_url: str, *, replace: bool = False) -> BackupResult:
    """Put a backup in place of the database (stop Convene first). Refuses a file that is not a
    whole Convene database, and an existing database unless ``replace``."""
    target = _sqlite_path(database_url)
    if not source.is_file():
        raise BackupError(f"There is no backup at {source}.")
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as check:
            if check.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                raise BackupError(f"{source} is damaged (SQLite's integrity check failed).")
            tables = {row[0] for row in check.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is not a SQLite database: {exc}") from None
    if "alembic_version" not in tables or "inbound_message" not in tables:
        raise BackupError(f"{source} is not a Convene database.")
    if target.exists() and not replace:
        raise BackupError(
            f"There is already a database at {target}. Stop Convene, then run the restore "
            "again with --replace to put the backup in its place."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (
        target.with_name(target.name + "-wal"),
        target.with_name(target.name + "-shm"),
    ):
        leftover.unlink(missing_ok=True)  # the old database's log must not be replayed onto it
    with sqlite3.connect(source) as backed_up, sqlite3.connect(target) as live:
        backed_up.backup(live)
    return BackupResult(target, target.stat().st_size)
