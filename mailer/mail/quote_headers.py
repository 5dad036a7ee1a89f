"""Quote headers: the lines a mail client writes above the original it quotes.

A reply's new text ends where the original begins, and the original is
announced by one of a few kinds of header, each found on a line that is not
itself quoted (a header inside ``>`` lines belongs to the quote):

- an **attribution**: "On <date>, <name> <address> wrote:" and the shapes
  clients give it (with or without the colon, "sent:" for "wrote:", framed
  in dashes by Zoho and Android, wrapped over up to four lines, a date and
  an address ending in a colon as Gmail writes it in numeric locales and
  most clients in other languages, Lotus Notes' "wrote on <date>:",
  GroupWise's ``>>> Name <address> <date> >>>``), plus the attributions of
  the configured languages that mail-parser-reply knows;
- a **separator**: "-----Original Message-----" and its kin in the
  languages mail-parser-reply knows, "Begin forwarded message:", and a rule
  of underscores (Outlook's, and the one above a list's footer);
- a **header block**: Outlook's From:/Sent:/To:/Subject: lines in any of
  the configured languages (also when the client put "From:" alone on a
  line and the sender under it), and whatever mail-parser-reply's
  ``EmailMessage.HEADER_REGEX`` finds for those languages.

An attribution announces an original that may be quoted with ``>`` and
answered between its lines, so what follows it decides whether the new text
ends there; a separator or a header block always ends it. Pure functions of
the lines and the configured languages.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from mailparser_reply import EmailMessage as ReplyParserMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuoteHeader:
    #: How many lines the header takes (wrapped attributions take more than one).
    span: int
    #: The new text ends here whatever follows (a separator, a From:/Sent: block); otherwise it
    #: ends here only when the original follows without quote marks.
    always_ends: bool


_ADDRESS = r"[^\s<>()\[\]@\"]+@[^\s<>()\[\]\"]+"
#: An address as clients write it in a header: <a@b>, (a@b), [mailto:a@b], "< a@b >".
_BRACKETED_ADDRESS = rf"[<(\[]\s*(?:mailto:\s*)?{_ADDRESS}\s*[>)\]]"
#: What every dated header holds: a time or a year.
_DATE_OR_TIME = r"(?:\b\d{1,2}:\d{2}\b|\b(?:19|20)\d{2}\b)"
_NUMERIC_DATE = r"(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})\b"
#: How a dated header begins: a date, a weekday or month, or the word before the date.
_OPENER = (
    r"(?:\d|(?:on|am|le|el|il|op|den|på|em|vào|w dniu|dnia|dne)\b"
    r"|(?:mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b)"
)

#: Attributions in any language (each matched against a whole line, or a wrapped one joined).
_ATTRIBUTIONS_ANY_LANGUAGE = [
    # "On <date>, <name> wrote:" (Gmail, Apple Mail, Thunderbird, Yahoo, Proton, Outlook mobile)
    r"on\b.{0,250}\bwrote\s*:",
    # the same without its colon, or "sent:" for "wrote:", when a date or an address says so
    rf"on\b.{{0,250}}{_BRACKETED_ADDRESS}.{{0,40}}\b(?:wrote|sent)\s*:?",
    rf"on\b(?=.*{_DATE_OR_TIME}).{{0,250}}\bsent\s*:",
    # "Name <a@b> wrote:" / "Name <a@b> sent:"
    rf".{{0,120}}{_BRACKETED_ADDRESS}\s*(?:wrote|sent)\s*:?",
    # Lotus Notes: '"Name" <a@b> wrote on 04/03/2026 10:02:11:'
    rf".{{0,160}}\bwrote on\b(?=.*{_DATE_OR_TIME}).{{0,60}}:",
    # a date or time and an address, ending in a colon: Gmail in numeric locales
    # ("2014-10-17 11:28 GMT+03:00 Name <a@b>:") and most clients in other languages
    rf"{_OPENER}(?=.*{_DATE_OR_TIME}).{{0,250}}{_BRACKETED_ADDRESS}.{{0,60}}:",
    # a numeric date and an address without a colon: "2011/4/7 Name <a@b>"
    rf"{_NUMERIC_DATE}.{{0,160}}{_BRACKETED_ADDRESS}",
    # GroupWise's header once its leading ">>>" is read as quote marks
    rf"(?=.*(?:@|{_DATE_OR_TIME})).{{1,200}}\s>>>",
]
#: Attributions of the languages mail-parser-reply knows, where its own patterns miss shapes
#: that clients write (the verb before the name, no name, a wrapped line).
_ATTRIBUTIONS_BY_LANGUAGE = {
    "cs": [r"dne\b.{0,250}\bnapsal(?:a|\(a\))?\b.{0,120}:"],
    "da": [r"(?:den|på)\b.{0,250}\bskrev\b.{0,120}:"],
    "de": [r"am\b.{0,250}\bschrieb\b.{0,120}:"],
    "es": [r"el\b.{0,250}\bescribió\b.{0,120}:"],
    "fr": [r"le\b.{0,250}\ba écrit\b.{0,120}:"],
    "it": [r"il\b.{0,250}\bha scritto\b.{0,120}:"],
    "nl": [r"op\b.{0,250}\b(?:schreef|geschreven)\b.{0,120}:"],
    "pl": [r"(?:w dniu|dnia)\b.{0,250}\b(?:napisał(?:a|\(a\))?|pisze)\b.{0,120}:"],
    "sv": [r"(?:den|på)\b.{0,250}\bskrev\b.{0,120}:"],
    "zh": [r".{0,200}\d{4}年\d{1,2}月\d{1,2}日.{0,60}写道\s*[:：]"],
}
#: The verbs of those attributions, to skip the lines that hold none.
_ATTRIBUTION_VERBS = {
    "cs": ("napsal",),
    "da": ("skrev",),
    "de": ("schrieb",),
    "es": ("escribió",),
    "fr": ("a écrit",),
    "it": ("ha scritto",),
    "nl": ("schreef", "geschreven"),
    "pl": ("napisał", "pisze"),
    "sv": ("skrev",),
    "zh": ("写道",),
}
#: Words that end an attribution framed in dashes ("---- Name wrote ----").
_FRAMED_VERBS = r"(?:wrote|sent|schrieb|a écrit|escribió|ha scritto|schreef|skrev|napisał)"
_FRAMED = re.compile(r"-{2,}\s*(.{1,250}?)\s*-*\s*")
_FRAMED_ATTRIBUTION = re.compile(rf".{{1,250}}\b{_FRAMED_VERBS}\s*:?", re.IGNORECASE)
#: GroupWise: ">>> Name <a@b> 04/03/2026 10:02 >>>" (the original follows unquoted).
_GROUPWISE = re.compile(rf">>>\s*(?=.*(?:@|{_DATE_OR_TIME})).{{1,200}}\s>>>", re.IGNORECASE)

#: The titles of the separators clients put above a quoted or forwarded message.
_SEPARATOR_TITLES = [
    "original message",
    "forwarded message",
    "reply message",
    "ursprüngliche nachricht",
    "weitergeleitete nachricht",
    "antwort nachricht",
    "message d'origine",
    "message transféré",
    "mensaje original",
    "mensaje reenviado",
    "messaggio originale",
    "messaggio inoltrato",
    "oorspronkelijk bericht",
    "doorgestuurd bericht",
    "oprindelig meddelelse",
    "videresendt meddelelse",
    "ursprungligt meddelande",
    "vidarebefordrat meddelande",
    "wiadomość oryginalna",
    "wiadomość przekazana dalej",
    "původní zpráva",
    "přeposlaná zpráva",
    "元のメッセージ",
    "転送されたメッセージ",
    "原始邮件",
    "转发的邮件",
    "원본 메시지",
    "전달된 메시지",
]
_SEPARATOR = re.compile(
    r"-{2,}\s*(?:" + "|".join(re.escape(t) for t in _SEPARATOR_TITLES) + r")\s*-{2,}"
    r"|_{20,}"
    # Apple Mail's forward, in the languages it writes
    r"|begin forwarded message\s*:|anfang der weitergeleiteten nachricht\s*:"
    r"|début du message réexpédié\s*:|inizio messaggio inoltrato\s*:"
    r"|begin doorgestuurd bericht\s*:|comienzo del mensaje reenviado\s*:",
    re.IGNORECASE,
)

#: Outlook's header field names, by language (From first).
_FIELDS = {
    "en": ("from", "sent|date|to|subject|cc"),
    "cs": ("od", "odesláno|datum|komu|předmět|kopie"),
    "da": ("fra", "sendt|dato|til|emne|cc"),
    "de": ("von", "gesendet|datum|an|betreff|cc"),
    "es": ("de", "enviado|fecha|para|asunto|cc"),
    "fr": ("de", "envoyé|date|à|objet|cc"),
    "it": ("da", "inviato|data|a|oggetto|cc"),
    "ja": ("差出人", "送信日時|日付|宛先|件名|cc"),
    "ko": ("보낸\\s?사람", "보낸\\s?날짜|받는\\s?사람|제목|참조"),
    "nl": ("van", "verzonden|datum|aan|onderwerp|cc"),
    "pl": ("od", "wysłano|data|do|temat|dw"),
    "sv": ("från", "skickat|datum|till|ämne|kopia"),
    "zh": ("发件人", "发送时间|日期|收件人|主题|抄送"),
}
#: From: names recognised whatever the languages ("De :" with French spacing, German "Von:").
_FROM_ALWAYS = ("from", "de", "von")


@dataclass(frozen=True)
class _Rules:
    attribution: re.Pattern[str]
    #: One of these is in every attribution (the verb, an address, GroupWise's marks).
    attribution_words: tuple[str, ...]
    from_line: re.Pattern[str]
    field_line: re.Pattern[str]
    library_headers: re.Pattern[str]


@lru_cache(maxsize=32)
def _rules(languages: tuple[str, ...]) -> _Rules:
    attributions = list(_ATTRIBUTIONS_ANY_LANGUAGE)
    for language in languages:
        attributions += _ATTRIBUTIONS_BY_LANGUAGE.get(language, [])
    froms = set(_FROM_ALWAYS)
    fields: set[str] = set()
    for language in ("en", *languages):
        if language in _FIELDS:
            first, others = _FIELDS[language]
            froms.add(first)
            fields.update(others.split("|"))
    from_names = "|".join(sorted(froms))
    field_names = "|".join(sorted(fields | froms))
    verbs = {"wrote", "sent", "@", ">>>"}
    for language in languages:
        verbs.update(_ATTRIBUTION_VERBS.get(language, ()))
    return _Rules(
        attribution=re.compile("|".join(f"(?:{p})" for p in attributions), re.IGNORECASE),
        attribution_words=tuple(sorted(verbs)),
        # "From: Name <a@b>", "*From:* Name", "De : Name" (French spacing), "From:" alone
        from_line=re.compile(rf"\*?(?:{from_names})\*?\s?[:：]\*?(?:\s+(.*))?", re.IGNORECASE),
        field_line=re.compile(rf"\*?(?:{field_names})\*?\s?[:：]\*?(?:\s.*)?", re.IGNORECASE),
        library_headers=_library_pattern(languages),
    )


def _library_pattern(languages: tuple[str, ...]) -> re.Pattern[str]:
    """mail-parser-reply's own header pattern for these languages, through its public
    ``EmailMessage.HEADER_REGEX``; one that never matches if the library fails (it must never
    stop us reading a message: our own rules still run)."""
    try:
        return ReplyParserMessage(text="", languages=list(languages)).HEADER_REGEX
    except Exception:  # noqa: BLE001
        log.warning("mail-parser-reply's header pattern unavailable", exc_info=True)
        return re.compile(r"(?!)")


def is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def quote_headers(
    lines: Sequence[str], languages: tuple[str, ...], library: bool = True
) -> dict[int, QuoteHeader]:
    """The quote headers in ``lines``, by the index of the line each starts on (with
    ``library=False``, those of our own rules only)."""
    rules = _rules(languages)
    found: dict[int, QuoteHeader] = {}
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped[0] == ">":
            if _GROUPWISE.fullmatch(stripped):
                found[index] = QuoteHeader(1, always_ends=False)
            continue
        if _may_be_header(stripped):
            if _SEPARATOR.fullmatch(stripped) or _is_header_block(lines, index, rules):
                found[index] = QuoteHeader(1, always_ends=True)
                continue
            if _is_attribution(stripped, rules):
                found[index] = QuoteHeader(1, always_ends=False)
                continue
        span = _wrapped_attribution_span(lines, index, rules)
        if span:
            found[index] = QuoteHeader(span, always_ends=False)
    if not library:
        return found
    ending = next((i for i in sorted(found) if _ends_text(lines, i, found[i])), len(lines))
    for index, span in _library_headers(lines, rules, ending):
        found.setdefault(index, QuoteHeader(span, always_ends=False))
    return found


def _ends_text(lines: Sequence[str], index: int, header: QuoteHeader) -> bool:
    """Whether the new text ends at this header: it always does, or the original under it is
    not quoted (the first line after it that is not blank has no ``>``)."""
    if header.always_ends:
        return True
    following = next((line for line in lines[index + header.span :] if line.strip()), "")
    return not is_quoted(following)


def _is_attribution(text: str, rules: _Rules) -> bool:
    lower = text.lower()
    if not any(word in lower for word in rules.attribution_words):
        return False
    if rules.attribution.fullmatch(text):
        return True
    framed = _FRAMED.fullmatch(text) if text.startswith("--") else None
    return framed is not None and _FRAMED_ATTRIBUTION.fullmatch(framed.group(1)) is not None


_OPENS_ATTRIBUTION = re.compile(rf"[-\s]*{_OPENER}.*\d", re.IGNORECASE)


def _may_be_header(line: str) -> bool:
    """Whether a line holds what every one-line header holds: a colon, a rule, an address or
    "wrote"/"sent"."""
    if any(mark in line for mark in (":", "：", "@", "--", "__")):
        return True
    lower = line.lower()
    return "wrote" in lower or "sent" in lower


def _wrapped_attribution_span(lines: Sequence[str], index: int, rules: _Rules) -> int:
    """How many lines a wrapped attribution starting here takes (0: none): joined over up to four
    lines (blank lines between them skipped), when its first line holds a digit (of a date or a
    time) after the word an attribution starts with, and each line after it is short."""
    first = lines[index].strip()
    if len(first) > 300 or not _OPENS_ATTRIBUTION.match(first):
        return 0
    joined = first
    taken = 0
    for offset in range(1, 6):
        if index + offset >= len(lines):
            break
        following = lines[index + offset].strip()
        if not following:
            continue
        if len(following) > 80 or len(joined) > 300:
            break
        joined = f"{joined} {following}"
        taken += 1
        if _is_attribution(joined, rules):
            return offset + 1
        if taken == 3:
            break
    return 0


def _is_header_block(lines: Sequence[str], index: int, rules: _Rules) -> bool:
    """A From: line with its sender ("From: Name <a@b>", "From: Name Sent: Monday"), or
    "From:" alone with the sender on the next line and another field under it (the text of
    Outlook's HTML, which puts them on separate source lines), or two field lines together
    ("Sent: …" then "To: …")."""
    stripped = lines[index].strip()
    from_line = rules.from_line.fullmatch(stripped)
    if from_line and (from_line.group(1) or "").strip():
        return True
    following = [line.strip() for line in lines[index + 1 : index + 7] if line.strip()][:3]
    if from_line:
        return any(
            rules.field_line.fullmatch(line) or re.search(_ADDRESS, line) for line in following
        )
    if rules.field_line.fullmatch(stripped) and following:
        return rules.field_line.fullmatch(following[0]) is not None
    return False


def _library_headers(lines: Sequence[str], rules: _Rules, ending: int) -> list[tuple[int, int]]:
    """Where mail-parser-reply's header pattern matches (start line, lines taken), on unquoted
    lines above line ``ending`` (where our own rules end the text already), and up to the first
    match that ends the text. It is tried on the stripped lines, as the library normalises its
    text, with the quoted ones left blank (a header inside a quote belongs to the quote)."""
    tried = ["" if is_quoted(line) else line.strip() for line in lines[:ending]]
    text = "\n".join(tried)
    if ":" not in text and "：" not in text and "---" not in text:
        return []  # every header it knows holds a colon or a row of hyphens
    starts = [0]
    for line in tried[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    found: list[tuple[int, int]] = []
    for match in rules.library_headers.finditer(text):
        start = match.start()
        while start < match.end() and text[start] == "\n":
            start += 1
        matched = text[start : match.end()].rstrip("\n")
        if not matched.strip():
            continue
        index = bisect.bisect_right(starts, start) - 1
        if is_quoted(lines[index]):
            continue
        span = matched.count("\n") + 1
        found.append((index, span))
        if _ends_text(lines, index, QuoteHeader(span, always_ends=False)):
            break
    return found
