"""Real servers for tests: an SMTP sink standing in for the smarthost, and Convene itself."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

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
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                                          session.peer))
        return "250 OK"


class SmtpSink:
    """aiosmtpd on a free 127.0.0.1 port, recording every message it accepts."""

    def __init__(self) -> None:
        self.handler = SinkHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SmtpSink":
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def wait_for_count(self, count: int, timeout: float = 20.0) -> list[Received]:
        return wait_for(lambda: self.received if len(self.received) >= count else None, timeout=timeout,
                        message=f"{count} message(s) at the SMTP sink")

    def smarthost_settings(self) -> dict[str, object]:
        return {"backend": "smtp", "smarthost": {"host": "127.0.0.1", "port": self.port, "security": "none",
                                                 "timeout": 10.0}}


class RunningService:
    """``convene serve`` (or some of its parts) in a background thread with its own event loop."""

    def __init__(self, runtime: Runtime, *, smtp: bool = True, worker: bool = True, web: bool = True) -> None:
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

    def __enter__(self) -> "RunningService":
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
