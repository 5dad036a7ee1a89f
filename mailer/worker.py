"""The worker: processes stored inbound mail and delivers the outbox, in a loop.

Any number of workers may run against one database; the queue leases make
sure each row is handled by one of them at a time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from mailer.config import Config
from mailer.domain.consultations import apply_answer_retention
from mailer.domain.health import forget_worker, record_heartbeat
from mailer.domain.imports import run_import_step
from mailer.domain.news import send_due_news
from mailer.domain.organiser_notices import send_organiser_notices
from mailer.domain.queue import claim_inbound
from mailer.domain.rate_limits import forget_old_requests
from mailer.domain.rsvp import apply_access_needs_retention
from mailer.domain.schedules import send_due_schedules
from mailer.domain.services import Services
from mailer.domain.triage import apply_retention
from mailer.domain.waitlist import lapse_offers
from mailer.inbound.process import process_inbound_batch
from mailer.outbound.compose import Composer, make_dkim_signer
from mailer.outbound.delivery import deliver_batch
from mailer.outbound.senders import SenderPool

log = logging.getLogger(__name__)

#: Seconds between retention passes (the check is cheap, but there is no need to run it every
#: second).
RETENTION_EVERY = 600.0
#: How often organisers' chosen notices are looked at (each chooses how often they are sent).
NOTICES_EVERY = 30.0
#: Seconds between a worker's heartbeats (what /healthz and /metrics read).
HEARTBEAT_EVERY = 10.0


class Worker:
    def __init__(
        self,
        config: Config,
        session_factory: sessionmaker[Session],
        services: Services,
        senders: SenderPool,
        worker_id: str | None = None,
    ) -> None:
        self.config = config
        self.session_factory = session_factory
        self.services = services
        self.senders = senders
        self.composer = Composer(config, services.links, make_dkim_signer(config))
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._wakeup: asyncio.Event | None = None
        self._last_retention = -RETENTION_EVERY
        self._last_notices = -NOTICES_EVERY
        self._last_heartbeat = -HEARTBEAT_EVERY
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Ask the worker to look for work now; safe to call from any thread."""
        if self._loop is not None and self._wakeup is not None:
            self._loop.call_soon_threadsafe(self._wakeup.set)

    def _claim_inbound(self) -> list[int]:
        settings = self.config.worker
        with self.session_factory() as session:
            return claim_inbound(
                session,
                limit=settings.batch_size,
                lease=timedelta(seconds=settings.lease_seconds),
                worker_id=self.worker_id,
            )

    def _send_due_news(self) -> list[int]:
        with self.session_factory() as session:
            return send_due_news(session, self.services)

    def _apply_retention(self) -> tuple[int, int]:
        retention = self.config.retention
        with self.session_factory() as session:
            return (
                apply_retention(session, inbound_days=retention.inbound_days),
                apply_answer_retention(session, days=retention.answers_days)
                + apply_access_needs_retention(session, days_after=retention.access_needs_days)
                + forget_old_requests(session),
            )

    def _import_members(self, seconds: float = 2.0) -> list[str]:
        """A few chunks of queued member imports (bounded in time, so delivery is not held up)."""
        done = []
        deadline = time.monotonic() + seconds
        with self.session_factory() as session:
            while time.monotonic() < deadline and (job := run_import_step(session)) is not None:
                done.append(f"import {job.id}: {job.done} of {job.total}")
        return done

    def _forget_heartbeat(self) -> None:
        with self.session_factory() as session:
            forget_worker(session, self.worker_id)

    def _heartbeat(self) -> None:
        with self.session_factory() as session:
            record_heartbeat(session, self.worker_id)

    def _send_organiser_notices(self) -> list[str]:
        with self.session_factory() as session:
            return send_organiser_notices(session, self.services)

    def _send_due_schedules(self) -> list[str]:
        """Agendas and reminders whose time has come, and held places whose time has passed."""
        with self.session_factory() as session:
            return send_due_schedules(session, self.services) + lapse_offers(session, self.services)

    async def run_once(self) -> int:
        """One pass: due schedules, a batch of inbound mail, a batch of outbound. Returns rows
        handled."""
        handled = 0
        for news_id in await asyncio.to_thread(self._send_due_news):
            log.info("scheduled news %s queued", news_id)
            handled += 1
        for done in await asyncio.to_thread(self._send_due_schedules):
            log.info("schedule: %s", done)
            handled += 1
        for done in await asyncio.to_thread(self._import_members):
            log.info("%s", done)
            handled += 1
        now = time.monotonic()
        if now - self._last_heartbeat > HEARTBEAT_EVERY:
            self._last_heartbeat = now
            await asyncio.to_thread(self._heartbeat)
        if now - self._last_notices > NOTICES_EVERY:
            self._last_notices = now
            for done in await asyncio.to_thread(self._send_organiser_notices):
                log.info("notice: %s", done)
                handled += 1
        if now - self._last_retention > RETENTION_EVERY:
            self._last_retention = now
            removed, answers = await asyncio.to_thread(self._apply_retention)
            if removed:
                log.info("retention: deleted the raw text of %d old inbound message(s)", removed)
            if answers:
                log.info(
                    "retention: deleted %d answer(s), offer(s) and access note(s) past their time",
                    answers,
                )
        claimed = await asyncio.to_thread(self._claim_inbound)
        if claimed:
            outcomes = await asyncio.to_thread(
                process_inbound_batch, self.session_factory, self.services, claimed
            )
            for inbound_id, outcome in outcomes.items():
                log.info("inbound %s: %s", inbound_id, outcome.summary)
            handled += len(claimed)
        handled += await deliver_batch(
            self.session_factory, self.senders, self.composer, self.config, self.worker_id
        )
        return handled

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        log.info("worker %s started", self.worker_id)
        try:
            while not stop.is_set():
                try:
                    handled = await self.run_once()
                except Exception:
                    log.exception("worker pass failed; retrying shortly")
                    handled = 0
                if handled:
                    continue
                self._wakeup.clear()
                waiters = [
                    asyncio.ensure_future(stop.wait()),
                    asyncio.ensure_future(self._wakeup.wait()),
                ]
                await asyncio.wait(
                    waiters,
                    timeout=self.config.worker.poll_interval,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for waiter in waiters:
                    waiter.cancel()
        finally:
            await self.senders.close()
            try:
                await asyncio.to_thread(self._forget_heartbeat)
            except Exception:  # the database may be what stopped us
                log.exception("could not clear worker %s's heartbeat", self.worker_id)
            log.info("worker %s stopped", self.worker_id)
