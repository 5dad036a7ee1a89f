"""200 SMTP connections at once: every message acknowledged is stored, and the server stays
responsive."""

from __future__ import annotations

import asyncio
import smtplib
import time
from pathlib import Path

import aiosmtplib
from sqlalchemy import func, select

from mailer.domain.models import InboundMessage
from mailer.domain.services import build_services
from mailer.runtime import Runtime
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import make_list
from tests.support.servers import RunningService


def test_two_hundred_concurrent_connections(database: TestDatabase, tmp_path: Path) -> None:
    config = make_test_config(tmp_path, database.url)
    make_list(database.sessions)
    runtime = Runtime(config, database.engine, database.sessions, build_services(config))
    with RunningService(runtime, worker=False, web=False):

        async def one(i: int) -> bool:
            message = (
                f"From: p{i}@example.org\r\nMessage-ID: <c{i}@example.org>\r\nSubject: {i}\r\n\r\n"
                f"Please register me ({i})\r\n"
            ).encode()
            try:
                async with aiosmtplib.SMTP(
                    hostname=config.inbound.host,
                    port=config.inbound.port,
                    timeout=60,
                    start_tls=False,
                ) as client:
                    errors, response = await client.sendmail(
                        f"p{i}@example.org", ["forum@lists.test"], message
                    )
                    return not errors and response.startswith("2")
            except aiosmtplib.SMTPException:
                return False

        async def all_at_once() -> list[bool]:
            return await asyncio.gather(*(one(i) for i in range(200)))

        acknowledged = asyncio.run(all_at_once())
        # Still responsive afterwards.
        started = time.monotonic()
        with smtplib.SMTP(config.inbound.host, config.inbound.port, timeout=10) as client:
            assert client.noop()[0] == 250
        assert time.monotonic() - started < 5
    with database.sessions() as s:
        stored = s.scalar(select(func.count()).select_from(InboundMessage))
    assert sum(acknowledged) == 200
    assert stored == sum(acknowledged)  # nothing acknowledged and then lost
