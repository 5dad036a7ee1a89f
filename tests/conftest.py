"""Shared fixtures: real databases (SQLite and PostgreSQL), real servers on free ports."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url

from mailer.cli import cli
from mailer.config import Config, load_config
from mailer.db import make_engine, make_sessionmaker, migrate
from mailer.domain.models import Base
from mailer.domain.services import build_services
from tests.support.databases import TestDatabase
from tests.support.net import free_port
from tests.support.proof import AUTHSERV_ID

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _require(var: str) -> bool:
    return os.environ.get(var, "") not in ("", "0", "false", "no")


def _worker_tag(request: pytest.FixtureRequest) -> str:
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    return f"{worker}_{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    path = tmp_path_factory.mktemp("db") / "convene.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate(engine)
    yield TestDatabase(url, engine, make_sessionmaker(engine))
    engine.dispose()


@pytest.fixture(scope="session")
def postgresql_database(request: pytest.FixtureRequest) -> Iterator[TestDatabase]:
    admin_url = os.environ.get("CONVENE_TEST_POSTGRES_URL", DEFAULT_PG_URL)
    try:
        admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # no server here: fail in CI, skip on a laptop
        if _require("CONVENE_REQUIRE_POSTGRES"):
            pytest.fail(
                f"PostgreSQL is required (CONVENE_REQUIRE_POSTGRES=1) but unreachable at "
                f"{admin_url}: {exc}"
            )
        pytest.skip(
            f"PostgreSQL not reachable at {admin_url} (set CONVENE_TEST_POSTGRES_URL): {exc}"
        )
    name = f"convene_test_{_worker_tag(request)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin.url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate(engine)
    yield TestDatabase(url, engine, make_sessionmaker(engine))
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> TestDatabase:
    """A migrated, emptied database: every storage test runs on both backends."""
    db: TestDatabase = request.getfixturevalue(f"{request.param}_database")
    db.empty(Base.metadata)
    return db


@pytest.fixture
def sqlite_only_database(sqlite_database: TestDatabase) -> TestDatabase:
    sqlite_database.empty(Base.metadata)
    return sqlite_database


@pytest.fixture
def config(tmp_path: Path, database: TestDatabase) -> Config:
    return make_test_config(tmp_path, database.url)


def make_test_config(tmp_path: Path, url: str, **sections: dict) -> Config:
    """Dev-mode configuration on free ports, with a tmp data dir."""
    web_port = free_port()
    base = load_config(environ={}).replace(
        service={
            "data_dir": str(tmp_path / "var"),
            "base_url": f"http://127.0.0.1:{web_port}",
            "secret_key": "test-secret-key-" + "x" * 40,
            "dev_mode": True,
        },
        database={"url": url},
        mail={"domain": "lists.test"},
        inbound={"host": "127.0.0.1", "port": free_port(), "authserv_id": AUTHSERV_ID},
        web={"host": "127.0.0.1", "port": web_port},
        worker={"poll_interval": 0.2, "retry_base_seconds": 0.5},
    )
    return base.replace(**sections) if sections else base


@pytest.fixture
def services(config: Config):  # type: ignore[no-untyped-def]
    return build_services(config)


@pytest.fixture
def session(database: TestDatabase):  # type: ignore[no-untyped-def]
    with database.sessions() as s:
        yield s


@pytest.fixture
def cli_env(tmp_path: Path, database: TestDatabase, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "convene.toml"
    config.write_text(
        f'[service]\ndev_mode = true\ndata_dir = "{tmp_path / "var"}"\n'
        f'[database]\nurl = "{database.url}"\n[mail]\ndomain = "lists.test"\n'
    )
    monkeypatch.setenv("CONVENE_CONFIG", str(config))
    return config


def run(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
    """``convene *argv`` in this process through click's test runner: (exit status, stdout, stderr).

    An exception no command handles is raised here, with its traceback, rather than
    becoming exit status 1.
    """
    result = CliRunner().invoke(
        cli, list(argv), input=stdin, prog_name="convene", catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr
