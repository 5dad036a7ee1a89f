"""A 250 after DATA means the message is on stable storage, as Postfix's does: the system calls
of a real `convene smtp` on SQLite, traced with strace, show the database's write-ahead log
flushed to disk (fdatasync) between each message's DATA and its 250. (On PostgreSQL the same
promise is the server's: a commit returns once its WAL is flushed, with the default
synchronous_commit = on.)"""

from __future__ import annotations

import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.net import free_port, wait_for

MESSAGES = 3


def _strace() -> str:
    path = shutil.which("strace")
    if path is None:
        if os.environ.get("CONVENE_REQUIRE_STRACE", "") not in ("", "0", "false", "no"):
            pytest.fail("strace is required (CONVENE_REQUIRE_STRACE=1): apt-get install strace")
        pytest.skip("strace is not installed")
    return path


def test_every_250_follows_a_flush_of_the_database_to_disk(tmp_path: Path) -> None:
    strace = _strace()
    smtp_port, web_port = free_port(), free_port()
    config = tmp_path / "convene.toml"
    config.write_text(
        f'[service]\ndev_mode = true\ndata_dir = "{tmp_path / "var"}"\n'
        f'base_url = "http://127.0.0.1:{web_port}"\n'
        f"[inbound]\nport = {smtp_port}\n[web]\nport = {web_port}\n"
    )
    env = {**os.environ, "CONVENE_CONFIG": str(config)}
    convene = [sys.executable, "-m", "mailer.cli"]
    for command in (["init"], ["list", "create", "forum", "--name", "Forum"]):
        done = subprocess.run([*convene, *command], env=env, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr
    trace = tmp_path / "trace.txt"
    proc = subprocess.Popen(
        [
            strace,
            "-f",
            "-y",
            "-s",
            "60",
            "-e",
            "trace=fsync,fdatasync,sendto,write",
            "-o",
            str(trace),
            *convene,
            "smtp",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        def listening() -> bool:
            try:
                with smtplib.SMTP("127.0.0.1", smtp_port, timeout=2) as client:
                    return client.noop()[0] == 250
            except OSError:
                return False

        wait_for(listening, timeout=60, message="convene smtp under strace")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
            for n in range(MESSAGES):
                client.sendmail(
                    "sam@example.org",
                    ["forum@convene.localhost"],
                    f"Subject: {n}\r\nMessage-ID: <{n}@example.org>\r\n\r\nHello.\r\n",
                )
    finally:
        # Ctrl-C for convene itself (strace, told, would only let go of it); strace then ends.
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        for child in children:
            os.kill(int(child), signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    lines = trace.read_text().splitlines()
    flushed = re.compile(r"f(data)?sync\(\d+<[^>]*convene\.db(-wal)?>\) = 0")
    answers = [i for i, line in enumerate(lines) if '"250 2.0.0' in line]
    datas = [i for i, line in enumerate(lines) if '"354 ' in line]
    assert len(answers) == MESSAGES and len(datas) == MESSAGES, "\n".join(lines[-40:])
    for data, answer in zip(datas, answers, strict=True):
        between = lines[data:answer]
        assert any(flushed.search(line) for line in between), "\n".join(between)
