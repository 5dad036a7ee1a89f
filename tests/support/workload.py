"""Many members, a queued news item and a configuration file for `convene` processes: the workload
of the tests that run real worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from sqlalchemy import insert, select

from mailer.domain.lists import create_list
from mailer.domain.models import Person, Subscription, SubscriptionStatus, utcnow
from mailer.domain.news import create_news, send_news_now
from mailer.domain.services import build_services
from tests.support.databases import TestDatabase
from tests.support.proof import AUTHSERV_ID
from tests.support.servers import SmtpSink


def seed_members(database: TestDatabase, count: int) -> None:
    with database.sessions() as s:
        mailing_list = create_list(s, slug="forum", name="Forum", actor="test")
    now = utcnow()
    with database.sessions() as s, s.begin():
        s.execute(
            insert(Person),
            [
                {"email": f"member{i:05}@example.org", "link_version": 1, "created_at": now}
                for i in range(count)
            ],
        )
        ids = s.scalars(select(Person.id)).all()
        s.execute(
            insert(Subscription),
            [
                {
                    "person_id": pid,
                    "list_id": mailing_list.id,
                    "created_at": now,
                    "updated_at": now,
                    "status": SubscriptionStatus.ACTIVE,
                    "bounce_score": 0,
                }
                for pid in ids
            ],
        )


def queue_news(database: TestDatabase, config) -> int:  # type: ignore[no-untyped-def]
    with database.sessions() as s:
        news = create_news(
            s,
            list_slug="forum",
            subject="News for everyone",
            body_markdown="Hello **all**",
            actor="test",
        )
    with database.sessions() as s:
        return send_news_now(s, build_services(config), news.id, actor="test")


def write_config(
    tmp_path: Path, database: TestDatabase, sink: SmtpSink, *, lease_seconds: int
) -> Path:
    path = tmp_path / "worker.toml"
    path.write_text(f"""
[service]
dev_mode = true
data_dir = "{tmp_path / "var"}"
secret_key = "{"s" * 48}"
[database]
url = "{database.url}"
[mail]
domain = "lists.test"
[inbound]
authserv_id = "{AUTHSERV_ID}"
[delivery]
backend = "smtp"
connections = 4
[delivery.smarthost]
host = "127.0.0.1"
port = {sink.port}
security = "none"
timeout = 10.0
[worker]
poll_interval = 0.2
batch_size = 100
lease_seconds = {lease_seconds}
# Load comes from thousands of addresses on no list: the cap on replies to strangers is lifted.
replies_to_non_members_per_hour = 1000000
""")
    return path


@contextmanager
def processes(
    commands: list[tuple[list[str], Path]], log_dir: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start each (argv, configuration file) as a process, its stderr in a log file; stopped
    (SIGTERM) at the end."""
    procs, logs = [], []
    try:
        for i, (argv, config) in enumerate(commands):
            log = open(log_dir / f"proc-{i}.log", "ab")
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    argv,
                    env={**os.environ, "CONVENE_CONFIG": str(config)},
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            )
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()


def workers(config_path: Path, count: int) -> AbstractContextManager[list[subprocess.Popen[bytes]]]:
    """``count`` `convene worker` processes on this configuration."""
    return processes(
        [([sys.executable, "-m", "mailer.cli", "worker"], config_path)] * count, config_path.parent
    )
