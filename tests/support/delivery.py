"""Running one delivery pass of the worker from a test."""

from __future__ import annotations

import asyncio

from mailer.config import Config
from mailer.domain.services import build_services
from mailer.outbound.compose import Composer, make_dkim_signer
from mailer.outbound.delivery import deliver_batch
from mailer.outbound.senders import Sender, SenderPool, make_sender_pool
from tests.support.databases import TestDatabase


def deliver_once(database: TestDatabase, config: Config, sender: Sender | None = None) -> int:
    """Claim and send one batch with the configured senders (or ``sender``); returns rows
    claimed."""
    pool = SenderPool([sender]) if sender is not None else make_sender_pool(config)
    composer = Composer(config, build_services(config).links, make_dkim_signer(config))

    async def go() -> int:
        try:
            return await deliver_batch(database.sessions, pool, composer, config, "test-worker")
        finally:
            await pool.close()

    return asyncio.run(go())
