"""Our own messages' text, found in a reply however its client quoted it, and taken out.

A reply usually carries the message it answers: our invitation, with its
link labels ("Can't attend"), footer ("Unsubscribe") and the words of our
other messages ("please register me" in a triage answer), which must never
be read as what the person asks. Clients quote it in many ways: with ``>``
at any depth or none, re-wrapped at another width, converted from our HTML
(the labels of our links kept, their addresses dropped or rewritten by Safe
Links, urldefense or Mimecast), with other blank lines, curly quotes for
straight ones and non-breaking spaces. So the comparison is on words, not
lines: each line becomes its sequence of normalised words (quote marks,
addresses and links dropped, case and quotes folded), and our texts become
one word sequence each.

The rule, in order:

1. A **run** is a stretch of the reply's words, across lines, equal to a
   stretch of one of our texts of at least :data:`MIN_RUN` words. Shorter
   coincidences never count on their own, so a person's "Thanks" or "Can't
   attend" survives although our text holds the same words.
2. A line is **ours** when all its words lie in runs, or nearly all (at
   most two words outside, and at least twice as many inside): a line of
   our HTML holding a link label that the plain text has elsewhere.
3. A line outside every run is ours too when its words are exactly the
   words of our text that come next after the last piece of ours above it
   (a label cut off from the rest by a person's inline answer), or just
   before the run below it with only quote apparatus between ("Hello
   Sam,"); so is a line holding only a link, right under a line of ours
   or found in our text, and a line holding one of our links whose words
   are a stretch of our text ("Unsubscribe: <our unsubscribe link>").
4. **Quote apparatus** goes with our text: the blank lines, bare ``>``
   lines, lines holding only links, image placeholders and quote headers
   (see :mod:`mailer.mail.quote_headers`) directly above the first line of
   ours, and, after it, those followed by more of ours or by nothing else.
   Everything else the person wrote stays, inline answers between pieces of
   our text included; a header announcing someone else's text stays, so
   that the ordinary rules end the new text there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from mailer.mail.quote_headers import quote_headers

#: The fewest words in a run of our text (see the module's rule 1).
MIN_RUN = 5

_QUOTE_MARKS = re.compile(r"^(?:[ \t]*>)+", re.MULTILINE)
#: Links wherever they start (also against a label: "attend<https://…>"), however rewritten
#: (Safe Links, urldefense, Mimecast): each pattern has a literal start, which ``re`` finds fast.
_LINKS_BY_SCHEME = [re.compile(r"https?://\S*"), re.compile(r"www\.\S*"), re.compile(r"mailto:\S*")]
_PLACEHOLDER = re.compile(r"\[(?:cid|image)\b[^\]\n]*\]")
_ENCODED = re.compile(r"%[0-9a-f]{2}")


def _without_links(text: str) -> str:
    """``text`` (case-folded) without links, addresses, long encoded tokens and image
    placeholders: none of them are words that a reader sees."""
    for scheme, pattern in zip(("http", "www.", "mailto:"), _LINKS_BY_SCHEME, strict=True):
        if scheme in text:
            text = pattern.sub(" ", text)
    if "[cid" in text or "[image" in text:
        text = _PLACEHOLDER.sub(" ", text)
    if "@" not in text and "%" not in text and max(map(len, text.split()), default=0) <= 40:
        return text
    return "\n".join(_word_tokens(line) for line in text.split("\n"))


def _word_tokens(line: str) -> str:
    if "@" not in line and "%" not in line and max(map(len, line.split()), default=0) <= 40:
        return line
    return " ".join(
        token
        for token in line.split()
        if "@" not in token and len(token) <= 40 and not _ENCODED.search(token)
    )


#: A word: letters and digits, with apostrophes inside ("can't"); quote marks are not words.
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_FOLD = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\xa0": " ", "\u202f": " "}
#: The same for ASCII text, at the speed of ``bytes.translate``: every byte that is not a
#: letter, a digit, an apostrophe or a line break becomes a space.
_ASCII_WORD_BYTES = (
    bytes(c if chr(c).isalnum() or chr(c) in "'\n" else 32 for c in range(128)) + b" " * 128
)


#: An apostrophe that is not inside a word (a quotation mark), in text of [a-z0-9' \n] only.
_LOOSE_APOSTROPHE = re.compile(r"'(?:(?<![a-z0-9]')|(?![a-z0-9]))")


def words_of_lines(lines: Sequence[str]) -> list[list[str]]:
    """Each line's normalised words: quote marks, links, addresses and image placeholders
    dropped, case and apostrophes folded."""
    text = "\n".join(lines).casefold()
    if not text.isascii():
        for character, replacement in _FOLD.items():
            text = text.replace(character, replacement)
    text = _without_links(text)
    if not text.isascii():
        return [_WORD.findall(line) for line in text.split("\n")]
    plain = text.encode("ascii").translate(_ASCII_WORD_BYTES).decode("ascii")
    if "'" in plain:
        plain = _LOOSE_APOSTROPHE.sub(" ", plain)
    return [line.split() for line in plain.split("\n")]


def without_own_text(
    lines: list[str], ours: Sequence[str], languages: tuple[str, ...]
) -> list[str]:
    """``lines`` without the text of our messages ``ours`` and the quote apparatus around it."""
    if not ours or not lines:
        return lines
    our_words, run_starts, our_links = _our_runs(tuple(ours))
    if not run_starts:
        return lines
    line_words = words_of_lines(lines)
    flat = [(index, word) for index, ws in enumerate(line_words) for word in ws]
    matched = _runs([word for _, word in flat], our_words, run_starts)
    if not any(m is not None for m in matched) and not any(
        link in line for line in lines for link in our_links
    ):
        return lines
    inside = [0] * len(lines)
    for (index, _), where in zip(flat, matched, strict=True):
        if where is not None:
            inside[index] += 1
    ours_line = [
        bool(ws) and (inside[i] == len(ws) or _nearly_all(inside[i], len(ws)))
        for i, ws in enumerate(line_words)
    ]
    apparatus = _apparatus(lines, line_words, ours_line, languages)
    _add_cut_off_pieces(
        lines, line_words, ours_line, apparatus, flat, matched, our_words, our_links
    )
    if not any(ours_line):
        return lines
    return _drop(lines, ours_line, apparatus)


def _text_words(text: str) -> list[str]:
    return [word for ws in words_of_lines(text.replace("\r\n", "\n").split("\n")) for word in ws]


def _nearly_all(inside: int, total: int) -> bool:
    outside = total - inside
    return outside <= 2 and inside >= 2 * outside and inside >= 3


_RunIndex = dict[tuple[str, ...], list[tuple[int, int]]]


@lru_cache(maxsize=64)
def _our_runs(ours: tuple[str, ...]) -> tuple[list[list[str]], _RunIndex, frozenset[str]]:
    """Our texts' words, where each sequence of :data:`MIN_RUN` of them starts (text,
    position), and their links."""
    our_words = [_text_words(text) for text in ours]
    index: _RunIndex = {}
    for text_number, text in enumerate(our_words):
        for position, key in enumerate(_sequences(text)):
            index.setdefault(key, []).append((text_number, position))
    return our_words, index, frozenset(link for text in ours for link in _LINKS.findall(text))


def _sequences(words: list[str]) -> zip[tuple[str, ...]]:
    """Every sequence of :data:`MIN_RUN` consecutive words, by where it starts."""
    return zip(*(words[offset:] for offset in range(MIN_RUN)), strict=False)


def _runs(
    theirs: list[str], ours: list[list[str]], index: _RunIndex
) -> list[tuple[int, int] | None]:
    """For each of their words, where it lies in our texts (text, position) if it is in a run of
    at least :data:`MIN_RUN` words; found greedily, longest first at each position."""
    sequences = list(_sequences(theirs))
    where: list[tuple[int, int] | None] = [None] * len(theirs)
    i = 0
    while i < len(sequences):
        found = index.get(sequences[i])
        if not found:
            i += 1
            continue
        best, best_at = 0, (0, 0)
        for text_number, position in found:
            text = ours[text_number]
            length = MIN_RUN
            while (
                i + length < len(theirs)
                and position + length < len(text)
                and theirs[i + length] == text[position + length]
            ):
                length += 1
            if length > best:
                best, best_at = length, (text_number, position)
        if not best:
            i += 1
            continue
        for offset in range(best):
            where[i + offset] = (best_at[0], best_at[1] + offset)
        i += best
    return where


def _apparatus(
    lines: list[str],
    line_words: list[list[str]],
    ours_line: list[bool],
    languages: tuple[str, ...],
) -> list[bool]:
    """Lines that are quote apparatus: blank, bare quote marks, only links or placeholders, or
    part of a quote header of our own rules (also one written inside ``>`` marks; those of
    mail-parser-reply are left to the quote step that follows). Our own lines are left out of
    the search for headers: none of them is one."""
    result = [not ws for ws in line_words]
    unquoted = _QUOTE_MARKS.sub("", "\n".join(lines)).split("\n")
    searched = ["" if ours else line for line, ours in zip(unquoted, ours_line, strict=True)]
    for index, header in quote_headers(searched, languages, library=False).items():
        for offset in range(header.span):
            if index + offset < len(lines):
                result[index + offset] = True
    for index, line in enumerate(lines):
        if line.strip() in ("--", "-- ") and result[index]:
            result[index] = False  # a signature's delimiter: ours only if ours follows
    return result


def _add_cut_off_pieces(
    lines: list[str],
    line_words: list[list[str]],
    ours_line: list[bool],
    apparatus: list[bool],
    flat: list[tuple[int, str]],
    matched: list[tuple[int, int] | None],
    our_words: list[list[str]],
    our_links: frozenset[str],
) -> None:
    """Rule 3: a line outside the runs whose words continue our text where the last piece of ours
    above it stopped (inline answers may stand between), or lead into the run right below it;
    and a line holding only a link that is under a line of ours or is one of our links."""
    first_matched: dict[int, tuple[int, int]] = {}
    last_matched: dict[int, tuple[int, int]] = {}
    for (index, _), where in zip(flat, matched, strict=True):
        if where is not None:
            first_matched.setdefault(index, where)
            last_matched[index] = where
    cursor: tuple[int, int] | None = None
    for index, ws in enumerate(line_words):
        if ours_line[index] and index in last_matched:
            text, position = last_matched[index]
            cursor = (text, position + 1)
        elif ws and not ours_line[index] and cursor is not None:
            text, position = cursor
            if our_words[text][position : position + len(ws)] == ws:
                ours_line[index] = True
                cursor = (text, position + len(ws))
    for index in range(len(line_words) - 1, -1, -1):
        ws = line_words[index]
        if not ws or ours_line[index]:
            continue
        after = _neighbour(index, 1, ours_line, apparatus)
        if after is None or after not in first_matched:
            continue
        text, position = first_matched[after]
        if position >= len(ws) and our_words[text][position - len(ws) : position] == ws:
            ours_line[index] = True
            first_matched[index] = (text, position - len(ws))
    for index, ws in enumerate(line_words):
        if ours_line[index] or not lines[index].strip():
            continue
        links = _LINKS.findall(lines[index])
        if not links:
            continue
        all_ours = all(link in our_links for link in links)
        if not ws and (all_ours or (index > 0 and ours_line[index - 1])):
            ours_line[index] = True
        elif ws and all_ours and any(_holds(text, ws) for text in our_words):
            ours_line[index] = True  # "Unsubscribe: <our own link>"


def _holds(words: list[str], piece: list[str]) -> bool:
    """Whether ``piece`` is a stretch of ``words``."""
    return any(
        words[start : start + len(piece)] == piece
        for start in range(len(words) - len(piece) + 1)
        if words[start] == piece[0]
    )


_LINKS = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]]+", re.IGNORECASE)


def _neighbour(index: int, step: int, ours_line: list[bool], apparatus: list[bool]) -> int | None:
    """The nearest line of ours in direction ``step`` with only apparatus between."""
    other = index + step
    while 0 <= other < len(ours_line):
        if ours_line[other]:
            return other
        if not apparatus[other]:
            return None
        other += step
    return None


#: A "Name: value" line, as header fields look in any language ("От: Forum", "Тема: …").
_FIELD_LIKE = re.compile(r"[^\W\d_][^:：]{0,25}\s?[:：](?:\s.*)?")


def _drop(lines: list[str], ours_line: list[bool], apparatus: list[bool]) -> list[str]:
    """Rule 4: our lines, and the apparatus above the first of them and around the rest.

    Above the first line of ours, a block of two or more "Name: value"
    lines with a blank line above it is taken for its header whatever the
    language ("От:", "Отправлено:", "Тема:")."""
    first = ours_line.index(True)
    start = first
    while start > 0 and apparatus[start - 1]:
        start -= 1
    block = start
    while (
        block > 0 and lines[block - 1].strip() and _FIELD_LIKE.fullmatch(lines[block - 1].strip())
    ):
        block -= 1
    if start - block >= 2 and (block == 0 or not lines[block - 1].strip()):
        start = block
        while start > 0 and apparatus[start - 1]:
            start -= 1
    dropped = set(range(start, first))
    index = first
    while index < len(lines):
        if ours_line[index]:
            dropped.add(index)
            index += 1
            continue
        if not apparatus[index] and lines[index].strip() not in ("--", "-- "):
            index += 1
            continue
        end = index
        while (
            end < len(lines)
            and not ours_line[end]
            and (apparatus[end] or lines[end].strip() in ("--", "-- "))
        ):
            end += 1
        if end == len(lines) or ours_line[end]:
            dropped.update(range(index, end))
        index = end
    return [line for index, line in enumerate(lines) if index not in dropped]
