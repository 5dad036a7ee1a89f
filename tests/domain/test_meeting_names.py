"""Which of a list's open meetings a fresh message names: a pure rule."""

from __future__ import annotations

from datetime import date

import pytest

from mailer.domain.meeting_names import NameableMeeting, meetings_named

MARCH = NameableMeeting(1, "Leaders of Networks Forum – March", date(2026, 3, 12))
JUNE = NameableMeeting(2, "Leaders of Networks Forum – June", date(2026, 6, 11))
MAY = NameableMeeting(3, "Annual Conference", date(2026, 5, 20))
BOTH = [MARCH, JUNE]


@pytest.mark.parametrize(
    "text",
    [
        "Please register me for the June forum.",
        "Can I come to the one in june?",
        "I'd like to attend on 11 June",
        "Register me for the 11th of June meeting please",
        "Put me down for Jun.",
        "Book me for 11/06 please",
        "Count me in for June 11th",
        "Can't make Thursday 11th, sorry",
        "See you on the 11th",
    ],
)
def test_a_text_naming_june_names_the_june_meeting(text: str) -> None:
    assert meetings_named(text, BOTH) == [2]


@pytest.mark.parametrize(
    "text",
    [
        "Please register me",
        "I'll be there",
        "Count me in for the next forum",
        "See you on the 13th",
    ],
)
def test_a_text_naming_no_meeting_names_none(text: str) -> None:
    assert meetings_named(text, BOTH) == []


def test_may_is_a_month_only_beside_a_day_or_after_in() -> None:
    meetings = [MARCH, MAY]
    assert meetings_named("May I come in person?", meetings) == []
    assert meetings_named("I may be able to come", meetings) == []
    assert meetings_named("Please register me for the one in May", meetings) == [3]
    assert meetings_named("Register me for 20 May", meetings) == [3]


def test_a_title_word_the_other_meetings_do_not_share_names_a_meeting() -> None:
    assert meetings_named("Please register me for the conference", [MARCH, MAY]) == [3]
    assert meetings_named("Please register me for the forum", [MARCH, MAY]) == []


def test_numeric_dates_are_read_day_first() -> None:
    assert meetings_named("See you on 12/03/2026", BOTH) == [1]
    assert meetings_named("See you on 03/12/2026", BOTH) == []


def test_a_registration_is_about_the_meeting_its_positive_sentences_name() -> None:
    text = "I've missed the March one because of a clash. Can you put me down for the June forum?"
    assert meetings_named(text, BOTH) == [2]
    assert meetings_named("I can't do March but please book me for June", BOTH) == [2]
    assert meetings_named("Please register me for March, and June too", BOTH) == [1, 2]


def test_a_decline_is_about_the_meeting_it_says_no_to() -> None:
    text = "Sorry, I won't make June. Hopefully see you in March though!"
    assert meetings_named(text, BOTH, declining=True) == [2]
    assert meetings_named("Please send my apologies for the June forum", BOTH, declining=True) == [
        2
    ]
    # Saying no to nothing by name: the whole text counts.
    assert meetings_named("Can't attend, it's in June", BOTH, declining=True) == [2]
