"""A quarterly series: occurrences keep their local time across daylight saving."""

from __future__ import annotations

import pytest

from mailer.domain.errors import InvalidInput
from mailer.domain.meetings import create_series
from tests.support.databases import TestDatabase
from tests.support.factories import make_list


def test_quarterly_series_keeps_local_time(database: TestDatabase) -> None:
    make_list(database.sessions)
    with database.sessions() as s:
        meetings = create_series(
            s,
            list_slug="forum",
            title="Leaders Forum",
            starts_at="2027-01-14 14:00",
            ends_at="2027-01-14 16:00",
            rrule="FREQ=MONTHLY;INTERVAL=3",
            count=4,
            venue="Room 1",
            capacity=30,
            deadline_days_before=2,
            actor="test",
        )
    starts = [m.starts_at.isoformat() for m in meetings]
    # 14:00 in London is 14:00 UTC in winter and 13:00 UTC in summer.
    assert starts == [
        "2027-01-14T14:00:00+00:00",
        "2027-04-14T13:00:00+00:00",
        "2027-07-14T13:00:00+00:00",
        "2027-10-14T13:00:00+00:00",
    ]
    assert all((m.ends_at - m.starts_at).total_seconds() == 7200 for m in meetings)
    assert meetings[1].rsvp_deadline.isoformat() == "2027-04-12T13:00:00+00:00"
    assert len({m.series_id for m in meetings}) == 1 and meetings[0].series_id is not None


def test_bad_rules_are_refused(database: TestDatabase) -> None:
    make_list(database.sessions)
    for rule in ("FREQ=SOMETIMES", "", "FREQ=DAILY\nX"):
        with database.sessions() as s, pytest.raises(InvalidInput):
            create_series(
                s,
                list_slug="forum",
                title="T",
                starts_at="2027-01-14 14:00",
                ends_at="2027-01-14 16:00",
                rrule=rule,
                venue="Room 1",
                actor="test",
            )


def test_a_series_repeats_on_the_same_weekday_or_the_same_date() -> None:
    from datetime import datetime

    from mailer.domain.meetings import occurrences, repeat_rule

    last_thursday = datetime(2027, 3, 25, 14)  # the last Thursday of March
    rule = repeat_rule(last_thursday, every_months=3, same="weekday")
    assert rule == "FREQ=MONTHLY;INTERVAL=3;BYDAY=-1TH"
    assert [d.day for d in occurrences(last_thursday, rule, 4)] == [25, 24, 30, 30]
    second_tuesday = datetime(2027, 1, 12, 10)
    assert repeat_rule(second_tuesday, every_months=1, same="weekday").endswith("BYDAY=2TU")
    assert repeat_rule(second_tuesday, every_months=12, same="date") == "FREQ=MONTHLY;INTERVAL=12"
    with pytest.raises(InvalidInput):
        repeat_rule(second_tuesday, every_months=0, same="date")
