"""From raw bytes to what a person actually wrote.

Parses with ``email.policy.default`` (headers are read raw and decoded
here, which is much cheaper than its header objects) and keeps only the new
text of a reply (:func:`new_text`): gateway banners and classification
markings, the text of our own messages that it answers, quoted lines and
the quoted original under its quote header, footers, the signature and
organisations' legal footers (disclaimers) are dropped before any decision.
:func:`clean_subject` does the same for a subject.
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

from mailparser_reply.constants import MAIL_LANGUAGES

from mailer.mail.authresults import dmarc_pass
from mailer.mail.automated import automated_reason
from mailer.mail.own_text import without_own_text
from mailer.mail.quote_headers import is_quoted, quote_headers

log = logging.getLogger(__name__)


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
    :func:`read_email`. ``ours``: the texts of the messages we sent that this one answers (see
    :func:`new_text`)."""
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
        new_text=new_text(text, reply_languages, ours, names_of(from_name, from_email)),
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


#: An RFC 2047 encoded word, which may stand only in a display name.
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def _from_address(message: EmailMessage) -> tuple[str | None, str | None]:
    """The display name and address of From:, split on the raw header: encoded words stand in
    for a quoted name while it is split, so that what they hide (a comma, a colon, an "@",
    another address) can neither split the header nor pass for its address."""
    value = _header_raw(message, "From")
    hidden: list[str] = []

    def hide(found: re.Match[str]) -> str:
        hidden.append(found.group(0))
        return f'"\x00{len(hidden) - 1}\x00"'

    pairs = [(n, a) for n, a in getaddresses([_ENCODED_WORD.sub(hide, value)]) if a and "@" in a]
    if not pairs:
        return None, None
    name, address = pairs[0]
    name = re.sub(r"\x00(\d+)\x00", lambda m: hidden[int(m.group(1))], name)
    return (" ".join(decode_words(name).split()) or None), address.strip()


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
_SOURCE_WHITESPACE = re.compile(r"\s+")


def html_to_text(markup: str) -> str:
    """Good-enough text from an HTML-only message, with quoted parts removed first.

    Line breaks come from the markup's blocks and ``<br>``, as a browser
    shows it; a line break in the HTML source is a space (Outlook writes
    "From:" and the sender's name on separate source lines of one
    paragraph)."""
    markup = _DROP.sub("", markup)
    markup = _GMAIL_QUOTE.sub("", markup)
    markup = _OUTLOOK_QUOTE.sub("", markup)
    markup = _QUOTE_BLOCK.sub("", markup)
    markup = _SOURCE_WHITESPACE.sub(" ", markup)
    markup = _BLOCK_TAGS.sub("\n", markup)
    text = html.unescape(_TAG.sub("", markup))
    return "\n".join(line.strip() for line in text.replace("\xa0", " ").splitlines())


#: Languages whose reply headers mail-parser-reply knows.
REPLY_LANGUAGES = frozenset(code for code in MAIL_LANGUAGES if len(code) == 2)


# -- The new text ------------------------------------------------------------------------------


def new_text(
    text: str,
    languages: tuple[str, ...] = ("en",),
    ours: Sequence[str] = (),
    signed_as: Sequence[str] = (),
) -> str:
    """The part of a message its sender wrote now: no quote, signature, footer or banner.

    The rules run in this order, each on what the one before kept:

    1. :func:`_without_banners`: what a mail gateway or a classification
       policy adds (external-sender warnings, "OFFICIAL" markings), wherever
       it is, without ending the text.
    2. :func:`mailer.mail.own_text.without_own_text`: the text of our own
       messages ``ours`` (the plain texts of the messages we sent that this
       one answers, found by In-Reply-To/References; give each rendering we
       sent, the text part and the text of the HTML part, for the best
       match) however the client quoted it, with the quote headers around
       it; what the person wrote between its pieces stays.
    3. :func:`_above_the_original`: quoted lines, and everything from a
       quote header after which the original follows
       (:mod:`mailer.mail.quote_headers`, in the ``languages`` given; the
       ``[inbound] reply_languages`` setting).
    4. :func:`_above_footers`: everything from a signature delimiter
       ("-- "), a mobile client's footer ("Sent from my iPhone") or a
       disclaimer on.
    5. :func:`_without_closing`: a signature without a delimiter (a
       valediction and the name, title and contact lines under it).
    6. :func:`_without_own_name`: a signature that starts with the sender's
       own name and nothing else ("Alex", "Alex Drury | Chair, …"), given the
       names they sign with (``signed_as``, from :func:`names_of`).

    Lines marked with the sender's initials (:func:`_marked_comments`:
    Outlook's inline answers written into the quote) are kept after all.
    """
    lines = _plain_lines(text)
    lines = _without_banners(lines)
    comments = _marked_comments(lines, signed_as)
    lines = without_own_text(lines, ours, languages)
    lines = _above_the_original(lines, languages)
    lines = _above_footers(lines)
    lines = _without_closing(lines, languages)
    lines = _without_own_name(lines, signed_as, languages)
    return _joined([*lines, *(c for c in comments if c not in lines)])


def _marked_comments(lines: list[str], signed_as: Sequence[str]) -> list[str]:
    """Outlook's inline answers, marked with the sender's initials ("[AB] In person please."), as
    they are written into the quoted original: the sender's own words, wherever they stand."""
    initials = {"".join(word[0] for word in name.split()).upper() for name in signed_as}
    initials = {i for i in initials if len(i) >= 2}
    if not initials:
        return []
    comments = []
    for line in lines:
        found = _INLINE_COMMENT.match(line.strip())
        if found and found.group(1).upper() in initials and found.group(2).strip():
            comments.append(found.group(2).strip())
    return comments


_INLINE_COMMENT = re.compile(r"\[([A-Za-z]{2,4})\]\s*(.*)")


def without_signature(text: str, languages: tuple[str, ...] = ("en",)) -> str:
    """``text`` without its footers and signature (rules 4 and 5 of :func:`new_text` alone)."""
    return _joined(_without_closing(_above_footers(_plain_lines(text)), languages))


_INVISIBLE = {"\xa0": " ", "\u202f": " ", "\u200b": "", "\u200c": "", "\u2060": "", "\ufeff": ""}


def _plain_lines(text: str) -> list[str]:
    """The lines of ``text``: any line ending, non-breaking and invisible spaces made plain,
    trailing spaces dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.isascii():
        for character, replacement in _INVISIBLE.items():
            text = text.replace(character, replacement)
    return [line.rstrip() for line in text.split("\n")]


def _joined(lines: list[str]) -> str:
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# -- 1. Banners and markings -------------------------------------------------------------------

#: The first line of a warning that a gateway puts above (or into) a message from outside.
_BANNER = re.compile(
    r"(?:\*+\s*)?\[?\s*(?:caution|warning|attention|notice|external|important|security notice)"
    r"\s*\]?\s*[:!\-\u2013]\s*"
    r"(?=.*\b(?:outside|external|externally|originat\w*|phishing|spoof\w*|suspicious)\b)"
    r"|this (?:e-?mail|message) (?:originated|came|comes|was sent|has been sent|is) "
    r"(?:from )?(?:outside|an external|externally)"
    r"|this message is from an external sender"
    r"|external (?:e-?mail|sender|message)\s*(?:[:!\-\u2013]|$)"
    r"|(?:some people who received this message )?you don'?t often get e-?mail from\b"
    r"|\[?\s*(?:external|ext|external e-?mail|external sender|suspected spam)\s*\]?\s*[:.]?\s*$",
    re.IGNORECASE,
)
#: Words that carry such a warning on over its next lines.
_BANNER_WORDS = re.compile(
    r"\b(?:click|links?|attachments?|sender|content|safe|recogni[sz]e|trust|organi[sz]ation"
    r"|outside|external|phishing|suspicious|report|verify|caution|genuine|unexpected|spam"
    r"|learn why|important)\b",
    re.IGNORECASE,
)
#: A tag a gateway writes in front of the first line ("[EXTERNAL] Please register me").
_EXTERNAL_TAG = re.compile(r"\[\s*(?:external|ext)\s*\]\s*", re.IGNORECASE)
_PROOFPOINT_START, _PROOFPOINT_END = "ZjQcmQRYFpfptBannerStart", "ZjQcmQRYFpfptBannerEnd"
#: A government security classification or a sensitivity label on a line of its own.
_CLASSIFICATION = re.compile(
    r"(?i:(?:security )?classification|protective marking|sensitivity)\s*:\s*"
    r"(?i:official(?:[ \-\u2013]+sensitive)?|internal|public|general|confidential|restricted"
    r"|personal|unclassified|not protectively marked)(?:\s*[:\-\u2013]\s*[\w ]{1,30})?"
    r"|\[?(?:OFFICIAL(?:[ \-\u2013]+SENSITIVE)?|UNCLASSIFIED|NOT PROTECTIVELY MARKED)"
    r"(?:\s*[:\-\u2013]\s*[A-Z][A-Z \-]{1,30})?\]?"
)


#: How a line that may start a banner or a marking begins, to skip texts that have none.
_MAY_BE_BANNER = re.compile(
    rf"[ \t]*(?:{_BANNER.pattern}|{_CLASSIFICATION.pattern}|{_EXTERNAL_TAG.pattern})",
    re.IGNORECASE,
)


def _without_banners(lines: list[str]) -> list[str]:
    """Gateway banners and classification markings, wherever they are (at the top when a gateway
    in front of us added them, anywhere in what a client quoted).

    A banner is its first line (:data:`_BANNER`) and the lines after it,
    up to five and up to a blank line, that still speak of links, senders
    and attachments; Proofpoint's is everything between its markers. A
    marking ("OFFICIAL", "OFFICIAL-SENSITIVE: PERSONAL", "Classification:
    OFFICIAL") is a line of its own. None of them ends the text.
    """
    if not any(_MAY_BE_BANNER.match(line) or _PROOFPOINT_START in line for line in lines):
        return lines
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        if _PROOFPOINT_START in line:
            end = next(
                (
                    i
                    for i in range(index, min(index + 20, len(lines)))
                    if _PROOFPOINT_END in lines[i]
                ),
                index,
            )
            index = end + 1
            continue
        if _CLASSIFICATION.fullmatch(line):
            index += 1
            continue
        if _BANNER.match(line):
            index += 1
            carried = 0
            while (
                index < len(lines)
                and carried < 5
                and lines[index].strip()
                and _BANNER_WORDS.search(lines[index])
            ):
                index += 1
                carried += 1
            continue
        tag = _EXTERNAL_TAG.match(line)
        kept.append(lines[index].strip()[tag.end() :] if tag else lines[index])
        index += 1
    return kept


# -- 3. Quotes ---------------------------------------------------------------------------------

#: "reply On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:": the attribution written on the
#: same line as the text above it (some clients' text of their HTML).
_SHARED_ATTRIBUTION = re.compile(
    r"(?P<text>.*?\S)\s*-*\s*(?P<header>On\s(?=.*(?:\b\d{1,2}:\d{2}\b|\b(?:19|20)\d{2}\b))"
    r".{0,250}\bwrote:)\s*"
)
_LINK_ONLY = re.compile(r"[(<\[]?\s*(?:https?://|www\.)\S*\s*[)>\]]?[\s>]*", re.IGNORECASE)


def _above_the_original(lines: list[str], languages: tuple[str, ...]) -> list[str]:
    """Without quoted lines, and without everything from the quote header after which the
    original follows.

    A separator or a From:/Sent: block ends the new text; an attribution
    ends it when the original under it is not quoted with ``>`` (Outlook,
    GroupWise, a forward) and otherwise is skipped, so that what the person
    wrote below or between the quoted lines (bottom-posting, inline
    answers) is kept. A line holding only a link, or the end of a link,
    between quoted lines is part of the quote (clients wrap long links out
    of their quote marks).
    """
    lines = _split_shared_attributions(lines)
    headers = quote_headers(lines, languages)
    kept: list[str] = []
    index = 0
    while index < len(lines):
        header = headers.get(index)
        if header is not None:
            after = index + header.span
            if header.always_ends or not _quoted_next(lines, after):
                break
            index = after
            continue
        if not _in_quote(lines, index):
            kept.append(lines[index])
        index += 1
    return kept


def _split_shared_attributions(lines: list[str]) -> list[str]:
    if not any("wrote:" in line for line in lines):
        return lines
    split: list[str] = []
    for line in lines:
        shared = _SHARED_ATTRIBUTION.fullmatch(line.strip()) if "wrote:" in line else None
        if shared and not is_quoted(line):
            split += [shared.group("text").rstrip(" -"), shared.group("header")]
        else:
            split.append(line)
    return split


def _quoted_next(lines: list[str], index: int) -> bool:
    following = next((line for line in lines[index:] if line.strip()), "")
    return is_quoted(following)


def _in_quote(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    if is_quoted(line):
        return True
    if not line or index == 0 or not is_quoted(lines[index - 1]):
        return False
    previous = lines[index - 1]
    if _LINK_ONLY.fullmatch(line):
        return True
    # the end of a link broken out of a quoted line: "> View (http://example.com/a" + "b=1)"
    opened = max(previous.rfind("(http"), previous.rfind("<http"))
    return " " not in line and opened >= 0 and line[-1] in ")>" and ")" not in previous[opened:]


# -- 4. Footers --------------------------------------------------------------------------------

#: A mobile or web client's line under what was written (one phrase: a sentence after it,
#: "Sent from the train. Please register me.", is the person's).
_CLIENT_FOOTER = (
    r"(?:sent|envoyé|gesendet|enviado|inviato|verzonden|skickat|sendt|wysłano|odesláno)[ \t]+"
    r"(?:from|with|using|via|von|mit|depuis|avec|desde|con|da|vanaf|met|från|med|fra|z)\b"
    r"(?:[^.!?\n]|[.!?](?=\S)){1,90}[.!]?"
    r"|(?:get|download) outlook for\b.{0,60}"
)
#: The first line of the legal and security footers that organisations add under every message.
_DISCLAIMER = (
    r"(?:disclaimer\b|confidentiality(?: notice)?\b"
    r"|this (?:e-?mail|message|communication)(?: and any (?:files|attachments?)"
    r"(?: transmitted with it)?)? (?:is|are|may be|may contain|contains?|was) "
    r".*(?:confidential|intended|privileged|official|scanned)"
    r"|the (?:information|contents?) (?:in|of|contained in) this (?:e-?mail|message)"
    r"|the original of this (?:e-?mail|message) was scanned"
    r"|this (?:e-?mail|message) has been (?:scanned|checked)"
    r"|any views or opinions (?:expressed|presented)"
    r"|please consider the environment before printing"
    r"|communications? (?:with|via|to) .{0,80}(?:may|are|will) be (?:automatically )?"
    r"(?:logged|monitored|recorded)"
    r"|if you (?:are not|have received this) .*(?:intended recipient|in error)).*"
)
#: A line that ends the text: a signature delimiter ("-- "), a client's footer, a disclaimer.
_FOOTER = re.compile(
    rf"^[ \t]*(?:--|__|{_CLIENT_FOOTER}|{_DISCLAIMER})[ \t]*$", re.IGNORECASE | re.MULTILINE
)


def _above_footers(lines: list[str]) -> list[str]:
    """Everything above the first signature delimiter ("-- "), client footer ("Sent from my
    iPhone", "Get Outlook for Android", "Sent with Proton Mail secure email.") or disclaimer."""
    text = "\n".join(lines)
    footer = _FOOTER.search(text)
    return lines[: text.count("\n", 0, footer.start())] if footer else lines


# -- 5. The signature without a delimiter ------------------------------------------------------

#: Closing words, alone or with a comma ("Kind regards", "Thanks,", "BW").
_VALEDICTIONS = [
    r"(?:kind(?:est)?|best|warm(?:est)?|many|with (?:kind|best|warm)) regards",
    r"regards",
    r"rgds",
    r"(?:with )?(?:many )?thanks(?: again| so much| very much| a lot| in advance| all)?",
    r"thanks (?:and|&) (?:kind |best )?regards",
    r"thank you(?: again| so much| very much| in advance)?",
    r"thx",
    r"cheers",
    r"best(?: wishes)?",
    r"(?:with )?(?:best|warm(?:est)?|kind(?:est)?) wishes",
    r"all (?:the )?best",
    r"bw|kr|br|ta",
    r"yours(?: sincerely| faithfully| truly)?",
    r"sincerely",
    r"speak soon",
    r"take care",
]
#: A name after a valediction's comma ("Regards, Roman").
_NAME = r"[A-Z][\w'\-.]*(?: [A-Z][\w'\-.]*){0,2}"


@dataclass(frozen=True)
class _ClosingRules:
    #: A valediction alone on its line, or before a name ("Regards, Roman").
    whole_line: re.Pattern[str]
    #: A valediction alone, as the last sentence of a line.
    alone: re.Pattern[str]


_CLOSING_RULES: dict[tuple[str, ...], _ClosingRules] = {}


def _closing_rules(languages: tuple[str, ...]) -> _ClosingRules:
    """The valedictions: English, and those of the configured languages that mail-parser-reply
    knows (its signature openings)."""
    if languages not in _CLOSING_RULES:
        words = list(_VALEDICTIONS)
        for language in languages:
            if language != "en":
                words += MAIL_LANGUAGES.get(language, {}).get("signatures", [])
        closing = "|".join(f"(?:{w.rstrip(',')})" for w in words)
        _CLOSING_RULES[languages] = _ClosingRules(
            whole_line=re.compile(rf"(?i:{closing})\s*[,.!]*(?:\s*,?\s*{_NAME})?\s*[,.!]*"),
            alone=re.compile(rf"(?i:{closing})\s*[,.!]*"),
        )
    return _CLOSING_RULES[languages]


#: At most this many lines under a valediction are a signature.
_MAX_SIGNATURE_LINES = 12
_PHONE = re.compile(
    r"(?:(?:t|tel|telephone|phone|ph|m|mob|mobile|cell|o|office|d|dd|direct(?: line| dial)?"
    r"|w|work|p|f|fax|switchboard|ext|extension)\b\.?\s*[:.]?\s*)?"
    r"\+?\(?\d[\d\s().\-/]{5,}\d(?:\s*(?:ext\.?|x)\s*\d+)?",
    re.IGNORECASE,
)
#: Contact, address, pronoun and working-pattern lines of a signature.
_SIGNATURE_SHAPES = re.compile(
    r"[^\s@]+@[^\s@]+\.\w|https?://|\bwww\."
    r"|\b(?:she|he|they|ze|xe)\s*/\s*(?:her|him|them|hers|his|theirs|zir|xem)\b|\bpronouns?\b"
    r"|\bworking (?:pattern|days|hours|week)\b|\bpart[- ]time\b|\bnon[- ]working\b"
    r"|\b(?:don'?t|do not) (?:feel )?(?:obliged|expected|any pressure|the need) to"
    r" (?:reply|respond)"
    r"|\b(?:twitter|linkedin|bluesky|mastodon)\b"
    r"|^\d+[a-z]?,?\s+\w.*\b(?:street|road|lane|avenue|place|square|house|way|row|court|terrace"
    r"|gardens|park|building|floor)\b",
    re.IGNORECASE,
)
_UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b")
#: Words of a sentence that asks or answers something, which no name or job title holds.
_REQUEST_WORDS = frozenset(
    "i i'm i'll i'd i've me my we we'll we're we'd us you your please pls could would can can't"
    " cannot will won't shall should need want like love attend attending come coming register"
    " registered join joining cancel unsubscribe remove sign count add send let yes no not remote"
    " remotely online person in-person virtual virtually teams zoom decline accept apologies"
    " sorry unable place seat waitlist also but if when is are am was were be been have has had"
    " do does did get go see".split()
)
_NAME_LINE = re.compile(r"[A-Z][\w'\-.]*(?:\s+[A-Z][\w'\-.]*){0,3}")
_NOT_A_NAME = frozenset(
    "yes no please register attend remote remotely online cancel unsubscribe join decline count"
    " in person sorry apologies".split()
)
_LOWER_WORD = re.compile(r"[\w'\-]+")


def _lower_words(line: str) -> set[str]:
    return set(_LOWER_WORD.findall(line.lower().replace("\u2019", "'")))


def _without_closing(lines: list[str], languages: tuple[str, ...]) -> list[str]:
    """Without a signature that has no delimiter: from a valediction on ("Kind regards", "Many
    thanks", "Thanks,", "Cheers", "BW" …, alone on its line, before a name on it, or ending the
    last sentence), when every line under it looks like part of a signature (see
    :func:`_looks_like_signature`) and there are at most twelve; or from a
    name or a rule that starts the last paragraphs, when they are such lines
    and at least two of them are contact lines (a signature without a
    valediction: "Gina Smith", her address, phone and web site).

    The first such valediction is the cut. When a line under a valediction
    reads as more of the message (a question, a sentence asking or
    answering something: "Could you also register Sam?", "In person
    please", a long line), that valediction is not the end and the next one
    is tried. A valediction with nothing above it is the message itself
    ("Thanks!" and a name): it stays, the lines under it go.
    """
    rules = _closing_rules(languages)
    content = [index for index, line in enumerate(lines) if line.strip()]
    stripped = [lines[index].strip() for index in content]
    for position in range(max(0, len(content) - _MAX_SIGNATURE_LINES - 1), len(content)):
        index, line = content[position], stripped[position]
        whole = rules.whole_line.fullmatch(line) is not None
        sentence = None if whole else _before_closing_sentence(line, rules)
        under = stripped[position + 1 :]
        if not (whole or sentence) and position > 0 and _opens_contact_block(lines, index, under):
            under = [line, *under]
        elif not (whole or sentence):
            continue
        if len(under) > _MAX_SIGNATURE_LINES or not all(
            _looks_like_signature(u, rules) for u in under
        ):
            continue
        if sentence is not None:
            return [*lines[:index], sentence]
        if whole and position == 0:
            return lines[: index + 1]
        return lines[:index]
    return lines


def _before_closing_sentence(line: str, rules: _ClosingRules) -> str | None:
    """The text of a line before a valediction that is its last sentence ("… me. Many thanks")."""
    sentences = _SENTENCE_END.split(line)
    if len(sentences) > 1 and rules.alone.fullmatch(sentences[-1]):
        return line[: len(line) - len(sentences[-1])].rstrip()
    return None


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _opens_contact_block(lines: list[str], index: int, under: list[str]) -> bool:
    """A signature without a valediction: a name or a rule ("----") starting a paragraph, with
    at least two contact lines (phone, address, web) among the lines under it."""
    line = lines[index].strip()
    if index > 0 and lines[index - 1].strip():
        return False
    if not (_NAME_LINE.fullmatch(line) or re.fullmatch(r"[-_=*~]{2,}", line)):
        return False
    contacts = [
        u
        for u in under
        if _PHONE.fullmatch(u) or re.search(r"[^\s@]+@[^\s@]+\.\w|https?://|\bwww\.", u)
    ]
    return len(contacts) >= 2


def _looks_like_signature(line: str, rules: _ClosingRules) -> bool:
    """Whether a line under a valediction can be part of a signature: another valediction, a
    contact, address, pronoun or working-pattern line, a name, or a short line (at most eight
    words) that neither asks nor answers anything (a job title, a department). A line of
    parts separated by "|" or "•" is judged part by part."""
    parts = [p.strip() for p in re.split(r"\s[|•·]\s", line) if p.strip()]
    if len(parts) > 1:
        return all(_looks_like_signature(part, rules) for part in parts)
    if len(line) > 120:
        return False
    if (
        rules.whole_line.fullmatch(line)
        or _PHONE.fullmatch(line)
        or _SIGNATURE_SHAPES.search(line)
        or _UK_POSTCODE.search(line)
    ):
        return True
    if not re.search(r"\w", line):
        return True  # a rule or other decoration
    words = _lower_words(line)
    if _NAME_LINE.fullmatch(line) and not words & _NOT_A_NAME:
        return True
    if len(line.split()) > 8 or len(line) > 70 or line.endswith("?"):
        return False
    return not words & _REQUEST_WORDS


def names_of(display_name: str | None, email: str | None) -> list[str]:
    """The names a sender may sign with, lower case: their display name (also "Last, First" the
    right way round, without a bracketed department), its first word, and the name their
    address spells ("alex.drury@" is Alex Drury)."""
    names: list[str] = []
    display = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", display_name or "")
    if "," in display:
        last, _, first = display.partition(",")
        display = f"{first} {last}"
    local = (email or "").partition("@")[0]
    spelled = " ".join(p for p in re.split(r"[._\-+]", local) if p.isalpha())
    for name in (display, spelled):
        words = _LOWER_WORD.findall(name.lower())
        if words:
            names += [" ".join(words), words[0]]
    return list(dict.fromkeys(n for n in names if len(n) >= 2))


def _without_own_name(
    lines: list[str], signed_as: Sequence[str], languages: tuple[str, ...]
) -> list[str]:
    """Without a signature that starts with the sender's own name: a line below the message that
    is the name (or the first name and an initial: "Alex G"), or begins with it before a "|",
    "," or dash, when every line under it looks like part of a signature. A message that is
    only a name stays as it is."""
    if not signed_as:
        return lines
    rules = _closing_rules(languages)
    names = "|".join(re.escape(n) for n in sorted(signed_as, key=len, reverse=True))
    own_name = re.compile(
        rf"[\s\-\u2013\u2014~]*(?:{names})(?: [a-z])?\.?\s*(?:$|[|,\u2013\u2014]|\s-\s)",
        re.IGNORECASE,
    )
    content = [index for index, line in enumerate(lines) if line.strip()]
    first = max(1, len(content) - _MAX_SIGNATURE_LINES - 1)  # a signature is at most this long
    for position in range(first, len(content)):
        index = content[position]
        if own_name.match(lines[index]) and all(
            _looks_like_signature(lines[i].strip(), rules) for i in content[position + 1 :]
        ):
            return lines[:index]
    return lines


# -- Subjects ----------------------------------------------------------------------------------

#: Reply and forward prefixes in the languages clients write them, and gateways' tags.
_SUBJECT_PREFIX = re.compile(
    r"(?:(?:re|aw|sv|vs|antw|antwort|odp|ynt|vá|atb|rif|r|r[ée]f\.?|res|rv|tr|fw|fwd|wg|enc"
    r"|doorst|vl|fs|pd|přeposl)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]"
    r"|(?:回复|答复|转发|回覆|轉寄|返信|転送)\s*[:：]"
    r"|(?:external|ext|caution|spam)\s*[:：]"
    r"|official(?:[ \-\u2013]+sensitive)?(?:\s*[:\-\u2013]\s*(?:personal|commercial))?\s*[:：]"
    r")\s*",
    re.IGNORECASE,
)
#: A gateway's tag anywhere in a subject: "[EXTERNAL]", "[EXT]", "*EXTERNAL*", "[SUSPECTED SPAM]".
_SUBJECT_TAG = re.compile(
    r"\[\s*(?:external|ext|external e-?mail|external sender|suspected spam|spam|possible spam"
    r"|phish(?:ing)?|caution|warning|official(?:[ \-\u2013]+sensitive)?)\s*\]"
    r"|\*+\s*(?:external|ext|spam)\s*\*+",
    re.IGNORECASE,
)


def clean_subject(subject: str) -> str:
    """A subject as its sender wrote it: without reply and forward prefixes ("Re:", "RE:",
    "AW:", "SV:", "Réf :", "TR:", "Fwd:", "WG:", "Antw:", …, however many), gateways' tags
    ("[EXTERNAL]", "EXTERNAL:", "[EXT]", "*EXTERNAL*", "[SUSPECTED SPAM]") and classification
    markings ("OFFICIAL:", "OFFICIAL-SENSITIVE:"), for reading as request text."""
    text = " ".join(_SUBJECT_TAG.sub(" ", subject).split())
    while prefix := _SUBJECT_PREFIX.match(text):
        text = text[prefix.end() :]
    return text
