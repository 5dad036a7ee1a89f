"""The SMTP (or LMTP) edge: route recipients, store the raw message, answer.

It does not parse or decide anything; the worker does. Database calls run in
a thread so the event loop keeps serving other connections.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import Config
from mailer.domain.lists import list_exists
from mailer.domain.queue import store_inbound
from mailer.inbound import statuscodes as codes
from mailer.inbound.routing import NotOurDomain, split_recipient

log = logging.getLogger(__name__)


class InboundHandler:
    """aiosmtpd handler: accepts mail for our own addresses only, stores it, then says 250."""

    def __init__(self, config: Config, session_factory: sessionmaker[Session],
                 on_stored: Callable[[int], None] | None = None) -> None:
        self.config = config
        self.session_factory = session_factory
        self.on_stored = on_stored

    def _list_exists(self, slug: str) -> bool:
        with self.session_factory() as session:
            return list_exists(session, slug)

    def _store(self, mail_from: str, rcpt_to: list[str], raw: bytes, peer: str) -> int:
        with self.session_factory() as session:
            return store_inbound(session, mail_from=mail_from, rcpt_to=rcpt_to, raw=raw, peer=peer)

    async def handle_RCPT(self, server: SMTP, session: SmtpSession, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        try:
            recipient = split_recipient(address, self.config.mail.domain, self.config.mail.bounce_local_part)
        except NotOurDomain:
            return codes.S550_NOT_OUR_DOMAIN
        except ValueError:
            return codes.S553_BAD_ADDRESS
        if recipient.list_slug is not None:
            try:
                exists = await asyncio.get_running_loop().run_in_executor(None, self._list_exists,
                                                                          recipient.list_slug)
            except Exception:
                log.exception("recipient lookup failed")
                return codes.S451_LOOKUP_FAILED
            if not exists:
                return codes.S550_NO_SUCH_LIST
        envelope.rcpt_tos.append(address)
        return codes.S250_RCPT_OK

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        if not envelope.rcpt_tos:
            return codes.S554_NO_RECIPIENTS
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer or "")
        try:
            message_id = await asyncio.get_running_loop().run_in_executor(
                None, partial(self._store, envelope.mail_from or "", list(envelope.rcpt_tos), raw, peer))
        except Exception:
            log.exception("could not store inbound message")
            return codes.S451_STORE_FAILED
        log.info("stored inbound message %s (%d bytes)", message_id, len(raw))
        if self.on_stored is not None:
            self.on_stored(message_id)
        return codes.S250_OK


class InboundServer:
    """Runs the handler on an asyncio server in the current event loop."""

    def __init__(self, config: Config, session_factory: sessionmaker[Session],
                 on_stored: Callable[[int], None] | None = None) -> None:
        self.config = config
        self.handler = InboundHandler(config, session_factory, on_stored)
        self._server: asyncio.AbstractServer | None = None

    def _protocol(self) -> SMTP:
        cls = LMTP if self.config.inbound.lmtp else SMTP
        return cls(self.handler, data_size_limit=self.config.inbound.max_message_size,
                   hostname=self.config.mail.domain, ident="Convene", decode_data=False,
                   enable_SMTPUTF8=True)

    async def start(self) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, host=self.config.inbound.host,
                                                port=self.config.inbound.port)
        host, port = self._server.sockets[0].getsockname()[:2]
        log.info("%s listening on %s:%s", "LMTP" if self.config.inbound.lmtp else "SMTP", host, port)
        return host, port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
