"""Real worker processes: several deliver one queue exactly once; kill -9 loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, insert, select

from mailer.domain.lists import create_list
from mailer.domain.models import (
    OutboxMessage,
    OutboxStatus,
    Person,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from mailer.domain.news import create_news, send_news_now
from mailer.domain.services import build_services
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.net import wait_for
from tests.support.servers import SmtpSink


def seed_members(database: TestDatabase, count: int) -> None:
    with database.sessions() as s:
        mailing_list = create_list(s, slug="forum", name="Forum", actor="test")
    now = utcnow()
    with database.sessions() as s, s.begin():
        s.execute(insert(Person), [{"email": f"member{i:05}@example.org", "link_version": 1, "created_at": now}
                                   for i in range(count)])
        ids = s.scalars(select(Person.id)).all()
        s.execute(insert(Subscription), [{"person_id": pid, "list_id": mailing_list.id, "created_at": now,
                                          "updated_at": now, "status": SubscriptionStatus.ACTIVE, "bounce_score": 0}
                                         for pid in ids])


def queue_news(database: TestDatabase, config) -> int:  # type: ignore[no-untyped-def]
    with database.sessions() as s:
        news = create_news(s, list_slug="forum", subject="News for everyone", body_markdown="Hello **all**",
                           actor="test")
    with database.sessions() as s:
        return send_news_now(s, build_services(config), news.id, actor="test")


def write_config(tmp_path: Path, database: TestDatabase, sink: SmtpSink, *, lease_seconds: int) -> Path:
    path = tmp_path / "worker.toml"
    path.write_text(f"""
[service]
dev_mode = true
data_dir = "{tmp_path / 'var'}"
secret_key = "{'s' * 48}"
[database]
url = "{database.url}"
[mail]
domain = "lists.test"
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
""")
    return path


@contextmanager
def workers(config_path: Path, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = {**os.environ, "CONVENE_CONFIG": str(config_path)}
    logs = [open(config_path.parent / f"worker-{os.getpid()}-{i}-{id(config_path)}.log", "ab")
            for i in range(count)]
    procs = [subprocess.Popen([sys.executable, "-m", "mailer.cli", "worker"], env=env,
                              stdout=subprocess.DEVNULL, stderr=log) for log in logs]
    try:
        yield procs
    finally:
        for log in logs:
            log.close()
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def unsent(database: TestDatabase) -> int:
    with database.sessions() as s:
        return s.scalar(select(func.count()).select_from(OutboxMessage)
                        .where(OutboxMessage.status != OutboxStatus.SENT))


def test_three_worker_processes_deliver_5000_exactly_once(postgresql_database: TestDatabase,
                                                          tmp_path: Path) -> None:
    from mailer.domain.models import Base

    database = postgresql_database
    database.empty(Base.metadata)
    with SmtpSink() as sink:
        config = make_test_config(tmp_path, database.url)
        seed_members(database, 5000)
        with workers(write_config(tmp_path, database, sink, lease_seconds=300), 3) as procs:
            logs = sorted(tmp_path.glob("worker-*.log"))
            wait_for(lambda: all("started" in log.read_text() for log in logs), timeout=60,
                     message="all three workers running")
            assert queue_news(database, config) == 5000
            wait_for(lambda: len(sink.received) >= 5000, timeout=180, interval=0.2,
                     message="5,000 deliveries at the sink")
            wait_for(lambda: unsent(database) == 0, timeout=60, message="every row marked sent")
            assert all(p.poll() is None for p in procs), "a worker died"
        counts = Counter(r.rcpt_tos[0] for r in sink.received)
        assert len(counts) == 5000 and set(counts.values()) == {1}, "a message was sent twice or not at all"
        with database.sessions() as s:
            leased_by = s.scalars(select(OutboxMessage.leased_by).distinct()).all()
        assert len(leased_by) >= 2, f"work was not shared between the workers: {leased_by}"


def test_kill_9_mid_batch_loses_nothing_and_duplicates_stay_within_one_batch(
        database: TestDatabase, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    with SmtpSink() as sink:
        config = make_test_config(tmp_path, database.url)
        seed_members(database, 1500)
        assert queue_news(database, config) == 1500
        path = write_config(tmp_path, database, sink, lease_seconds=2)
        with workers(path, 1) as [victim]:
            wait_for(lambda: len(sink.received) >= 450, timeout=120, interval=0.005,
                     message="the worker to be mid-run")
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
        at_kill = len(sink.received)
        assert at_kill < 1500, "the worker finished before it could be killed"
        with workers(path, 1):
            wait_for(lambda: len({r.rcpt_tos[0] for r in sink.received}) == 1500, timeout=120, interval=0.2,
                     message="every recipient to get the message after the restart")
            wait_for(lambda: unsent(database) == 0, timeout=60, message="every row marked sent")
        duplicates = len(sink.received) - 1500
        with capsys.disabled():
            print(f"\n[kill -9, {database.backend}] killed after {at_kill} deliveries; "
                  f"duplicates after restart: {duplicates} (results are committed every 20 sends; bound: one batch of 100)")
        assert 0 <= duplicates <= 100
