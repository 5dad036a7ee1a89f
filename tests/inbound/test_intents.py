"""Classifying requests: clear ones act, anything else goes to a person."""

from __future__ import annotations

import pytest

from mailer.domain.models import AttendanceMode
from mailer.inbound.intents import classify

IN_PERSON, REMOTE = AttendanceMode.IN_PERSON, AttendanceMode.REMOTE


@pytest.mark.parametrize(
    ("text", "kind", "mode"),
    [
        ("Please register me", "register", None),
        ("please register me for the forum, I'll be there in person", "register", IN_PERSON),
        ("Count me in - I'll join remotely", "register", REMOTE),
        ("I'd like to attend, dialling in rather than coming in person", "register", REMOTE),
        ("Sign me up please, face to face", "register", IN_PERSON),
        ("I would like to register and join online", "register", REMOTE),
        ("Sorry, I can't make it this time. Please keep me on the list.", "decline", None),
        ("Please send my apologies", "decline", None),
        ("Unable to attend, sorry", "decline", None),
        ("I won\u2019t be able to attend, sorry.", "decline", None),
        ("I can\u2019t make it \u2013 apologies", "decline", None),
        ("Please unsubscribe me", "leave", None),
        ("Please remove me from the list", "leave", None),
        ("What time does it start?", "unclear", None),
        ("Can I register someone else?", "unclear", None),
        ("Thanks!", "unclear", None),
        ("", "unclear", None),
        ("Please register me. Actually, I can't make it.", "unclear", None),
    ],
)
def test_classify(text: str, kind: str, mode: AttendanceMode | None) -> None:
    intent = classify(text)
    assert (intent.kind, intent.mode) == (kind, mode)


def test_subject_is_used_when_the_body_is_empty() -> None:
    assert classify("", subject="Please register me").kind == "register"
