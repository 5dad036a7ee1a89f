"""Which of a list's meetings a fresh message names, by its words: a pure rule.

A quarterly forum has several meetings open at once. A reply to one of our
messages is about that message's meeting; a fresh "please register me" is
about the one it names ("the June forum", "on 11 June", "11/06"), and a
message that names none or several is asked back. A meeting is named by the
month, the day and month, or the day of the month ("the 12th") it takes place
on (in its own time zone), or by a word of its title that the other open
meetings' titles do not share.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
#: Words of a title that name nothing in particular, or that people write about how they attend.
_PLAIN_WORDS = frozenset(
    "the and for with meeting forum network networks leaders session call quarterly event "
    "online hybrid remote remotely person room teams zoom".split()
)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_MAY_AS_MONTH = re.compile(r"\b(?:in|on|for|of|\d{1,2}(?:st|nd|rd|th)?)\s+may\b|\bmay\s+\d{1,2}\b")
_ORDINAL_DAY = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\b")
_DAY_MONTH_NUMBERS = re.compile(r"\b(\d{1,2})[/.](\d{1,2})(?:[/.]\d{2,4})?\b")


@dataclass(frozen=True)
class NameableMeeting:
    """What a meeting can be named by: its id, title and the date it takes place (local)."""

    id: int
    title: str
    day: date


def meetings_named(
    text: str,
    meetings: Sequence[NameableMeeting],
    *,
    declining: bool = False,
    anywhere: bool = True,
) -> list[int]:
    """The ids of ``meetings`` that ``text`` names, in the order given; empty when it names none.

    A registration is about the meetings named in its positive sentences
    ("I missed the March one, but June looks clear": June), a decline about
    those named where it says no ("Can't make June, see you in March":
    June); only when those name none does the whole text count (unless not
    ``anywhere``: a reply about one meeting). Dates are
    read the British way (day before month). "May" counts as the month only
    next to a day number or after "in"/"on", since it is also a verb ("may I
    come?").
    """
    sentences = _CLAUSE_BREAK.split(text)
    saying_no = [s for s in sentences if _SAYS_NO.search(s.lower().replace("’", "'"))]
    relevant = saying_no if declining else [s for s in sentences if s not in saying_no]
    named = _named(" . ".join(relevant), meetings)
    return named or (_named(text, meetings) if anywhere else [])


#: Where a sentence or a contrasting clause ends.
_CLAUSE_BREAK = re.compile(r"(?<=[.!?;])\s+|\s+(?:but|though|although|however)\s+|\n+", re.I)
#: Words that make a sentence say no to (or look back on) the meeting it names.
_SAYS_NO = re.compile(
    r"\b(?:not|no|never|can't|cant|cannot|won't|wont|unable|missed|miss|sorry|apologies|"
    r"afraid|clash\w*|away|leave|decline\w*)\b|n't\b"
)


def _named(text: str, meetings: Sequence[NameableMeeting]) -> list[int]:
    lowered = text.lower().replace("’", "'")
    words = set(_WORD.findall(lowered))
    distinctive = _distinctive_title_words(meetings)
    named = []
    for meeting in meetings:
        if (
            _names_month(lowered, words, meeting.day)
            or _names_day_and_month(lowered, meeting.day)
            or words & distinctive[meeting.id]
        ):
            named.append(meeting.id)
    return named


def _names_month(lowered: str, words: set[str], day: date) -> bool:
    month = _MONTHS[day.month - 1]
    if month == "may":
        return _MAY_AS_MONTH.search(lowered) is not None
    return month in words or month[:3] in words


def _names_day_and_month(lowered: str, day: date) -> bool:
    for found in _DAY_MONTH_NUMBERS.finditer(lowered):
        if (int(found.group(1)), int(found.group(2))) == (day.day, day.month):
            return True
    if any(int(found.group(1)) == day.day for found in _ORDINAL_DAY.finditer(lowered)):
        return True  # "Thursday 12th", "the 12th": the day of the month alone
    month = _MONTHS[day.month - 1]
    spelled = rf"\b{day.day}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{month}|{month[:3]})\b"
    backwards = rf"\b(?:{month}|{month[:3]})\s+{day.day}(?:st|nd|rd|th)?\b"
    return re.search(spelled, lowered) is not None or re.search(backwards, lowered) is not None


def _distinctive_title_words(meetings: Sequence[NameableMeeting]) -> dict[int, set[str]]:
    """Per meeting, the words of its title (four letters or more, not generic) no other meeting
    given has in its title."""
    words = {
        m.id: {w for w in _WORD.findall(m.title.lower()) if len(w) >= 4} - _PLAIN_WORDS
        for m in meetings
    }
    return {
        m.id: words[m.id] - set().union(*(words[o.id] for o in meetings if o.id != m.id))
        for m in meetings
    }
