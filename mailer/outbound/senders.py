"""Delivery backends behind one small interface.

The worker knows only ``Sender`` (one connection's worth of sending) and
``SenderPool`` (several of them). Errors are either worth retrying
(``RetryableSendError``: 4xx, timeouts, dropped connections) or not
(``PermanentSendError``: 5xx, or a non-ASCII address when the smarthost
does not offer SMTPUTF8).
"""

from __future__ import annotations

import asyncio
import mailbox
import re
import ssl
from pathlib import Path
from typing import Protocol

import aiosmtplib

from mailer.config import Config, SmarthostConfig
from mailer.mail.write import needs_smtputf8

# Printable ASCII with no space, quote or angle bracket: safe on an SMTP command line as is.
_PLAIN_ADDRESS = re.compile(r"^[!#-;=?-~]+@[A-Za-z0-9.-]+$")


class SendError(Exception):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class RetryableSendError(SendError):
    pass


class PermanentSendError(SendError):
    pass


class Sender(Protocol):
    async def send(self, raw: bytes, *, envelope_from: str, recipient: str) -> None: ...

    async def close(self) -> None: ...


class MaildirSender:
    """Dev mailbox: every message lands in a local Maildir the panel can show."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._maildir = mailbox.Maildir(path, create=True)

    def _deliver(self, raw: bytes, envelope_from: str, recipient: str) -> None:
        header = f"Return-Path: <{envelope_from}>\r\nDelivered-To: {recipient}\r\n".encode()
        self._maildir.add(header + raw)

    async def send(self, raw: bytes, *, envelope_from: str, recipient: str) -> None:
        try:
            await asyncio.to_thread(self._deliver, raw, envelope_from, recipient)
        except OSError as exc:
            raise RetryableSendError(f"could not write to the dev mailbox: {exc}") from exc

    async def close(self) -> None:
        return None


class SmtpSender:
    """One smarthost connection, opened on first use and reused across messages."""

    def __init__(self, settings: SmarthostConfig) -> None:
        self.settings = settings
        self._client: aiosmtplib.SMTP | None = None

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        secure = s.security != "none"
        context = ssl.create_default_context(cafile=s.ca_file or None) if secure else None
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            timeout=s.timeout,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
            tls_context=context,
            validate_certs=secure,
        )
        try:
            await client.connect()
            if client.last_ehlo_response is None and client.last_helo_response is None:
                await client.ehlo()  # our MAIL/RCPT fast path needs the greeting done up front
        except BaseException:
            await _discard(
                client
            )  # e.g. a refused certificate: release the half-open transport now
            raise
        if s.username:
            try:
                await client.login(s.username, s.password)
            except (TimeoutError, aiosmtplib.SMTPException) as exc:
                await _discard(client)
                # A wrong password is our configuration, not the message's fault: retry later.
                detail = (
                    f"{exc.code} {exc.message}"
                    if isinstance(exc, aiosmtplib.SMTPResponseException)
                    else str(exc)
                )
                raise RetryableSendError(
                    f"smarthost login failed for {s.username}: {detail}"
                ) from exc
        return client

    async def send(self, raw: bytes, *, envelope_from: str, recipient: str) -> None:
        try:
            if self._client is None or not self._client.is_connected:
                self._client = await self._connect()
            if _PLAIN_ADDRESS.match(envelope_from) and _PLAIN_ADDRESS.match(recipient):
                await self._transaction(self._client, envelope_from, recipient, raw)
            else:
                await self._send_quoted_or_international(
                    self._client, envelope_from, recipient, raw
                )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0] if exc.recipients else None
            await self._reset()
            raise _classify(
                refused.code if refused else 550, refused.message if refused else str(exc)
            ) from exc
        except aiosmtplib.SMTPRecipientRefused as exc:
            await self._reset()
            raise _classify(exc.code, exc.message) from exc
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == 421:  # the server is closing the connection
                await self._drop()
            else:
                await self._reset()
            raise _classify(exc.code, exc.message) from exc
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            await self._drop()
            raise RetryableSendError(f"smarthost unavailable: {exc}") from exc

    @staticmethod
    async def _transaction(
        client: aiosmtplib.SMTP, envelope_from: str, recipient: str, raw: bytes
    ) -> None:
        """MAIL, RCPT, DATA for plain ASCII addresses we have already validated.

        aiosmtplib's ``sendmail`` re-parses both addresses with ``email.utils`` on every
        message, which costs more than the SMTP exchange itself on a fast link.
        """
        response = await client.execute_command(b"MAIL", b"FROM:<" + envelope_from.encode() + b">")
        if response.code != 250:
            raise aiosmtplib.SMTPSenderRefused(response.code, response.message, envelope_from)
        response = await client.execute_command(b"RCPT", b"TO:<" + recipient.encode() + b">")
        if response.code not in (250, 251):
            raise aiosmtplib.SMTPRecipientRefused(response.code, response.message, recipient)
        await client.data(raw)

    @staticmethod
    async def _send_quoted_or_international(
        client: aiosmtplib.SMTP, envelope_from: str, recipient: str, raw: bytes
    ) -> None:
        """Addresses the fast path does not take: through aiosmtplib's checks, and with SMTPUTF8
        (RFC 6531) when one is not ASCII, which only a next hop that offers it can carry."""
        if not (needs_smtputf8(envelope_from) or needs_smtputf8(recipient)):
            await client.sendmail(envelope_from, [recipient], raw)
            return
        if not client.supports_extension("smtputf8"):
            raise PermanentSendError(
                f"{recipient} is not an ASCII address, and the smarthost does not offer "
                "SMTPUTF8, without which it cannot be sent"
            )
        await client.sendmail(envelope_from, [recipient], raw, mail_options=["SMTPUTF8"])

    async def _reset(self) -> None:
        """After a refused message the session is still usable once reset (RSET)."""
        if self._client is None:
            return
        try:
            await self._client.rset()
        except (TimeoutError, aiosmtplib.SMTPException, OSError):
            await self._drop()

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await _discard(client)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (TimeoutError, aiosmtplib.SMTPException, OSError):
                client.close()


async def _discard(client: aiosmtplib.SMTP) -> None:
    """Drop a connection we no longer trust, at once (no TLS goodbye), releasing the socket."""
    if isinstance(client.transport, asyncio.WriteTransport):
        client.transport.abort()
    client.close()
    await asyncio.sleep(0)  # the abort closes the socket in a callback; let it run


def _classify(code: int, text: str) -> SendError:
    if 400 <= code < 500:
        return RetryableSendError(f"{code} {text}", code)
    return PermanentSendError(f"{code} {text}", code)


class SenderPool:
    """Several senders used side by side: one lane per smarthost connection."""

    def __init__(self, lanes: list[Sender]) -> None:
        if not lanes:
            raise ValueError("a sender pool needs at least one lane")
        self.lanes = lanes

    async def close(self) -> None:
        await asyncio.gather(*(lane.close() for lane in self.lanes), return_exceptions=True)


def make_sender_pool(config: Config) -> SenderPool:
    if config.delivery.backend == "smtp":
        return SenderPool(
            [SmtpSender(config.delivery.smarthost) for _ in range(config.delivery.connections)]
        )
    return SenderPool([MaildirSender(config.maildir_path)])
