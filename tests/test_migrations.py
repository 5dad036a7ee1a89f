"""The Alembic history builds exactly the schema the models describe, on both backends."""

from __future__ import annotations

from pathlib import Path

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


def test_rebuilding_tables_keeps_what_refers_to_them_and_ids_are_never_reused(
    tmp_path: Path,
) -> None:
    """0016 rebuilds two SQLite tables; the tags on answers (which cascade on delete) survive,
    foreign keys are on again afterwards, and a deleted inbound message's id is not given again."""
    from alembic import command

    from mailer.db import alembic_config, make_engine, make_sessionmaker
    from mailer.domain.models import (
        AnswerTag,
        Consultation,
        ConsultationAnswer,
        ConsultationKind,
        ConsultationStatus,
        MailingList,
    )
    from mailer.domain.queue import store_inbound

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0015")
    with make_sessionmaker(engine)() as session, session.begin():
        forum = MailingList(slug="forum", name="Forum")
        consultation = Consultation(
            mailing_list=forum,
            kind=ConsultationKind.QUESTION,
            title="Views",
            question_markdown="What?",
            anonymous=True,
            status=ConsultationStatus.OPEN,
        )
        session.add(consultation)
        session.flush()
        session.add(ConsultationAnswer(id="a1", consultation_id=consultation.id, text="More time"))
        session.flush()
        session.add(AnswerTag(answer_id="a1", tag="time"))
    migrate(engine)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT answer_id, tag FROM answer_tag")).all() == [("a1", "time")]
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1

    def store(sender: str) -> int:
        with make_sessionmaker(engine)() as session:
            return store_inbound(
                session, mail_from=sender, rcpt_to=["forum@lists.test"], raw=b"Subject: x\r\n\r\n"
            )

    first, second = store("a@example.org"), store("b@example.org")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM inbound_message WHERE id = :id"), {"id": second})
    assert store("c@example.org") == second + 1 > first
    engine.dispose()
