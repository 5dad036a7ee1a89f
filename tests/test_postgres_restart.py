"""Fault: PostgreSQL goes down and comes back while `convene serve` runs. Nothing acknowledged is
lost and the service recovers by itself (SMTP, worker and web), with no restart of Convene.

The test runs its own PostgreSQL cluster (initdb in a temporary directory, a free port on
127.0.0.1) so that stopping it cannot disturb other tests sharing the main server.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import smtplib
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select

from mailer.domain.models import InboundMessage, InboundStatus
from tests.support.net import free_port, wait_for
from tests.support.servers import SmtpSink, convene_process


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


class PrivateCluster:
    """A throwaway PostgreSQL server owned by the ``postgres`` system user."""

    def __init__(self, root: Path, bin_dir: Path) -> None:
        self.dir, self.bin, self.port = root / "pgdata", bin_dir, free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *argv: str) -> None:
        subprocess.run([*self.as_postgres, *argv], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self.dir.mkdir(mode=0o700)
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.dir),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        )

    def start(self) -> None:
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.dir),
            "-w",
            "-l",
            str(self.dir / "server.log"),
            "-o",
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir), "-w", "-m", "fast", "stop")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    bin_dir = _pg_bin()
    usable = bin_dir is not None and (os.geteuid() != 0 or shutil.which("runuser"))
    if not usable:
        if os.environ.get("CONVENE_REQUIRE_POSTGRES", "") not in ("", "0"):
            pytest.fail(
                "PostgreSQL server binaries (initdb, pg_ctl) are required for the restart test"
            )
        pytest.skip("no PostgreSQL server binaries to run a private cluster")
    # Not under pytest's own temporary directory: that is private to us, and the server runs as
    # postgres.
    with tempfile.TemporaryDirectory(prefix="convene-pg-") as root:
        os.chmod(root, 0o755)
        server = PrivateCluster(Path(root), bin_dir)  # type: ignore[arg-type]
        server.init()
        server.start()
        try:
            yield server
        finally:
            try:
                server.stop()
            except subprocess.CalledProcessError:
                pass


@contextmanager
def disposing(engine: Engine) -> Iterator[Engine]:
    try:
        yield engine
    finally:
        engine.dispose()


def send(port: int, first: int, count: int) -> tuple[list[int], list[int]]:
    """Send numbered registrations; returns (acknowledged, refused) message numbers."""
    accepted, refused = [], []
    for i in range(first, first + count):
        message = (
            f"From: member{i}@example.org\r\nTo: forum@lists.test\r\nSubject: Forum\r\n"
            f"Message-ID: <restart-{i}@example.org>\r\n\r\nPlease register me, I will join "
            f"remotely.\r\n"
        )
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                client.sendmail(f"member{i}@example.org", ["forum@lists.test"], message.encode())
            accepted.append(i)
        except (smtplib.SMTPException, OSError):
            refused.append(i)  # a temporary refusal: the sender's MTA keeps the message and retries
    return accepted, refused


def test_postgres_restart_mid_run_loses_nothing_and_recovers(
    cluster: PrivateCluster, tmp_path: Path
) -> None:
    smtp_port, web_port = free_port(), free_port()
    with SmtpSink() as sink:
        config = tmp_path / "convene.toml"
        config.write_text(f"""
[service]
dev_mode = true
data_dir = "{tmp_path / "var"}"
base_url = "http://127.0.0.1:{web_port}"
[database]
url = "{cluster.url}"
[mail]
domain = "lists.test"
[inbound]
port = {smtp_port}
[web]
port = {web_port}
[delivery]
backend = "smtp"
[delivery.smarthost]
host = "127.0.0.1"
port = {sink.port}
security = "none"
timeout = 10.0
[worker]
poll_interval = 0.2
# A worker that claimed replies just as the database went away holds them until its lease runs out;
# a short lease keeps the test quick (in production the same happens after lease_seconds).
lease_seconds = 5
""")
        engine = create_engine(cluster.url)

        def processed() -> int:
            with engine.connect() as conn:
                return (
                    conn.scalar(
                        select(func.count())
                        .select_from(InboundMessage)
                        .where(
                            InboundMessage.status.in_([InboundStatus.DONE, InboundStatus.TRIAGE])
                        )
                    )
                    or 0
                )

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{web_port}/panel/", timeout=5
                ) as response:
                    return response.status == 200
            except OSError:
                return False

        with (
            convene_process(config, smtp_port) as (_, finished),
            disposing(engine),
        ):  # --demo: list "forum", meeting
            before, refused = send(smtp_port, 0, 10)
            assert refused == [] and len(before) == 10
            wait_for(lambda: processed() >= 10, timeout=60, message="the first ten processed")
            engine.dispose()

            cluster.stop()
            during, refused_during = send(smtp_port, 10, 3)
            # With the database down nothing can be stored, so nothing may be acknowledged.
            assert during == [] and refused_during == [10, 11, 12]
            cluster.start()

            after, refused = send(smtp_port, 13, 10)
            retried, refused_again = send(
                smtp_port, 10, 3
            )  # the senders' MTAs retry the refused ones
            assert refused == [] and refused_again == []
            wait_for(
                lambda: processed() >= 23,
                timeout=90,
                message="every acknowledged message processed",
            )
            wait_for(
                lambda: len({r.rcpt_tos[0] for r in sink.received}) >= 23,
                timeout=90,
                message="a reply to every sender",
            )
            wait_for(healthy, timeout=30, message="the panel answering again")
    assert finished[2] == "0", finished[1][-3000:]
    check = create_engine(cluster.url)
    with check.connect() as conn:
        rows = conn.execute(select(InboundMessage.message_id, InboundMessage.status)).all()
    check.dispose()
    ids = sorted(int(m.strip("<>").split("@")[0].split("-")[1]) for m, _ in rows)
    assert ids == list(range(23))  # every acknowledged message is there, once
    assert {r.rcpt_tos[0] for r in sink.received} == {f"member{i}@example.org" for i in range(23)}
    print(json.dumps({"acknowledged": 23, "refused_while_down": 3, "lost": 0}))
