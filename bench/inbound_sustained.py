"""Inbound at a sustained rate: `convene smtp` and `convene worker` as real processes on SQLite,
offered a fixed number of messages per second for a fixed time (127.0.0.1 only).

Reports what a mail server in front would see (messages acknowledged, SMTP latency p50/p99,
temporary errors), whether processing kept up (the backlog when sending stops and how long it
takes to drain), that nothing acknowledged was lost, and how long a member waits for the
answer: from handing the message over to the reply landing in the dev mailbox (p50/p99).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosmtplib

from bench.common import AUTHSERV_ID, PROVEN, free_port, report
from mailer.config import load_config
from mailer.db import make_engine, make_sessionmaker, migrate
from mailer.domain.lists import create_list
from mailer.domain.meetings import create_meeting


def message(i: int) -> bytes:
    """A registration through an MTA that saw it pass DMARC, so it is acted on at once."""
    return (
        PROVEN
        + (
            f"From: Member {i} <member{i}@example.org>\r\n"
            "To: forum@bench.test\r\nSubject: Forum\r\n"
            f"Message-ID: <sustained-{i}@example.org>\r\n\r\nPlease register me, I will join "
            f"remotely.\r\n\r\n"
            f"Thanks,\r\nMember {i}\r\n"
        ).encode()
    )


async def offer(
    port: int, rate: float, seconds: float, connections: int, sent_at: dict[int, float]
) -> tuple[list[float], int, int]:
    """Send message i at start + i/rate over a pool of connections; returns latencies, sent,
    errors. ``sent_at`` gets the wall-clock time each message was handed over."""
    total = int(rate * seconds)
    queue: asyncio.Queue[int] = asyncio.Queue()
    latencies: list[float] = []
    errors = 0
    start = time.monotonic()

    async def producer() -> None:
        for i in range(total):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the offered load, not synchronising a result
            queue.put_nowait(i)
        for _ in range(connections):
            queue.put_nowait(-1)

    async def connection() -> None:
        nonlocal errors
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=60)
        await client.connect()
        try:
            while (i := await queue.get()) >= 0:
                began = time.monotonic()
                sent_at[i] = time.time()
                try:
                    await client.sendmail(
                        f"member{i}@example.org", ["forum@bench.test"], message(i)
                    )
                    latencies.append(time.monotonic() - began)
                except aiosmtplib.SMTPResponseException:
                    errors += 1
        finally:
            await client.quit()

    await asyncio.gather(producer(), *(connection() for _ in range(connections)))
    return latencies, total, errors


async def _noop(port: int) -> None:
    async with aiosmtplib.SMTP(
        hostname="127.0.0.1", port=port, start_tls=False, timeout=5
    ) as client:
        await client.noop()


_REPLY_TO = re.compile(
    rb"^In-Reply-To: <sustained-(\d+)@example\.org>", re.MULTILINE | re.IGNORECASE
)


def reply_waits(mailbox: Path, sent_at: dict[int, float]) -> list[float]:
    """Seconds from handing message i over to its reply being written to the dev mailbox (the
    file's modification time), for every reply there."""
    waits = []
    for path in (mailbox / "new").iterdir():
        found = _REPLY_TO.search(path.read_bytes())
        if found and int(found.group(1)) in sent_at:
            waits.append(path.stat().st_mtime - sent_at[int(found.group(1))])
    return waits


def count(db: Path, where: str) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute(f"SELECT count(*) FROM inbound_message WHERE {where}").fetchone()[0]


def main() -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=40, help="messages offered per second")
    parser.add_argument("--seconds", type=float, default=60, help="how long to offer them")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="convene worker processes")
    parser.add_argument(
        "--messages-per-transaction",
        type=int,
        default=None,
        help="[worker] messages_per_transaction (default: the configured default)",
    )
    parser.add_argument(
        "--drain-seconds", type=float, default=300, help="bound on waiting for the backlog"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db, port = Path(tmp) / "convene.db", free_port()
        config_path = Path(tmp) / "convene.toml"
        config_path.write_text(
            f'[service]\ndev_mode = true\nsecret_key = "{"k" * 48}"\ndata_dir = "{tmp}"\n'
            f'[database]\nurl = "sqlite:///{db}"\n[mail]\ndomain = "bench.test"\n'
            f'[inbound]\nport = {port}\nauthserv_id = "{AUTHSERV_ID}"\n'
            f"[worker]\npoll_interval = 0.2\nreplies_per_sender_per_hour = 10\n"
            # Every sender is new: the service-wide cap on replies to strangers is lifted.
            f"replies_to_non_members_per_hour = 1000000\n"
            + (
                f"messages_per_transaction = {args.messages_per_transaction}\n"
                if args.messages_per_transaction is not None
                else ""
            )
            + '[delivery]\nbackend = "maildir"\n'
        )
        config = load_config(config_path)
        engine = make_engine(config.database_url)
        migrate(engine)
        sessions = make_sessionmaker(engine)
        with sessions() as s:
            create_list(s, slug="forum", name="Bench Forum", actor="bench")
        starts = datetime.now(UTC) + timedelta(days=14)
        with sessions() as s:
            create_meeting(
                s,
                list_slug="forum",
                title="Bench Forum",
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                venue="Room 1",
                actor="bench",
            )
        engine.dispose()

        env = {**os.environ, "CONVENE_CONFIG": str(config_path)}
        convene = [sys.executable, "-m", "mailer.cli"]
        procs = [subprocess.Popen([*convene, "smtp"], env=env, stderr=subprocess.DEVNULL)]
        procs += [
            subprocess.Popen([*convene, "worker"], env=env, stderr=subprocess.DEVNULL)
            for _ in range(args.workers)
        ]
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    asyncio.run(_noop(port))
                    break
                except (OSError, aiosmtplib.SMTPException):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)  # waiting for the server to start, not synchronising a result
            started = time.monotonic()
            sent_at: dict[int, float] = {}
            latencies, offered, errors = asyncio.run(
                offer(port, args.rate, args.seconds, args.connections, sent_at)
            )
            sending = time.monotonic() - started
            done = "status IN ('done', 'triage', 'ignored')"
            backlog_at_end = count(db, "1=1") - count(db, done)
            drain_deadline = time.monotonic() + args.drain_seconds
            while count(db, done) < len(latencies) and time.monotonic() < drain_deadline:
                time.sleep(0.2)  # polling the database for the backlog, bounded by --drain-seconds
            drained_after = time.monotonic() - started - sending
            stored, processed = count(db, "1=1"), count(db, done)
            mailbox = config.maildir_path / "new"
            while (
                sum(1 for _ in mailbox.iterdir()) < processed and time.monotonic() < drain_deadline
            ):
                time.sleep(0.2)  # polling the dev mailbox for the replies, bounded as above
            waits = sorted(reply_waits(config.maildir_path, sent_at))
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGINT)
            for proc in procs:
                proc.wait(timeout=30)

    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    w = statistics.quantiles(waits, n=100) if len(waits) > 1 else [0.0] * 99
    return report(
        "inbound at a sustained rate: convene smtp + worker processes, SQLite",
        {
            "offered_msgs_per_s": args.rate,
            "seconds": args.seconds,
            "connections": args.connections,
            "worker_processes": args.workers,
            "messages_per_transaction": config.worker.messages_per_transaction,
            "offered": offered,
            "acknowledged": len(latencies),
            "acknowledged_per_s": round(len(latencies) / sending, 1),
            "temporary_errors": errors,
            "smtp_p50_ms": round(q[49] * 1000, 1),
            "smtp_p99_ms": round(q[98] * 1000, 1),
            "backlog_when_sending_stopped": backlog_at_end,
            "drained_s_after_sending": round(drained_after, 1),
            "processed": processed,
            "replies_in_mailbox": len(waits),
            "reply_wait_p50_ms": round(w[49] * 1000, 1),
            "reply_wait_p99_ms": round(w[98] * 1000, 1),
            "lost": len(latencies) - stored,
        },
    )


if __name__ == "__main__":
    main()
