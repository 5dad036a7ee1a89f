"""The SMTP (or LMTP) edge: route recipients, store the raw message, answer.

It does not parse or decide anything; the worker does. Database calls run in
a thread so the event loop keeps serving other connections.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import Config
from mailer.domain.lists import list_exists
from mailer.domain.queue import Received, store_inbound_many
from mailer.inbound import statuscodes as codes
from mailer.mail.addresses import NotOurDomain, split_recipient

log = logging.getLogger(__name__)

#: Seconds a list found to exist is remembered by the SMTP edge.
KNOWN_LIST_TTL = 30.0


class GroupCommitWriter:
    """Stores messages for many SMTP sessions, several per database commit.

    Each session waits for the commit that holds its message, so no 250 is
    ever given for a message that is not on disk; but while one commit is
    running, the next messages gather and go together, so acceptance keeps
    up under load instead of queueing behind one fsync per message.

    Commits run one at a time on a connection the writer keeps, rather than
    one taken from the pool for each: a pooled connection is checked first
    (a round trip to PostgreSQL for every commit). If the kept connection
    turns out to be broken (the database restarted), the batch is stored
    again once on a new one; a batch that still fails is answered 451, and
    the sender tries again later.
    """

    def __init__(self, session_factory: sessionmaker[Session], max_batch: int = 200) -> None:
        self.session_factory = session_factory
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[Received, asyncio.Future[int]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._engine: Engine = session_factory.kw["bind"]
        self._connection: Connection | None = None
        self._using_connection = threading.Lock()  # a commit still running when the writer closes

    def _commit(self, batch: list[Received]) -> list[int]:
        with self._using_connection:
            try:
                return self._store(batch)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                log.warning(
                    "database connection lost; storing %d message(s) again on a new one", len(batch)
                )
                return self._store(batch)

    def _store(self, batch: list[Received]) -> list[int]:
        """On the kept connection, opened again if it was never opened or the database dropped
        it."""
        if self._connection is not None and self._connection.invalidated:
            self._connection.close()  # gives its place in the pool back
            self._connection = None
        if self._connection is None:
            self._connection = self._engine.connect()
        with self.session_factory(bind=self._connection) as session:
            return store_inbound_many(session, batch)

    def _close_connection(self) -> None:
        with self._using_connection:
            connection, self._connection = self._connection, None
            if connection is not None:
                connection.close()

    async def store(self, message: Received) -> int:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._run())
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        await self._queue.put((message, future))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                ids = await asyncio.get_running_loop().run_in_executor(
                    None, self._commit, [message for message, _ in batch]
                )
            except Exception as exc:
                log.exception("could not store %d inbound message(s)", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), message_id in zip(batch, ids, strict=True):
                if not future.done():
                    future.set_result(message_id)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task, self._queue = None, None
        self._close_connection()


class InboundHandler:
    """aiosmtpd handler: accepts mail for our own addresses only, stores it, then says 250."""

    def __init__(
        self,
        config: Config,
        session_factory: sessionmaker[Session],
        on_stored: Callable[[int], None] | None = None,
    ) -> None:
        self.config = config
        self.session_factory = session_factory
        self.on_stored = on_stored
        self.writer = GroupCommitWriter(session_factory)
        # Lists that exist, with when we last saw them. Only "yes" answers are kept, briefly:
        # a list created a moment ago is never refused, and lists are rarely deleted.
        self._known_lists: dict[str, float] = {}

    def _list_exists(self, slug: str) -> bool:
        with self.session_factory() as session:
            return list_exists(session, slug)

    async def list_exists(self, slug: str) -> bool:
        now = time.monotonic()
        seen = self._known_lists.get(slug)
        if seen is not None and now - seen < KNOWN_LIST_TTL:
            return True
        exists = await asyncio.get_running_loop().run_in_executor(None, self._list_exists, slug)
        if exists:
            self._known_lists[slug] = now
        return exists

    async def handle_MAIL(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        """A reverse-path we could not store is refused here, before DATA, so it never reaches
        the batch where it would fail other senders' messages with it."""
        refused = _refuse_path(address, mail_options)
        if refused:
            return refused
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return codes.S250_SENDER_OK

    async def handle_RCPT(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refused = _refuse_path(address, envelope.mail_options)
        if refused:
            return refused
        if len(envelope.rcpt_tos) >= self.config.inbound.max_recipients:
            # RFC 5321 4.5.3.1.10: the client delivers to the others in a later transaction.
            return codes.S452_TOO_MANY_RECIPIENTS
        try:
            recipient = split_recipient(
                address, self.config.mail.domain, self.config.mail.bounce_local_part
            )
        except NotOurDomain:
            return codes.S550_NOT_OUR_DOMAIN
        except ValueError:
            return codes.S553_BAD_ADDRESS
        if recipient.list_slug is not None:
            try:
                exists = await self.list_exists(recipient.list_slug)
            except Exception:
                log.exception("recipient lookup failed")
                return codes.S451_LOOKUP_FAILED
            if not exists:
                return codes.S550_NO_SUCH_LIST
        envelope.rcpt_tos.append(address)
        return codes.S250_RCPT_OK

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        status = await self._store_and_answer(server, session, envelope)
        if isinstance(server, LMTP):
            # LMTP answers once per accepted recipient (RFC 2033 4.2); all share one stored copy.
            return "\r\n".join([status] * max(len(envelope.rcpt_tos), 1))
        return status

    async def _store_and_answer(
        self, server: SMTP, session: SmtpSession, envelope: Envelope
    ) -> str:
        if not envelope.rcpt_tos:
            return codes.S554_NO_RECIPIENTS
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer or "")
        try:
            message_id = await self.writer.store(
                Received(envelope.mail_from or "", list(envelope.rcpt_tos), raw, peer)
            )
        except Exception:
            return codes.S451_STORE_FAILED
        log.info("stored inbound message %s (%d bytes)", message_id, len(raw))
        if self.on_stored is not None:
            self.on_stored(message_id)
        return codes.S250_OK


class _SessionLimit:
    """A connection lasts no longer than ``session_limit`` seconds, however busy: aiosmtpd's own
    timeout ends only idle ones, so a client sending NOOP every few minutes would otherwise hold
    a connection for ever. The client is told (421) and may connect again."""

    def __init__(self, *args: Any, session_limit: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._session_limit = session_limit
        self._session_end: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._session_end = asyncio.get_running_loop().call_later(
            self._session_limit, self._end_session, transport
        )

    def _end_session(self, transport: asyncio.BaseTransport) -> None:
        if not transport.is_closing():
            assert isinstance(transport, asyncio.WriteTransport)
            transport.write(codes.S421_SESSION_TOO_LONG.encode() + b"\r\n")
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._session_end is not None:
            self._session_end.cancel()
        super().connection_lost(exc)  # type: ignore[misc]


class LimitedSMTP(_SessionLimit, SMTP):
    pass


class LimitedLMTP(_SessionLimit, LMTP):
    pass


class InboundServer:
    """Runs the handler on an asyncio server in the current event loop."""

    def __init__(
        self,
        config: Config,
        session_factory: sessionmaker[Session],
        on_stored: Callable[[int], None] | None = None,
    ) -> None:
        self.config = config
        self.handler = InboundHandler(config, session_factory, on_stored)
        self._server: asyncio.AbstractServer | None = None

    def _protocol(self) -> SMTP:
        cls = LimitedLMTP if self.config.inbound.lmtp else LimitedSMTP
        return cls(
            self.handler,
            data_size_limit=self.config.inbound.max_message_size,
            hostname=self.config.mail.domain,
            ident="Convene",
            decode_data=False,
            enable_SMTPUTF8=True,
            timeout=self.config.inbound.idle_timeout_seconds,
            session_limit=self.config.inbound.session_timeout_seconds,
        )

    async def start(self) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol, host=self.config.inbound.host, port=self.config.inbound.port
        )
        host, port = self._server.sockets[0].getsockname()[:2]
        log.info(
            "%s listening on %s:%s", "LMTP" if self.config.inbound.lmtp else "SMTP", host, port
        )
        return host, port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await self.handler.writer.close()


#: RFC 5321 4.5.3.1.3: a path is at most 256 octets, angle brackets included.
MAX_PATH = 254


def _refuse_path(address: str, options: list[str]) -> str | None:
    """The reply refusing a MAIL or RCPT address, or None to go on."""
    if len(address.encode("utf-8")) > MAX_PATH:
        return codes.S501_PATH_TOO_LONG
    if not address.isascii() and not any(o.upper() == "SMTPUTF8" for o in options):
        return codes.S553_NEEDS_SMTPUTF8
    return None
