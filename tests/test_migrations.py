"""The Alembic history builds exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from mailer.db import current_revision, migrate
from mailer.domain.models import Base
from tests.support.databases import TestDatabase


def test_models_and_migrations_agree(database: TestDatabase) -> None:
    with database.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []


def test_migrate_is_idempotent_and_records_the_revision(database: TestDatabase) -> None:
    migrate(database.engine)
    assert current_revision(database.engine) is not None


def test_sqlite_runs_in_wal_mode(sqlite_only_database: TestDatabase) -> None:
    with sqlite_only_database.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
