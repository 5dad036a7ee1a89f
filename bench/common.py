"""Helpers shared by the benchmarks (not by the product)."""

from __future__ import annotations

import json
import logging
import platform
import socket
from pathlib import Path

from mailer.config import load_config
from mailer.db import make_engine, make_sessionmaker, migrate
from mailer.domain.lists import create_list
from mailer.domain.models import Base
from mailer.domain.services import build_services
from mailer.runtime import Runtime

logging.getLogger("werkzeug").setLevel(logging.WARNING)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_runtime(
    tmp: Path, *, domain: str = "bench.test", web_port: int | None = None, database_url: str = ""
) -> Runtime:
    """A dev-mode runtime with one list, on a new SQLite database in ``tmp`` or, given
    ``database_url``, on that database emptied first (every table's rows are deleted)."""
    web_port = web_port or free_port()
    config = load_config(environ={}).replace(
        service={
            "data_dir": str(tmp),
            "secret_key": "bench-" + "k" * 40,
            "dev_mode": True,
            "base_url": f"http://127.0.0.1:{web_port}",
        },
        database={"url": database_url},
        mail={"domain": domain},
        inbound={"port": free_port()},
        web={"port": web_port},
    )
    engine = make_engine(config.database_url)
    migrate(engine)
    if database_url:
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        create_list(s, slug="forum", name="Bench Forum", actor="bench")
    return Runtime(config, engine, sessions, build_services(config))


def report(title: str, figures: dict[str, object]) -> dict[str, object]:
    result = {"benchmark": title, "python": platform.python_version(), **figures}
    print(json.dumps(result))
    return result
