"""Running the processes: SMTP in, the worker, the web app, or all three at once.

``serve`` runs all of them in one process for development and small
installations; production may run each on its own (and the web app under
gunicorn), as many as needed, against one PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import BaseWSGIServer, make_server

from mailer.config import Config
from mailer.db import make_engine, make_sessionmaker
from mailer.domain.services import Services, build_services
from mailer.inbound.server import InboundServer
from mailer.outbound.senders import make_sender_pool
from mailer.worker import Worker

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    services: Services


def make_runtime(config: Config) -> Runtime:
    engine = make_engine(config.database_url, echo=config.database.echo)
    return Runtime(config, engine, make_sessionmaker(engine), build_services(config))


class WebThread:
    """The Flask app on werkzeug's threaded server, in a background thread."""

    def __init__(self, runtime: Runtime) -> None:
        from web import create_app

        app = create_app(
            runtime.config, session_factory=runtime.sessions, services=runtime.services
        )
        host, port = runtime.config.web.host, runtime.config.web.port
        try:
            self.server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        except (
            SystemExit
        ):  # werkzeug exits when the port is taken; report it like any other bind error
            raise OSError(
                f"cannot listen on {host}:{port}: the address is already in use"
            ) from None
        self.port = self.server.server_port
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="convene-web",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()
        log.info("web listening on http://%s:%s", self.server.host, self.port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass


async def serve(
    runtime: Runtime,
    *,
    smtp: bool = True,
    worker: bool = True,
    web: bool = True,
    stop: asyncio.Event | None = None,
    ready: threading.Event | None = None,
) -> None:
    """Run the chosen parts until ``stop`` is set or SIGINT/SIGTERM arrives, then stop cleanly."""
    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    the_worker = (
        Worker(runtime.config, runtime.sessions, runtime.services, make_sender_pool(runtime.config))
        if worker
        else None
    )
    inbound = (
        InboundServer(
            runtime.config,
            runtime.sessions,
            on_stored=(lambda _id: the_worker.wake()) if the_worker else None,
        )
        if smtp
        else None
    )
    web_thread = WebThread(runtime) if web else None
    worker_task: asyncio.Task[None] | None = None
    try:
        if inbound:
            await inbound.start()
        if web_thread:
            web_thread.start()
        if the_worker:
            worker_task = asyncio.create_task(the_worker.run(stop))
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        log.info("stopping")
        if inbound:
            await inbound.stop()
        if worker_task:
            stop.set()
            await worker_task
        if web_thread:
            web_thread.stop()
