"""What a person's new text asks for.

Deliberately cautious: a wrong guess that registers or removes someone is
worse than asking an organiser, so anything not clearly one request is
``unclear`` and goes to triage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from mailer.domain.models import AttendanceMode

IntentKind = Literal["register", "decline", "leave", "unclear"]


@dataclass(frozen=True)
class Intent:
    kind: IntentKind
    mode: AttendanceMode | None = None
    question: bool = False
    fallback: AttendanceMode | None = None
    reason: str = ""


def _any(patterns: list[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b", re.I)


_DECLINE = _any(
    [
        r"(?:can'?t|cannot|can not|won'?t|will not|unable to|not able to|not going "
        r"to)\s+(?:make|attend|come|join|be there|do)",
        r"(?:won'?t|will not|shan'?t)\s+be\s+able\s+to\s+(?:make|attend|come|join|be there)",
        r"send (?:my )?apologies",
        r"apologies for absence",
        r"please accept my apologies",
        r"not (?:be )?attending",
        r"have to decline",
        r"must decline",
        r"(?:count|rule) me out",
    ]
)
_LEAVE = _any(
    [
        r"unsubscribe",
        r"remove me from (?:the|this|your)? ?(?:list|mailing list|distribution)",
        r"take me off",
        r"stop (?:sending|emailing)",
        r"leave (?:the|this) (?:list|network|mailing list)",
    ]
)
_REGISTER = _any(
    [
        r"register(?:ed)? me",
        r"please register",
        r"i(?:'d| would) like to (?:register|attend|come|join)",
        r"sign me up",
        r"count me in",
        r"book me",
        r"i(?:'ll| will) (?:be there|attend|come|join)",
        r"(?:want|like|plan(?:ning)?|hope|hoping) to (?:attend|come|join)",
        r"put me down",
        r"reserve (?:me )?a (?:place|seat)",
        r"i(?:'m| am) (?:coming|attending)",
        r"register for",
        r"registration",
    ]
)
_REMOTE = _any(
    [
        r"remote(?:ly)?",
        r"online",
        r"virtual(?:ly)?",
        r"dial(?:l)?(?:ing)? in",
        r"on teams",
        r"via teams",
        r"by video",
        r"on zoom",
        r"via zoom",
        r"join by phone",
    ]
)
_IN_PERSON = _any(
    [
        r"in person",
        r"in-person",
        r"face to face",
        r"on site",
        r"in the room",
        r"come in",
        r"coming in",
        r"attend physically",
    ]
)
_RATHER_THAN = re.compile(
    r"\b(?:rather than|instead of|not)\s+(in person|in-person|coming in|remotely|online|dial\w* "
    r"in)",
    re.I,
)
_KEEP_ME = _any(
    [
        r"keep me on",
        r"stay on the list",
        r"don'?t remove me",
        r"still want (?:the )?(?:emails|updates)",
    ]
)
_QUESTION = re.compile(r"\?\s*$", re.M)


def classify(text: str, subject: str = "", *, answering: str | None = None) -> Intent:
    """The request in a message's new text (and its subject, if the body is empty)."""
    body = " ".join(
        text.replace("\u2019", "'").replace("\u2018", "'").split()
    )  # Outlook's curly apostrophes
    if not body:
        body = " ".join(subject.replace("\u2019", "'").split())
    decline, leave, register = (
        bool(_DECLINE.search(body)),
        bool(_LEAVE.search(body)),
        bool(_REGISTER.search(body)),
    )
    if decline and (_KEEP_ME.search(body) or not leave):
        return Intent("decline") if not register else Intent("unclear")
    if leave:
        return Intent("leave") if not register else Intent("unclear")
    if register:
        if _QUESTION.search(body) and not re.search(r"\bplease\b", body, re.I):
            return Intent("unclear")
        return Intent("register", _mode(body))
    return Intent("unclear")


def _mode(body: str) -> AttendanceMode | None:
    contrast = _RATHER_THAN.search(body)
    remote, in_person = bool(_REMOTE.search(body)), bool(_IN_PERSON.search(body))
    if contrast:
        refused = contrast.group(1).lower()
        refused_in_person = refused.startswith("in") or refused.startswith("coming")
        if refused_in_person:
            return AttendanceMode.REMOTE if remote else None
        return AttendanceMode.IN_PERSON if in_person else None
    if remote and not in_person:
        return AttendanceMode.REMOTE
    if in_person and not remote:
        return AttendanceMode.IN_PERSON
    return None
