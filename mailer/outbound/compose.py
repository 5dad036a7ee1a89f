"""Turn outbox rows into the exact bytes that go on the wire.

Two paths, one result (RFC 5322 / 2045 MIME, CRLF line ends):

- a row rendered in full (a reply, a confirmation, an invitation) is
  written straight to bytes, its headers encoded and folded by
  ``email.policy.SMTP`` only when they need it; with attachments it becomes
  an ``EmailMessage`` serialised with that policy (:func:`compose_message`,
  which the direct writer is tested against);
- a row of a ``Mailing`` (news to a whole list) reuses what every recipient
  shares, encoded once per mailing, and adds only the recipient's own
  headers and unsubscribe link. Building one ``EmailMessage`` per recipient
  costs far more than the SMTP exchange, so the shared parts are cached.

Either way a header value with CR or LF is refused (``ValueError``), so
nothing a member or organiser typed can add a header.
"""

from __future__ import annotations

import binascii
import uuid
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import dkim

from mailer.config import Config
from mailer.domain.links import LinkSigner
from mailer.domain.models import Mailing, MeetingAttachment, OutboxMessage
from mailer.domain.news import UNSUBSCRIBE_PLACEHOLDER

# Headers a caller may set on a fully rendered row; anything else is ignored.
_ALLOWED_HEADERS = ("From", "Reply-To", "In-Reply-To", "References", "Auto-Submitted", "List-Id",
                    "List-Unsubscribe", "List-Unsubscribe-Post", "List-Post", "List-Help", "List-Archive",
                    "Precedence")
_DKIM_HEADERS = [b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"list-id",
                 b"list-unsubscribe", b"list-unsubscribe-post", b"mime-version", b"content-type",
                 b"in-reply-to", b"references"]


def _check(value: str) -> str:
    if "\r" in value or "\n" in value or "\0" in value:
        raise ValueError("header value contains a line break")
    return value


def compose_message(row: OutboxMessage, files: list[MeetingAttachment] | None = None) -> EmailMessage:
    """multipart/alternative (text first, then HTML, then any calendar) for a fully rendered row,
    inside multipart/mixed when files are attached."""
    message = EmailMessage()
    headers = row.headers or {}
    for name in _ALLOWED_HEADERS:
        value = headers.get(name)
        if value:
            message[name] = _check(value)
    message["To"] = row.recipient
    message["Subject"] = _check(row.subject or "")
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = row.message_id
    message["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    message.set_content(row.body_text or "", cte="quoted-printable")
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html", cte="quoted-printable")
    if row.body_calendar:
        # RFC 6047: the calendar is the last alternative, with its method on the Content-Type too,
        # which is what makes Outlook and Gmail show Accept / Decline.
        method = "CANCEL" if "METHOD:CANCEL" in row.body_calendar else "REQUEST"
        message.add_alternative(row.body_calendar, subtype="calendar", cte="quoted-printable",
                                params={"method": method})
    for file in files or []:
        maintype, _, subtype = file.content_type.partition("/")
        message.add_attachment(file.data, maintype=maintype, subtype=subtype, filename=file.filename)
    return message


@dataclass(frozen=True)
class _SharedParts:
    """What every recipient of one mailing gets, encoded once."""

    header_block: bytes  # From, Reply-To, Subject, List-*, MIME-Version, Content-Type
    boundary: bytes
    text: str
    html: str | None
    list_slug: str | None
    list_id: int | None


def _qp(text: str) -> bytes:
    """Quoted-printable UTF-8 text with its line breaks kept as CRLF (RFC 2045 6.7), lines of at most 76."""
    data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    return binascii.b2a_qp(data, istext=True, header=False).replace(b"\n", b"\r\n")


def _header(name: str, value: str) -> bytes:
    """One header line (CRLF-ended): written as it is when it is short ASCII, which is nearly
    always; otherwise encoded (RFC 2047) and folded by the standard library's SMTP policy."""
    _check(value)
    if value.isascii() and len(name) + len(value) + 2 <= 78:
        return f"{name}: {value}\r\n".encode("ascii")
    return policy.SMTP.header_factory(name, value).fold(policy=policy.SMTP).encode("ascii")


def _text_part(subtype: str, text: str, params: str = "") -> list[bytes]:
    return [f'Content-Type: text/{subtype}; charset="utf-8"{params}\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode("ascii"), _qp(text)]


def _compose_rendered_row(row: OutboxMessage) -> bytes:
    """The bytes :func:`compose_message` would give a row with no files, written directly.

    Building an ``EmailMessage`` parses every header set on it and again as it
    is serialised: for a reply that cost several times the inbound work that
    caused it, and was most of a worker's time under a steady flow of mail.
    """
    headers = row.headers or {}
    lines = [_header(name, headers[name]) for name in _ALLOWED_HEADERS if headers.get(name)]
    lines += [_header("To", row.recipient), _header("Subject", row.subject or ""),
              _header("Date", format_datetime(row.created_at)), _header("Message-ID", row.message_id),
              b"X-Auto-Response-Suppress: OOF, AutoReply\r\nMIME-Version: 1.0\r\n"]
    if not row.body_html and not row.body_calendar:
        return b"".join(lines + _text_part("plain", row.body_text or ""))
    boundary = f"=_convene_{uuid.uuid4().hex}".encode("ascii")  # "=_" never occurs in quoted-printable
    parts = [_text_part("plain", row.body_text or "")]
    if row.body_html:
        parts.append(_text_part("html", row.body_html))
    if row.body_calendar:
        method = "CANCEL" if "METHOD:CANCEL" in row.body_calendar else "REQUEST"
        parts.append(_text_part("calendar", row.body_calendar, f'; method="{method}"'))
    lines.append(b'Content-Type: multipart/alternative;\r\n boundary="' + boundary + b'"\r\n')
    for part in parts:
        lines += [b"\r\n--", boundary, b"\r\n", *part]
    lines += [b"\r\n--", boundary, b"--\r\n"]
    return b"".join(lines)


def _check_folded(value: str) -> str:
    for line in value.split("\r\n"):
        _check(line)
    return value


class DkimSigner:
    def __init__(self, selector: str, domain: str, private_key: bytes) -> None:
        self.selector = selector.encode()
        self.domain = domain.encode()
        self.private_key = private_key

    def sign(self, raw: bytes) -> bytes:
        head = raw[:raw.find(b"\r\n\r\n")].lower()
        present = [h for h in _DKIM_HEADERS if b"\r\n" + h + b":" in b"\r\n" + head]
        # relaxed/relaxed survives the re-wrapping some smarthosts do.
        signature = dkim.sign(raw, self.selector, self.domain, self.private_key, include_headers=present,
                              canonicalize=(b"relaxed", b"relaxed"), linesep=b"\r\n")
        return signature + raw


def make_dkim_signer(config: Config) -> DkimSigner | None:
    settings = config.delivery.dkim
    if not settings.selector:
        return None
    return DkimSigner(settings.selector, settings.domain or config.mail.domain,
                      Path(settings.private_key_file).read_bytes())


class Composer:
    """Composes outbox rows; keeps each mailing's shared parts for its later rows."""

    def __init__(self, config: Config, links: LinkSigner, dkim_signer: DkimSigner | None = None,
                 cache_size: int = 32) -> None:
        self.config = config
        self.links = links
        self.dkim = dkim_signer
        self._cache: dict[int, _SharedParts] = {}
        self._cache_size = cache_size

    def compose(self, row: OutboxMessage, mailing: Mailing | None = None, link_version: int = 1,
                files: list[MeetingAttachment] | None = None) -> bytes:
        """The wire bytes for ``row``; ``link_version`` is the recipient's, for the unsubscribe link."""
        if row.mailing_id is None and not files:
            raw = _compose_rendered_row(row)
        elif row.mailing_id is None:
            raw = compose_message(row, files).as_bytes(policy=policy.SMTP)
        else:
            if mailing is None:
                raise ValueError(f"outbox row {row.id} needs its mailing {row.mailing_id}")
            raw = self._compose_mailing_row(row, mailing, link_version)
        return self.dkim.sign(raw) if self.dkim else raw

    def _shared(self, mailing: Mailing) -> _SharedParts:
        cached = self._cache.get(mailing.id)
        if cached is not None:
            return cached
        headers = EmailMessage(policy=policy.SMTP)
        for name in _ALLOWED_HEADERS:
            value = (mailing.headers or {}).get(name)
            if value and name not in ("List-Unsubscribe", "List-Unsubscribe-Post"):
                headers[name] = _check(value)
        headers["Subject"] = _check(mailing.subject)
        headers["MIME-Version"] = "1.0"
        boundary = f"=_convene_{uuid.uuid4().hex}"
        block = headers.as_bytes().rstrip(b"\r\n") + b"\r\n"
        if mailing.body_html:
            block += f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'.encode()
        parts = _SharedParts(block, boundary.encode(), mailing.body_text, mailing.body_html,
                             mailing.mailing_list.slug if mailing.mailing_list else None, mailing.list_id)
        if len(self._cache) >= self._cache_size:
            self._cache.pop(next(iter(self._cache)))
        self._cache[mailing.id] = parts
        return parts

    def _compose_mailing_row(self, row: OutboxMessage, mailing: Mailing, link_version: int) -> bytes:
        shared = self._shared(mailing)
        lines = [shared.header_block]
        recipient = _check(row.recipient)
        if recipient.isascii():
            lines.append(b"To: " + recipient.encode() + b"\r\n")
        else:
            lines.append(policy.SMTPUTF8.fold_binary("To", recipient))
        lines.append(b"Date: " + format_datetime(row.created_at).encode() + b"\r\n")
        lines.append(b"Message-ID: " + _check(row.message_id).encode() + b"\r\n")
        unsubscribe_url = ""
        if shared.list_id is not None and row.person_id is not None:
            token = self.links.unsubscribe_token(row.person_id, shared.list_id, link_version)
            unsubscribe_url = self.links.unsubscribe_url(token)
            mailto = f"{shared.list_slug}-leave+{token}@{self.config.mail.domain}" if shared.list_slug else None
            # Both parts are plain ASCII we built ourselves, so the header is written directly
            # (folded after the comma) instead of through the much slower generic folder.
            value = f"<{unsubscribe_url}>" + (f",\r\n <mailto:{mailto}?subject=unsubscribe>" if mailto else "")
            lines.append(b"List-Unsubscribe: " + _check_folded(value).encode("ascii") + b"\r\n")
            lines.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
        text = _qp(shared.text.replace(UNSUBSCRIBE_PLACEHOLDER, unsubscribe_url))
        if shared.html is None:
            lines.append(b'Content-Type: text/plain; charset="utf-8"\r\n'
                         b"Content-Transfer-Encoding: quoted-printable\r\n\r\n")
            lines.append(text)
            return b"".join(lines)
        html = _qp(shared.html.replace(UNSUBSCRIBE_PLACEHOLDER, unsubscribe_url))
        b = shared.boundary
        lines += [
            b"\r\n--", b, b'\r\nContent-Type: text/plain; charset="utf-8"\r\n'
                          b"Content-Transfer-Encoding: quoted-printable\r\n\r\n", text,
            b"\r\n--", b, b'\r\nContent-Type: text/html; charset="utf-8"\r\n'
                          b"Content-Transfer-Encoding: quoted-printable\r\n\r\n", html,
            b"\r\n--", b, b"--\r\n",
        ]
        return b"".join(lines)

