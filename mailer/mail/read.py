"""From raw bytes to what a person actually wrote.

Parses with ``email.policy.default`` (headers are read raw and decoded
here, which is much cheaper than its header objects) and keeps only the new
text of a reply:
quoted lines, the quoted original under Outlook's From:/Sent: block or
Gmail's "On ... wrote:", the signature and organisations' legal footers
(disclaimers) are dropped before any decision.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import getaddresses

from mailparser_reply import EmailMessage as ReplyParserMessage
from mailparser_reply.constants import MAIL_LANGUAGES

from mailer.mail.authresults import dmarc_pass
from mailer.mail.automated import automated_reason

log = logging.getLogger(__name__)

#: Lines after which nothing is the sender's own: a quoted original's header, a client's footer.
_CUT_MARKERS = [
    re.compile(r"^-{2,}\s*(original message|forwarded message)\s*-{2,}", re.IGNORECASE),
    re.compile(r"^_{20,}\s*$"),
    re.compile(
        r"^(from|de|von) ?:\s.+", re.IGNORECASE
    ),  # French clients put a space before the colon
    re.compile(r"^\*?from:\*?\s", re.IGNORECASE),
    re.compile(r"^sent from my \w+", re.IGNORECASE),
    re.compile(r"^get outlook for \w+", re.IGNORECASE),
]
#: "On <date>, <name> wrote:" in the languages we read; the quote that follows may be answered
#: below.
_ATTRIBUTIONS = [
    re.compile(r"^on\b.{0,200}\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^le\b.{0,200}\ba écrit\s*:\s*$", re.IGNORECASE),
    re.compile(r"^am\b.{0,200}\bschrieb\b.*:\s*$", re.IGNORECASE),
]
_SIGNATURE = re.compile(r"^(--|__)\s*$")
#: The first line of the legal and security footers that organisations add under every message.
_DISCLAIMER = re.compile(
    r"^(disclaimer\b|confidentiality( notice)?\b|"
    r"this (e-?mail|message|communication)( and any (files|attachments?)( transmitted with it)?)? "
    r"(is|are|may be|may contain|contains?|was) "
    r".*(confidential|intended|privileged|official|scanned)|"
    r"the (information|contents?) (in|of|contained in) this (e-?mail|message)|"
    r"the original of this (e-?mail|message) was scanned|"
    r"if you (are not|have received this) .*(intended recipient|in error))",
    re.IGNORECASE,
)


def _one_pattern(patterns: list[re.Pattern[str]]) -> re.Pattern[str]:
    """Several line rules as one case-insensitive pattern, so each line is tested once."""
    return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.IGNORECASE)


@dataclass(frozen=True)
class ParsedMessage:
    from_email: str | None
    from_name: str | None
    subject: str
    message_id: str
    references: str
    new_text: str
    in_reply_to: str = ""
    #: Why no automatic answer may be sent to this message, if any (RFC 3834 and friends).
    automated_reason: str | None = None
    #: Our trusted MTA saw an aligned DMARC pass for the From: domain.
    authenticated: bool = False


def read_email(raw: bytes) -> EmailMessage:
    """The message object of raw bytes; parsing never fails (defects are recorded on the object)."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parse_message(
    raw: bytes | EmailMessage,
    envelope_from: str = "",
    authserv_id: str = "",
    reply_languages: tuple[str, ...] = ("en",),
    ours: Sequence[str] = (),
) -> ParsedMessage:
    """What the sender wrote and who they are, from raw bytes or a message read by
    :func:`read_email`."""
    message = read_email(raw) if isinstance(raw, bytes) else raw
    from_name, from_email = _from_address(message)
    subject = _header(message, "Subject")
    message_id = _header(message, "Message-ID").strip()
    references = " ".join(_header(message, "References").split())
    text = _body_text(message)
    return ParsedMessage(
        from_email=from_email,
        from_name=from_name,
        subject=" ".join(subject.split()),
        message_id=message_id,
        references=references,
        new_text=new_text(text, reply_languages),
        automated_reason=automated_reason(message, envelope_from, reply_languages, text),
        authenticated=dmarc_pass(message, authserv_id, from_email),
        in_reply_to=" ".join(_header(message, "In-Reply-To").split()),
    )


def _header(message: EmailMessage, name: str) -> str:
    """The first ``name`` header's text: unfolded, encoded words (RFC 2047) and raw UTF-8 decoded.

    Read from the raw header, not through ``email.policy.default``'s header
    objects: building those (a full RFC 5322 parse of each header fetched)
    cost a tenth of the worker's time per message, for values only read as
    text here. Never raises: what cannot be decoded stays as written.
    """
    return decode_words(_header_raw(message, name))


def _unfold(value: str) -> str:
    # Raw 8-bit bytes (clients that send UTF-8 unencoded) were read as escaped surrogates: this
    # turns them back into text, and leaves any other text as it is.
    return (
        value.replace("\r", "")
        .replace("\n", "")
        .encode("utf-8", "surrogateescape")
        .decode("utf-8", "replace")
    )


def decode_words(text: str) -> str:
    """``text`` with its RFC 2047 encoded words decoded; unchanged when it has none or they are
    broken."""
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        return text


def _from_address(message: EmailMessage) -> tuple[str | None, str | None]:
    # Split the raw header first, so an encoded name holding a comma cannot split an address.
    value = _header_raw(message, "From")
    pairs = [(n, a) for n, a in getaddresses([value]) if a and "@" in a]
    if not pairs:
        return None, None
    name, address = pairs[0]
    return (decode_words(name).strip() or None), address.strip()


def _header_raw(message: EmailMessage, name: str) -> str:
    wanted = name.lower()
    for key, value in message.raw_items():
        if key.lower() == wanted:
            return _unfold(value)
    return ""


def body_text(raw: bytes) -> str:
    """The whole readable text of a message (quoted parts included), for a person to read."""
    return _body_text(read_email(raw))


def _body_text(message: EmailMessage) -> str:
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except Exception:
        part = None
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, AssertionError):
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        return html_to_text(content)
    return content


_BLOCK_TAGS = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h\d|hr|/blockquote)\b[^>]*>", re.IGNORECASE)
_DROP = re.compile(r"<\s*(style|script|head)\b.*?<\s*/\s*\1\s*>", re.IGNORECASE | re.DOTALL)
_QUOTE_BLOCK = re.compile(r"<\s*blockquote\b.*?<\s*/\s*blockquote\s*>", re.IGNORECASE | re.DOTALL)
_GMAIL_QUOTE = re.compile(r"<div[^>]*class=\"?gmail_quote.*", re.IGNORECASE | re.DOTALL)
_OUTLOOK_QUOTE = re.compile(
    r"<div[^>]*id=\"?(divRplyFwdMsg|appendonsend)\"?.*", re.IGNORECASE | re.DOTALL
)
_TAG = re.compile(r"<[^>]+>")


def html_to_text(markup: str) -> str:
    """Good-enough text from an HTML-only message, with quoted parts removed first."""
    markup = _DROP.sub("", markup)
    markup = _GMAIL_QUOTE.sub("", markup)
    markup = _OUTLOOK_QUOTE.sub("", markup)
    markup = _QUOTE_BLOCK.sub("", markup)
    markup = _BLOCK_TAGS.sub("\n", markup)
    text = html.unescape(_TAG.sub("", markup))
    return "\n".join(line.strip() for line in text.replace("\xa0", " ").splitlines())


#: Languages whose reply headers mail-parser-reply knows.
REPLY_LANGUAGES = frozenset(code for code in MAIL_LANGUAGES if len(code) == 2)


def _newest_reply(text: str, languages: tuple[str, ...]) -> str:
    """The text above the first reply header that mail-parser-reply knows for these languages
    (its reply-header pattern, through its public ``EmailMessage.HEADER_REGEX``; its signature
    and disclaimer search is not wanted, ours run after it, on what it keeps)."""
    message = ReplyParserMessage(
        text=text, languages=list(languages)
    )  # the library normalises the text
    header = message.HEADER_REGEX.search(message.text)
    return message.text[: header.start()] if header else message.text


def new_text(text: str, languages: tuple[str, ...] = ("en",)) -> str:
    """The part of a message its sender wrote now, without quoted text, signature or disclaimer.

    mail-parser-reply (maintained, multi-language) finds the quoted original and
    signatures in the shapes mail clients produce when people write above the
    quote; our own rules then catch the headers and footers it leaves (Outlook's
    underscore rule, "Sent from my ...", disclaimers). When someone writes
    below or between quoted lines, the library keeps only what is above the
    first quote, so those replies are read by our rules alone: quoted lines and
    attributions are skipped and what is written around them is kept.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _writes_below_quotes(text):
        return _cut_quoted(text)
    try:
        text = _newest_reply(text, languages)
    except Exception:  # noqa: BLE001 (the library must never stop us reading a message)
        log.warning("reply parser failed; using our own rules only", exc_info=True)
    return _cut_quoted(text)


_ATTRIBUTION = _one_pattern(_ATTRIBUTIONS)
_ON = re.compile(r"^on\b", re.IGNORECASE)


def _attribution_length(lines: list[str], index: int) -> int:
    """How many lines an attribution ("On <date>, <name> wrote:") takes here: 0, 1, or 2 when
    wrapped."""
    stripped = lines[index].strip()
    if _ATTRIBUTION.match(stripped):
        return 1
    following = lines[index + 1].strip() if index + 1 < len(lines) else ""
    if _ON.match(stripped) and following.lower().endswith("wrote:"):
        return 2
    return 0


#: Every rule that ends a message (signature, disclaimer, cut markers).
_ENDS_MESSAGE = _one_pattern([_SIGNATURE, _DISCLAIMER, *_CUT_MARKERS])


def _ends_message(line: str) -> bool:
    return _ENDS_MESSAGE.match(line.strip()) is not None


def _writes_below_quotes(text: str) -> bool:
    """Whether new text follows a block of ``>`` lines (bottom-posting or an inline reply)."""
    lines = text.split("\n")
    seen_quote = False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if _ends_message(line):
            return False
        if stripped.startswith(">"):
            seen_quote = True
        elif seen_quote and stripped and not _attribution_length(lines, index):
            return True
    return False


def _cut_quoted(text: str) -> str:
    lines = text.split("\n")
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        attribution = _attribution_length(lines, index)
        if attribution:
            rest = [x.strip() for x in lines[index + attribution :] if x.strip()]
            if not rest or not rest[0].startswith(">"):
                break  # the original follows without quote marks: nothing after this is new
            index += attribution
            continue
        if _ends_message(line):
            break
        if not line.strip().startswith(">"):
            kept.append(line)
        index += 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def clean_subject(subject: str) -> str:
    """TEMPORARY until merged."""
    return subject
