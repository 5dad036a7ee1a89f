"""Scale-out on PostgreSQL, every part a real process: two `convene smtp`, three `convene worker`
and gunicorn with two workers. 5,000 inbound messages and a news mailing to 5,000 members: every
inbound
message is processed exactly once, every outbound message is delivered exactly once, and the API
(through gunicorn) shows the result."""

from __future__ import annotations

import asyncio
import json
import re
import smtplib
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import aiosmtplib
import pytest
from sqlalchemy import func, select

from mailer.domain.api_tokens import create_token
from mailer.domain.models import Base, InboundMessage, InboundStatus, OutboxMessage, OutboxStatus
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import make_meeting
from tests.support.net import free_port, wait_for
from tests.support.proof import dmarc_pass
from tests.support.servers import SmtpSink
from tests.support.workload import processes, queue_news, seed_members, write_config

MESSAGES = 5000
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.M | re.I)


async def blast(ports: list[int], count: int, concurrency: int = 8) -> int:
    numbers = iter(range(count))
    sent = 0

    async def connection(port: int) -> None:
        nonlocal sent
        async with aiosmtplib.SMTP(
            hostname="127.0.0.1", port=port, start_tls=False, timeout=60
        ) as client:
            for i in numbers:
                message = (
                    f"{dmarc_pass('x@example.org')}"
                    f"From: member{i:05}@example.org\r\nTo: forum@lists.test\r\nSubject: Forum\r\n"
                    f"Message-ID: <scale-{i}@example.org>\r\n\r\nPlease register me, I will join "
                    f"remotely.\r\n"
                )
                await client.sendmail(
                    f"member{i:05}@example.org", ["forum@lists.test"], message.encode()
                )
                sent += 1

    await asyncio.gather(*(connection(ports[n % len(ports)]) for n in range(concurrency)))
    return sent


@pytest.mark.timeout(600)
def test_two_smtp_three_workers_and_gunicorn_on_postgresql(
    postgresql_database: TestDatabase, tmp_path: Path
) -> None:
    database = postgresql_database
    database.empty(Base.metadata)
    with SmtpSink() as sink:
        base = write_config(tmp_path, database, sink, lease_seconds=300).read_text()
        smtp_ports, web_port = [free_port(), free_port()], free_port()
        configs = []
        for n, port in enumerate(smtp_ports):
            path = tmp_path / f"smtp-{n}.toml"
            listener = f'[inbound]\nhost = "127.0.0.1"\nport = {port}\n'
            path.write_text(base.replace("[inbound]\n", listener) + f"[web]\nport = {web_port}\n")
            configs.append(path)
        seed_members(database, MESSAGES)  # the list "forum" with 5,000 members
        meeting = make_meeting(database.sessions, capacity=None)
        with database.sessions() as s:
            token = create_token(s, name="website", actor="test")
        convene = [sys.executable, "-m", "mailer.cli"]
        commands = [([*convene, "smtp"], configs[0]), ([*convene, "smtp"], configs[1])]
        commands += [([*convene, "worker"], configs[0])] * 3
        commands += [
            (
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-w",
                    "2",
                    "--threads",
                    "4",
                    "-b",
                    f"127.0.0.1:{web_port}",
                    "web.wsgi:app",
                ],
                configs[0],
            )
        ]
        with processes(commands, tmp_path) as procs:

            def listening() -> bool:
                try:
                    for port in smtp_ports:
                        with smtplib.SMTP("127.0.0.1", port, timeout=2) as client:
                            client.noop()
                    with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/healthz", timeout=2):
                        return True
                except OSError:
                    return False

            wait_for(listening, timeout=60, message="both SMTP listeners and gunicorn up")
            assert queue_news(database, make_test_config(tmp_path, database.url)) == MESSAGES
            started = time.monotonic()
            assert asyncio.run(blast(smtp_ports, MESSAGES)) == MESSAGES
            accepted = time.monotonic() - started

            def inbound_done() -> int:
                with database.sessions() as s:
                    return (
                        s.scalar(
                            select(func.count())
                            .select_from(InboundMessage)
                            .where(InboundMessage.status == InboundStatus.DONE)
                        )
                        or 0
                    )

            wait_for(
                lambda: inbound_done() == MESSAGES,
                timeout=400,
                interval=0.5,
                message="every inbound message processed",
            )
            processed = time.monotonic() - started
            wait_for(
                lambda: len(sink.received) >= 2 * MESSAGES,
                timeout=200,
                interval=0.5,
                message="the news and every reply delivered",
            )
            delivered_after = time.monotonic() - started
            assert all(p.poll() is None for p in procs), "a process died"
            request = urllib.request.Request(
                f"http://127.0.0.1:{web_port}/api/meetings/{meeting.id}",
                headers={"Authorization": f"Bearer {token}"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                figures = json.load(response)
        with database.sessions() as s:
            attempts = s.scalars(select(InboundMessage.attempts)).all()
            kinds = Counter(s.scalars(select(OutboxMessage.kind)).all())
            unsent = s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status != OutboxStatus.SENT)
            )
            workers = s.scalars(select(OutboxMessage.leased_by).distinct()).all()
    assert len(attempts) == MESSAGES and set(attempts) == {1}  # each claimed and processed once
    assert kinds == {"news": MESSAGES, "registration_reply": MESSAGES} and unsent == 0
    delivered = Counter((r.rcpt_tos[0], MESSAGE_ID.search(r.raw).group(1)) for r in sink.received)
    assert len(delivered) == 2 * MESSAGES and set(delivered.values()) == {
        1
    }  # each delivered exactly once
    assert figures["counts"]["remote"] == MESSAGES
    assert len(workers) == 3, f"the three workers did not all deliver: {workers}"
    print(
        f"\n[scale-out] 5,000 inbound accepted in {accepted:.1f} s, processed after "
        f"{processed:.1f} s; "
        f"10,000 outbound delivered after {delivered_after:.1f} s"
    )
