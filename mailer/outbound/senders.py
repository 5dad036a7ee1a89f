"""Delivery backends behind one small interface.

The worker knows only ``Sender``; errors are either worth retrying
(``RetryableSendError``: 4xx, timeouts, dropped connections) or not
(``PermanentSendError``: 5xx).
"""

from __future__ import annotations

import asyncio
import mailbox
import ssl
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib

from mailer.config import Config, SmarthostConfig


class SendError(Exception):
    pass


class RetryableSendError(SendError):
    pass


class PermanentSendError(SendError):
    pass


class Sender(Protocol):
    async def send(self, message: EmailMessage, *, envelope_from: str, recipient: str) -> None: ...

    async def close(self) -> None: ...


class MaildirSender:
    """Dev mailbox: every message lands in a local Maildir the panel can show."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._maildir = mailbox.Maildir(path, create=True)

    def _deliver(self, message: EmailMessage, envelope_from: str, recipient: str) -> None:
        raw = message.as_bytes(policy=policy.SMTP)
        header = f"Return-Path: <{envelope_from}>\r\nDelivered-To: {recipient}\r\n".encode()
        self._maildir.add(header + raw)

    async def send(self, message: EmailMessage, *, envelope_from: str, recipient: str) -> None:
        try:
            await asyncio.to_thread(self._deliver, message, envelope_from, recipient)
        except OSError as exc:
            raise RetryableSendError(f"could not write to the dev mailbox: {exc}") from exc

    async def close(self) -> None:
        return None


class SmtpSender:
    """Sends through a smarthost, keeping one connection open across messages."""

    def __init__(self, settings: SmarthostConfig) -> None:
        self.settings = settings
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        tls_context = ssl.create_default_context()
        client = aiosmtplib.SMTP(hostname=s.host, port=s.port, timeout=s.timeout,
                                 use_tls=s.security == "tls", start_tls=s.security == "starttls",
                                 tls_context=tls_context if s.security != "none" else None,
                                 validate_certs=s.security != "none")
        await client.connect()
        if s.username:
            await client.login(s.username, s.password)
        return client

    async def send(self, message: EmailMessage, *, envelope_from: str, recipient: str) -> None:
        async with self._lock:
            try:
                if self._client is None or not self._client.is_connected:
                    self._client = await self._connect()
                errors, _ = await self._client.send_message(message, sender=envelope_from,
                                                             recipients=[recipient])
            except aiosmtplib.SMTPRecipientsRefused as exc:
                refused = exc.recipients[0] if exc.recipients else None
                code = refused.code if refused else 550
                raise _classify(code, str(exc)) from exc
            except aiosmtplib.SMTPResponseException as exc:
                await self._drop()
                raise _classify(exc.code, exc.message) from exc
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
                await self._drop()
                raise RetryableSendError(f"smarthost unavailable: {exc}") from exc
        if errors:
            code, text = next(iter(errors.values()))
            raise _classify(code, text)

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:
                pass

    async def close(self) -> None:
        async with self._lock:
            client, self._client = self._client, None
            if client is not None and client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()


def _classify(code: int, text: str) -> SendError:
    if 400 <= code < 500:
        return RetryableSendError(f"{code} {text}")
    return PermanentSendError(f"{code} {text}")


def make_sender(config: Config) -> Sender:
    if config.delivery.backend == "smtp":
        return SmtpSender(config.delivery.smarthost)
    return MaildirSender(config.maildir_path)
