"""Real worker processes: kill -9 loses nothing. (Several workers sharing one queue:
tests/test_scale_out.py.)"""

from __future__ import annotations

import signal
from pathlib import Path

from sqlalchemy import func, select

from mailer.domain.models import (
    OutboxMessage,
    OutboxStatus,
)
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.net import wait_for
from tests.support.servers import SmtpSink
from tests.support.workload import queue_news, seed_members, workers, write_config


def unsent(database: TestDatabase) -> int:
    with database.sessions() as s:
        return s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status != OutboxStatus.SENT)
        )


def test_kill_9_mid_batch_loses_nothing_and_duplicates_stay_within_one_batch(
    database: TestDatabase, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    with SmtpSink() as sink:
        config = make_test_config(tmp_path, database.url)
        seed_members(database, 1500)
        assert queue_news(database, config) == 1500
        path = write_config(tmp_path, database, sink, lease_seconds=2)
        with workers(path, 1) as [victim]:
            wait_for(
                lambda: len(sink.received) >= 450,
                timeout=120,
                interval=0.005,
                message="the worker to be mid-run",
            )
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
        at_kill = len(sink.received)
        assert at_kill < 1500, "the worker finished before it could be killed"
        with workers(path, 1):
            wait_for(
                lambda: len({r.rcpt_tos[0] for r in sink.received}) == 1500,
                timeout=120,
                interval=0.2,
                message="every recipient to get the message after the restart",
            )
            wait_for(lambda: unsent(database) == 0, timeout=60, message="every row marked sent")
        duplicates = len(sink.received) - 1500
        with capsys.disabled():
            print(
                f"\n[kill -9, {database.backend}] killed after {at_kill} deliveries; "
                f"duplicates after restart: {duplicates} (results are committed every 20 sends; "
                f"bound: one batch of 100)"
            )
        assert 0 <= duplicates <= 100
