"""Writing messages: the one MIME writer, on ``email.message.EmailMessage``.

Every message Convene sends is written here, to bytes for the SMTP wire
(RFC 5322 / 2045, CRLF line ends):

- headers are written by ``email.policy.SMTP``: plain text as it is when it
  fits on a line, anything else folded and, where not ASCII, RFC 2047
  encoded. An address that is not ASCII (``jörg@example.org``) cannot be
  encoded (RFC 6532), so a header holding one is written in UTF-8 by
  ``email.policy.SMTPUTF8``, and the message can then only travel over
  SMTPUTF8 (:func:`needs_smtputf8`; the sender checks the next hop offers it).
  RFC 2369 URL lists (List-Unsubscribe) are folded between their URLs only.
  A value holding CR, LF or NUL is refused (``ValueError``), so nothing a
  member or organiser typed can add a header;
- the body is text, then HTML, then a calendar (RFC 6047: last, with its
  method on the Content-Type too, which is what makes Outlook and Gmail show
  Accept / Decline), as multipart/alternative; files make it
  multipart/mixed. Text is quoted-printable, its line breaks kept as CRLF.

Each header's folded form is worked out once (:func:`folded_header`) and
stored on the message as it goes on the wire, so serialising it costs
nothing more; :class:`MailingTemplate` relies on that to write a mailing to
many recipients with one ``EmailMessage``.
"""

from __future__ import annotations

import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import getaddresses

from mailer.mail.headers import URL_LIST_HEADERS

#: Headers are stored already folded (see :func:`folded_header`), so the policy writes them as
#: they are; it still folds the MIME headers the library sets itself.
WIRE = email_policy.SMTP.clone(refold_source="none")
WIRE_UTF8 = email_policy.SMTPUTF8.clone(refold_source="none")
_MAX_LINE = WIRE.max_line_length or 78
_ADDRESS_HEADERS = frozenset({"from", "to", "cc", "reply-to", "sender"})
_HARD_LIMIT = 998  # RFC 5322 2.1.1: no line longer, folded or not


@dataclass(frozen=True)
class Body:
    text: str
    html: str | None = None
    #: An iCalendar object (METHOD:REQUEST or CANCEL), sent as the last alternative.
    calendar: str | None = None


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


#: CR, LF, NUL, and the ASCII controls Python's str.splitlines() also breaks lines at (the email
#: package writes a stored header's lines joined by CRLF): any of them could start a new header.
_LINE_BREAKS = frozenset("\r\n\0\v\f\x1c\x1d\x1e")


def check_header_value(value: str) -> str:
    """``value``, or ValueError when it holds a line break or NUL (which could start a new
    header)."""
    if not _LINE_BREAKS.isdisjoint(value):
        raise ValueError("header value contains a line break")
    return value


def needs_smtputf8(address: str) -> bool:
    """Whether a message to or from ``address`` can only travel with SMTPUTF8 (RFC 6531)."""
    return not address.isascii()


def _has_utf8_address(name: str, value: str) -> bool:
    return name.lower() in _ADDRESS_HEADERS and any(
        needs_smtputf8(address) for _, address in getaddresses([value])
    )


def folded_header(name: str, value: str) -> str:
    """``value`` as it goes on the wire after ``name:``: folded lines joined by CRLF and a space."""
    check_header_value(value)
    if name.lower() in URL_LIST_HEADERS and value.isascii():
        if len(name) + 2 + len(value) > _MAX_LINE:
            value = value.replace(">, <", ">,\r\n <")  # between the URLs, never inside one
        if any(len(line) > _HARD_LIMIT for line in value.split("\r\n")):
            raise ValueError(f"{name} has a URL longer than a line may be")
        return value
    if value.isascii() and len(name) + 2 + len(value) <= _MAX_LINE:
        return value  # what the policy writes for one short line of plain text
    policy = WIRE_UTF8 if _has_utf8_address(name, value) else WIRE
    folded = policy.fold(name, policy.header_factory(name, value))
    return folded[len(name) + 1 :].removeprefix(" ").removesuffix(policy.linesep)


def header_bytes(name: str, value: str) -> bytes:
    """One header line, as :func:`write_message` writes it."""
    folded = folded_header(name, value)
    return (WIRE if folded.isascii() else WIRE_UTF8).fold_binary(name, folded)


def quoted_printable(text: str) -> str:
    """UTF-8 text as quoted-printable (RFC 2045 6.7): its line breaks kept as CRLF, lines of at
    most 76 characters.

    binascii's encoder, written in C: ``email.contentmanager``'s is pure
    Python and cost more than sending the message, for every recipient.
    """
    data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    return binascii.b2a_qp(data, istext=True, header=False).decode("ascii").replace("\n", "\r\n")


def _set_text(
    part: EmailMessage, subtype: str, text: str, method: str | None = None
) -> EmailMessage:
    """``part`` holding ``text``, quoted-printable (its payload stored encoded, as the wire has
    it)."""
    method_param = f'; method="{method}"' if method else ""
    part.set_raw("Content-Type", f'text/{subtype}; charset="utf-8"{method_param}')
    part.set_raw("Content-Transfer-Encoding", "quoted-printable")
    part.set_payload(quoted_printable(text))
    return part


def _calendar_method(calendar: str) -> str:
    return "CANCEL" if "METHOD:CANCEL" in calendar else "REQUEST"


@dataclass(frozen=True)
class _Part:
    subtype: str
    text: str
    method: str | None = None


def body_shape(body: Body) -> tuple[tuple[str, str | None], ...]:
    """Which alternatives ``body`` has (and a calendar's method): what a :class:`MessageTemplate`
    fixes."""
    return tuple((part.subtype, part.method) for part in _alternatives(body))


def _alternatives(body: Body) -> list[_Part]:
    parts = [_Part("plain", body.text)]
    if body.html is not None:
        parts.append(_Part("html", body.html))
    if body.calendar is not None:
        parts.append(_Part("calendar", body.calendar, _calendar_method(body.calendar)))
    return parts


def _build(
    headers: Sequence[tuple[str, str]], parts: list[_Part], attachments: Sequence[Attachment]
) -> EmailMessage:
    message = EmailMessage(policy=WIRE)
    for name, value in headers:
        if value:
            message.set_raw(name, folded_header(name, value))
    if len(parts) == 1:
        _set_text(message, parts[0].subtype, parts[0].text)
    else:
        # "=_" never occurs in quoted-printable, so the boundary cannot occur in a part.
        message.make_alternative(boundary=f"=_convene_{uuid.uuid4().hex}")
        for part in parts:
            message.attach(
                _set_text(EmailMessage(policy=WIRE), part.subtype, part.text, part.method)
            )
    for file in attachments:
        maintype, _, subtype = file.content_type.partition("/")
        message.add_attachment(
            file.data, maintype=maintype, subtype=subtype, filename=file.filename
        )
    return message


def build_message(
    headers: Sequence[tuple[str, str]], body: Body, attachments: Sequence[Attachment] = ()
) -> EmailMessage:
    """The message with these headers, in this order, then its MIME headers and body.

    Empty header values are left out. ``headers`` should include MIME-Version.
    """
    return _build(headers, _alternatives(body), attachments)


def serialise(message: EmailMessage) -> bytes:
    """The wire bytes: 7-bit, unless a header holds a non-ASCII address (then SMTPUTF8's UTF-8)."""
    utf8 = any(isinstance(value, str) and not value.isascii() for _, value in message.raw_items())
    return message.as_bytes(policy=WIRE_UTF8 if utf8 else WIRE)


def write_message(
    headers: Sequence[tuple[str, str]], body: Body, attachments: Sequence[Attachment] = ()
) -> bytes:
    """:func:`build_message`, serialised for the SMTP wire."""
    return serialise(build_message(headers, body, attachments))


def _split_once(data: bytes, marker: bytes) -> list[bytes]:
    pieces = data.split(marker)
    if len(pieces) != 2:
        raise ValueError("the template's marker was not written exactly once")
    return pieces


class MessageTemplate:
    """Messages of one shape, written once by :func:`write_message` and then filled in.

    The shape is the headers every message shares (``shared``, often none)
    and which alternatives the body has (text; HTML; a calendar and its
    method), as ``sample`` has them. :meth:`render` gives the bytes
    :func:`write_message` gives for the shared headers followed by the
    message's own and the body's texts, without building an
    ``EmailMessage``: the library writes the MIME structure once, with
    markers where the message's own headers and each part's text go, and
    each message then costs only its header lines (:func:`header_bytes`)
    and its texts' encoding (:func:`quoted_printable`). Building and
    serialising an ``EmailMessage`` costs several times what sending it does.
    """

    def __init__(self, shared: Sequence[tuple[str, str]], sample: Body) -> None:
        marker = uuid.uuid4().hex  # stands in for what differs, and occurs nowhere else
        self.shape = body_shape(sample)
        skeleton = [
            _Part(subtype, f"{marker}-{index}", method)
            for index, (subtype, method) in enumerate(self.shape)
        ]
        raw = serialise(_build([*shared, ("X-Template", marker)], skeleton, ()))
        self._segments = _split_once(raw, header_bytes("X-Template", marker))
        for part in skeleton:
            last = self._segments.pop()
            self._segments += _split_once(last, part.text.encode("ascii"))

    def render(self, headers: Sequence[tuple[str, str]], body: Body) -> bytes:
        """One message: ``headers`` after the shared ones, then ``body`` (of the template's
        shape)."""
        if body_shape(body) != self.shape:
            raise ValueError("the body does not have the template's shape")
        parts = _alternatives(body)
        pieces = [
            self._segments[0],
            b"".join(header_bytes(name, value) for name, value in headers if value),
        ]
        for segment, part in zip(self._segments[1:-1], parts, strict=True):
            pieces += [segment, quoted_printable(part.text).encode("ascii")]
        pieces.append(self._segments[-1])
        return b"".join(pieces)
