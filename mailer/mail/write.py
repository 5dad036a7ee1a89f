"""Writing messages: the one MIME writer, on ``email.message.EmailMessage``.

Every message Convene sends is written here, to bytes for the SMTP wire
(RFC 5322 / 2045, CRLF line ends):

- headers are plain text as it is when it fits on a line; anything else is
  folded to lines of 78 characters, the first line always holding the start
  of the value, and where not ASCII RFC 2047 encoded. Structured headers
  (addresses) are written by ``email.policy.SMTP``; free text (Subject) is
  folded here (:func:`_fold_text`), because the standard library's folder can
  put a space that is meant to be shown between two encoded words, where
  readers ignore it. An address that is not ASCII (``jörg@example.org``)
  cannot be encoded (RFC 6532), so a header holding one is written in UTF-8
  by ``email.policy.SMTPUTF8``, and the message can then only travel over
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

import base64
import binascii
import functools
import re
import string
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy as email_policy
from email.headerregistry import HeaderRegistry, UnstructuredHeader
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
    """``value`` as it goes on the wire after ``name:``: folded lines joined by CRLF and a space.

    The first line always holds the start of the value (``Subject: Invitation: ...``, never
    ``Subject:`` alone, which readers take as a value starting with a space). White space at
    either end is not written: readers drop it.
    """
    check_header_value(value)
    value = value.strip(" \t")
    if name.lower() in URL_LIST_HEADERS and value.isascii():
        if len(name) + 2 + len(value) > _MAX_LINE:
            value = value.replace(">, <", ">,\r\n <")  # between the URLs, never inside one
        if any(len(line) > _HARD_LIMIT for line in value.split("\r\n")):
            raise ValueError(f"{name} has a URL longer than a line may be")
        return value
    if (
        value.isascii()
        and value.isprintable()
        and len(name) + 2 + len(value) <= _MAX_LINE
        and "=?" not in value
    ):
        return value  # what the policy writes for one short line of plain text
    if _is_unstructured(name):
        return _fold_text(name, value)
    policy = WIRE_UTF8 if _has_utf8_address(name, value) else WIRE
    folded = policy.fold(name, policy.header_factory(name, value))
    body = folded[len(name) + 1 :].removesuffix(policy.linesep)
    if body.startswith(policy.linesep):
        # The library moves a part that fits on a line of its own but not after the name (a long
        # address, an encoded display name) to the next line, even the first part.
        body = _refill_first_line(name, body.removeprefix(policy.linesep))
    return body.removeprefix(" ")


#: The header classes the policies read headers as (their default ``header_factory``).
_HEADER_CLASSES = HeaderRegistry()


@functools.cache
def _is_unstructured(name: str) -> bool:
    """Whether the policy reads ``name`` as free text (Subject, List-Id, References, ...)."""
    return issubclass(_HEADER_CLASSES[name], UnstructuredHeader)


def _refill_first_line(name: str, body: str) -> str:
    """``body`` (after ``name:``, CRLF-joined lines that each start with white space) with as
    much of its first line moved up after the name as fits, and at least its first word.

    Lines are only broken again where white space already is, outside quoted strings, so
    unfolding (removing each CRLF) gives back the same text: nothing a reader sees changes.
    """
    first, *rest = body.split("\r\n")
    lines = [name + ":"]
    for space, word in _FOLDABLE_SPACE.findall(first):
        if lines == [name + ":"]:
            lines[0] += " " + word
        elif len(lines[-1]) + len(space) + len(word) <= _MAX_LINE:
            lines[-1] += space + word
        else:
            lines.append(space + word)
    lines[-1] += first[len(first.rstrip(" \t")) :]  # white space the line ended with, if any
    return "\r\n".join([lines[0][len(name) + 1 :], *lines[1:], *rest])


#: White space and the word after it; a quoted string (with its escapes) is one word.
_FOLDABLE_SPACE = re.compile(r'([ \t]*)((?:"(?:[^"\\]|\\.)*"?|[^ \t"])+)')

#: Bytes a Q encoded word carries as they are (RFC 2047 5(3), as the standard library has them),
#: and the space, written "_".
_Q_SAFE_BYTES = frozenset((string.ascii_letters + string.digits + "!*+-/ ").encode("ascii"))
_EW_OVERHEAD = len("=?utf-8?q??=")
_EW_MAX = 75  # RFC 2047 2: an encoded word is at most 75 characters long
_EW_ONE_CHARACTER = _EW_OVERHEAD + 12  # room for any one character (4 bytes, Q encoded)


def _fold_text(name: str, value: str) -> str:
    """A free-text (unstructured) header's ``value``, as it goes on the wire after ``name:``.

    Words of printable ASCII are written as they are; other words, and the white space between
    two of them, as RFC 2047 encoded words (UTF-8, Q or B, whichever is shorter), so that every
    space a reader must show is plain white space beside a plain word or inside an encoded
    word. (Readers ignore the white space between two encoded words, and the standard library's
    folder can put a space that is meant to be shown there.) Lines are filled up to 78
    characters, the first one from right after the name, and broken only at white space or
    between two encoded words. A word too long for any line is encoded, so it can be split;
    one too long only for the first line stays on it (RFC 5322 allows lines of 998).
    """
    lines = [name + ":"]
    for space, text, encode in _text_pieces(value):
        lead = space or " "  # before the first piece: the space after the colon
        starts_a_line = lines[-1] == name + ":"
        if not encode:
            if starts_a_line or len(lines[-1]) + len(lead) + len(text) <= _MAX_LINE:
                lines[-1] += lead + text
            else:
                lines.append(lead + text)
            continue
        while text:
            room = min(_EW_MAX, _MAX_LINE - len(lines[-1]) - len(lead))
            if starts_a_line:
                room = max(room, _EW_ONE_CHARACTER)  # a line's first word always goes on it
            word, text = _encoded_word(text, room)
            if word:
                lines[-1] += lead + word
                lead = " "  # between two encoded words, ignored by readers
            if text:
                lines.append("")
                starts_a_line = True
    return "\r\n".join(lines)[len(name) + 2 :]


def _text_pieces(value: str) -> list[tuple[str, str, bool]]:
    """``value`` (no white space at either end) as (the white space before, the text, whether it
    is encoded): plain words, and runs of words to encode with the white space between them."""
    parts = re.split(r"([ \t]+)", value)  # word, space, word, ..., word
    pieces: list[tuple[str, str, bool]] = []
    for index in range(0, len(parts), 2):
        space, word = parts[index - 1] if index else "", parts[index]
        encode = not _is_plain_word(word)
        if encode and pieces and pieces[-1][2]:
            before, text, _ = pieces[-1]
            pieces[-1] = (before, text + space + word, True)
        else:
            pieces.append((space, word, encode))
    return pieces


def _is_plain_word(word: str) -> bool:
    """Whether ``word`` can be written as it is: printable ASCII a reader will not take for an
    encoded word, short enough for a line of its own."""
    return word.isascii() and word.isprintable() and "=?" not in word and len(word) < _MAX_LINE


def _encoded_word(text: str, room: int) -> tuple[str, str]:
    """The encoded word for as much of ``text`` as fits in ``room`` characters, and the rest of
    ``text``; ``("", text)`` when not even its first character fits."""
    characters = [char.encode("utf-8") for char in text]
    q_sizes = [sum(1 if byte in _Q_SAFE_BYTES else 3 for byte in char) for char in characters]
    use_b = 4 * -(-sum(map(len, characters)) // 3) < sum(q_sizes)
    taken = byte_count = q_size = 0
    for char, q in zip(characters, q_sizes, strict=True):
        size = 4 * -(-(byte_count + len(char)) // 3) if use_b else q_size + q
        if _EW_OVERHEAD + size > room:
            break
        byte_count, q_size, taken = byte_count + len(char), q_size + q, taken + 1
    chunk = b"".join(characters[:taken])
    if not chunk:
        return "", text
    if use_b:
        return f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=", text[taken:]
    encoded = "".join(
        "_" if byte == 0x20 else chr(byte) if byte in _Q_SAFE_BYTES else f"={byte:02X}"
        for byte in chunk
    )
    return f"=?utf-8?q?{encoded}?=", text[taken:]


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
