"""Turn outbox rows into the exact bytes that go on the wire, with the one MIME writer.

:mod:`mailer.mail.write` writes every message (RFC 5322 / 2045 MIME, CRLF
line ends, 7-bit unless an address is not ASCII). What differs here is only
what is shared:

- a row rendered in full (a reply, a confirmation, an invitation) is
  written from a :class:`~mailer.mail.write.MessageTemplate` of its body's
  shape (text; HTML; calendar), kept for the next row of that shape; with
  files attached it is written as a whole;
- a row of a ``Mailing`` (news to a whole list) is written from the
  mailing's own template, which holds what every recipient shares, and gets
  only the recipient's own headers (To, Date, Message-ID, List-Unsubscribe)
  and unsubscribe link.

Either way a header value with CR or LF is refused (``ValueError``), so
nothing a member or organiser typed can add a header.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path

import dkim

from mailer.config import Config
from mailer.domain.links import LinkSigner
from mailer.domain.models import Mailing, MeetingAttachment, OutboxMessage
from mailer.domain.news import UNSUBSCRIBE_PLACEHOLDER
from mailer.mail.headers import SUPPRESS_AUTO_RESPONSES, unsubscribe_headers
from mailer.mail.write import Attachment, Body, MessageTemplate, body_shape, write_message

# Headers a caller may set on a rendered row or a mailing; anything else is ignored.
_ALLOWED_HEADERS = (
    "From",
    "Reply-To",
    "In-Reply-To",
    "References",
    "Auto-Submitted",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Post",
    "List-Help",
    "List-Archive",
    "Precedence",
)
#: A mailing's List-Unsubscribe carries each recipient's own token.
_PER_RECIPIENT = ("List-Unsubscribe", "List-Unsubscribe-Post")
_DKIM_HEADERS = [
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"mime-version",
    b"content-type",
    b"in-reply-to",
    b"references",
]


def _allowed(
    headers: dict[str, str] | None, leave_out: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    given = headers or {}
    return [
        (name, given[name])
        for name in _ALLOWED_HEADERS
        if given.get(name) and name not in leave_out
    ]


def row_headers(row: OutboxMessage) -> list[tuple[str, str]]:
    """A rendered row's headers, in the order they are written."""
    return [
        *_allowed(row.headers),
        ("To", row.recipient),
        ("Subject", row.subject or ""),
        ("Date", format_datetime(row.created_at)),
        ("Message-ID", row.message_id),
        SUPPRESS_AUTO_RESPONSES,
        ("MIME-Version", "1.0"),
    ]


def row_body(row: OutboxMessage) -> Body:
    return Body(row.body_text or "", row.body_html or None, row.body_calendar or None)


class DkimSigner:
    def __init__(self, selector: str, domain: str, private_key: bytes) -> None:
        self.selector = selector.encode()
        self.domain = domain.encode()
        self.private_key = private_key

    def sign(self, raw: bytes) -> bytes:
        head = raw[: raw.find(b"\r\n\r\n")].lower()
        present = [h for h in _DKIM_HEADERS if b"\r\n" + h + b":" in b"\r\n" + head]
        # relaxed/relaxed survives the re-wrapping some smarthosts do.
        signature = dkim.sign(
            raw,
            self.selector,
            self.domain,
            self.private_key,
            include_headers=present,
            canonicalize=(b"relaxed", b"relaxed"),
            linesep=b"\r\n",
        )
        return signature + raw


def make_dkim_signer(config: Config) -> DkimSigner | None:
    settings = config.delivery.dkim
    if not settings.selector:
        return None
    return DkimSigner(
        settings.selector,
        settings.domain or config.mail.domain,
        Path(settings.private_key_file).read_bytes(),
    )


@dataclass(frozen=True)
class _MailingTemplate:
    """One mailing, written once: what every recipient gets, and the texts their link goes into."""

    template: MessageTemplate
    text: str
    html: str | None
    list_slug: str | None
    list_id: int | None


class Composer:
    """Composes outbox rows; keeps each mailing's template (and one per body shape) for later
    rows."""

    def __init__(
        self,
        config: Config,
        links: LinkSigner,
        dkim_signer: DkimSigner | None = None,
        cache_size: int = 32,
    ) -> None:
        self.config = config
        self.links = links
        self.dkim = dkim_signer
        self._addresses = config.addresses
        self._mailings: OrderedDict[int, _MailingTemplate] = OrderedDict()
        self._shapes: dict[tuple[tuple[str, str | None], ...], MessageTemplate] = {}
        self._cache_size = cache_size

    def compose(
        self,
        row: OutboxMessage,
        mailing: Mailing | None = None,
        link_version: int = 1,
        files: list[MeetingAttachment] | None = None,
    ) -> bytes:
        """The wire bytes for ``row``; ``link_version`` is the recipient's, for the unsubscribe
        link."""
        if row.mailing_id is None:
            raw = self._compose_rendered_row(row, files)
        else:
            if mailing is None:
                raise ValueError(f"outbox row {row.id} needs its mailing {row.mailing_id}")
            raw = self._compose_mailing_row(row, mailing, link_version)
        return self.dkim.sign(raw) if self.dkim else raw

    def _compose_rendered_row(
        self, row: OutboxMessage, files: list[MeetingAttachment] | None
    ) -> bytes:
        body = row_body(row)
        if files:
            return write_message(
                row_headers(row),
                body,
                [Attachment(f.filename, f.content_type, f.data) for f in files],
            )
        shape = body_shape(body)
        template = self._shapes.get(shape)
        if template is None:  # a handful of shapes: text; with HTML; with a calendar
            template = self._shapes[shape] = MessageTemplate([], body)
        return template.render(row_headers(row), body)

    def _mailing_template(self, mailing: Mailing) -> _MailingTemplate:
        cached = self._mailings.get(mailing.id)
        if cached is not None:
            return cached
        shared = [
            *_allowed(mailing.headers, leave_out=_PER_RECIPIENT),
            ("Subject", mailing.subject),
            ("MIME-Version", "1.0"),
        ]
        html = mailing.body_html or None
        made = _MailingTemplate(
            MessageTemplate(shared, Body(mailing.body_text, html)),
            mailing.body_text,
            html,
            mailing.mailing_list.slug if mailing.mailing_list else None,
            mailing.list_id,
        )
        if len(self._mailings) >= self._cache_size:
            self._mailings.popitem(last=False)
        self._mailings[mailing.id] = made
        return made

    def _compose_mailing_row(
        self, row: OutboxMessage, mailing: Mailing, link_version: int
    ) -> bytes:
        shared = self._mailing_template(mailing)
        own = [
            ("To", row.recipient),
            ("Date", format_datetime(row.created_at)),
            ("Message-ID", row.message_id),
        ]
        link = ""
        if shared.list_id is not None and row.person_id is not None:
            token = self.links.unsubscribe_token(row.person_id, shared.list_id, link_version)
            link = self.links.unsubscribe_url(token)
            mailto = (
                self._addresses.leave_address(shared.list_slug, token) if shared.list_slug else None
            )
            own += unsubscribe_headers(url=link, mailto=mailto).items()
        html = (
            shared.html.replace(UNSUBSCRIBE_PLACEHOLDER, link) if shared.html is not None else None
        )
        return shared.template.render(
            own, Body(shared.text.replace(UNSUBSCRIBE_PLACEHOLDER, link), html)
        )
