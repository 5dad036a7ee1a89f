"""Real servers for tests: an SMTP sink standing in for the smarthost, and Convene itself."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import smtplib
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailer.config import Config
from mailer.runtime import Runtime, serve
from tests.support.net import free_port, wait_for


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    peer: tuple[str, int] | None = None
    #: The MAIL FROM parameters (SMTPUTF8, SIZE=...).
    mail_options: list[str] = field(default_factory=list)

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return part.get_content()


@dataclass
class SinkHandler:
    """Accepts and records messages, or misbehaves as scripted, one script entry per message:
    an SMTP reply ("421 4.3.2 shutting down", "450 ...", "550 ..."), "drop" (close the
    connection without answering) or "stall" (say nothing for ``stall_seconds``, then 451)."""

    received: list[Received] = field(default_factory=list)
    scripted: list[str] = field(default_factory=list)
    stall_seconds: float = 5.0
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.attempts += 1
            action = self.scripted.pop(0) if self.scripted else None
        if action == "drop":
            server.transport.abort()
            return "421 4.4.2 connection dropped"
        if action == "stall":
            await asyncio.sleep(self.stall_seconds)
            return "451 4.4.2 too slow"
        if action is not None:
            if action.startswith("421"):  # 421: the reply goes out, then the server hangs up
                asyncio.get_running_loop().call_soon(server.transport.close)
            return action
        with self.lock:
            self.received.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    envelope.original_content,
                    session.peer,
                    list(envelope.mail_options),
                )
            )
        return "250 OK"


class SmtpSink:
    """aiosmtpd on a free 127.0.0.1 port, recording every message it accepts; it offers SMTPUTF8
    (RFC 6531) unless told not to."""

    def __init__(self, *, smtputf8: bool = True) -> None:
        self.handler = SinkHandler()
        self.port = free_port()
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=smtputf8
        )

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
        # aiosmtpd's stop() closes its event loop without closing connections a client was still
        # quitting (here: worker processes shutting down); collect those now, quietly, rather than
        # let them surface as warnings in whichever test runs next.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def wait_for_count(self, count: int, timeout: float = 20.0) -> list[Received]:
        return wait_for(
            lambda: self.received if len(self.received) >= count else None,
            timeout=timeout,
            message=f"{count} message(s) at the SMTP sink",
        )

    def smarthost_settings(self) -> dict[str, object]:
        return {
            "backend": "smtp",
            "smarthost": {
                "host": "127.0.0.1",
                "port": self.port,
                "security": "none",
                "timeout": 10.0,
            },
        }


@contextmanager
def convene_process(
    config_path: Path, smtp_port: int, extra_env: dict[str, str] | None = None, demo: bool = True
) -> Iterator[tuple[subprocess.CompletedProcess[str], list[str]]]:
    """`convene init` then `convene serve` as real processes; yields init's result and, once the
    server has stopped (SIGINT), ``[stdout, stderr, returncode]`` of serve are filled in."""
    env = {**os.environ, "CONVENE_CONFIG": str(config_path), **(extra_env or {})}
    convene = [sys.executable, "-m", "mailer.cli"]
    init = subprocess.run(
        [*convene, "init", *(["--demo"] if demo else [])],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert init.returncode == 0, init.stderr
    proc = subprocess.Popen(
        [*convene, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    finished: list[str] = []
    try:

        def smtp_up() -> bool:
            try:
                with smtplib.SMTP("127.0.0.1", smtp_port, timeout=2) as client:
                    return client.noop()[0] == 250
            except OSError:
                return False

        wait_for(smtp_up, timeout=30, message="convene serve to accept SMTP")
        yield init, finished
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        finished += [out, err, str(proc.returncode)]


class RunningService:
    """``convene serve`` (or some of its parts) in a background thread with its own event loop."""

    def __init__(
        self, runtime: Runtime, *, smtp: bool = True, worker: bool = True, web: bool = True
    ) -> None:
        self.runtime = runtime
        self.parts = {"smtp": smtp, "worker": worker, "web": web}
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="convene-test-service", daemon=True)

    @property
    def config(self) -> Config:
        return self.runtime.config

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await serve(self.runtime, stop=self._stop, ready=self._ready, **self.parts)

        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced by start()/stop()
            self._error = exc
            self._ready.set()

    def __enter__(self) -> RunningService:
        self._thread.start()
        if not self._ready.wait(30):
            raise AssertionError("service did not start within 30s")
        if self._error:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), "service did not stop within 30s"
        if self._error:
            raise self._error


def runtime_for(config: Config, database) -> Runtime:  # type: ignore[no-untyped-def]
    """A runtime on a test database's engine and sessions."""
    from mailer.domain.services import build_services

    return Runtime(config, database.engine, database.sessions, build_services(config))


@contextmanager
def web_only(config: Config, database) -> Iterator[RunningService]:  # type: ignore[no-untyped-def]
    """Just the web app of ``convene serve``, on the test database."""
    with RunningService(runtime_for(config, database), smtp=False, worker=False) as service:
        yield service
