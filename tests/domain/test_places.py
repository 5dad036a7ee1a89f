"""The capacity rule on its own: who gets an in-person place, with no database."""

from __future__ import annotations

import pytest

from mailer.domain.models import AttendanceMode, RsvpResponse
from mailer.domain.places import Standing, decide, has_room, places_to_offer

ATTENDING, DECLINED = RsvpResponse.ATTENDING, RsvpResponse.DECLINED
IN_PERSON, REMOTE = AttendanceMode.IN_PERSON, AttendanceMode.REMOTE
HOLDS = Standing(ATTENDING, IN_PERSON)
WAITS = Standing(ATTENDING, IN_PERSON, waitlisted=True)


def test_asking_for_a_place_gets_one_while_there_is_room_and_waits_when_there_is_none() -> None:
    assert decide(None, ATTENDING, IN_PERSON, places_taken=39, capacity=40).standing == HOLDS
    full = decide(None, ATTENDING, IN_PERSON, places_taken=40, capacity=40)
    assert full.standing == WAITS and full.changed and not full.frees_place


def test_without_a_capacity_everyone_who_asks_gets_a_place() -> None:
    assert decide(None, ATTENDING, IN_PERSON, places_taken=10_000, capacity=None).standing == HOLDS


def test_a_capacity_of_none_left_means_everyone_waits() -> None:
    assert decide(None, ATTENDING, IN_PERSON, places_taken=0, capacity=0).standing == WAITS


def test_a_place_once_held_is_kept_even_when_the_meeting_is_now_over_full() -> None:
    again = decide(HOLDS, ATTENDING, IN_PERSON, places_taken=45, capacity=40)
    assert again.standing == HOLDS and not again.changed and not again.frees_place


def test_someone_waiting_keeps_waiting_until_there_is_room_then_holds_a_place() -> None:
    still = decide(WAITS, ATTENDING, IN_PERSON, places_taken=40, capacity=40)
    assert still.standing == WAITS and not still.changed
    room = decide(WAITS, ATTENDING, IN_PERSON, places_taken=39, capacity=40)
    assert room.standing == HOLDS and room.changed


@pytest.mark.parametrize(
    "response, mode", [(DECLINED, None), (ATTENDING, REMOTE), (ATTENDING, None)]
)
def test_any_other_answer_holds_no_place_and_gives_up_one_held(
    response: RsvpResponse, mode: AttendanceMode | None
) -> None:
    gave_up = decide(HOLDS, response, mode, places_taken=39, capacity=40)
    assert gave_up.standing == Standing(response, mode) and gave_up.changed and gave_up.frees_place
    left_the_line = decide(WAITS, response, mode, places_taken=40, capacity=40)
    assert left_the_line.standing == Standing(response, mode) and not left_the_line.frees_place


def test_the_same_answer_again_changes_nothing() -> None:
    assert not decide(Standing(DECLINED, None), DECLINED, None, places_taken=0, capacity=40).changed
    assert not decide(
        Standing(ATTENDING, REMOTE), ATTENDING, REMOTE, places_taken=40, capacity=40
    ).changed


def test_a_first_answer_is_always_a_change() -> None:
    assert decide(None, DECLINED, None, places_taken=0, capacity=None).changed


@pytest.mark.parametrize(
    "taken, capacity, waiting, offered",
    [(39, 40, 3, 1), (40, 40, 3, 0), (45, 40, 3, 0), (30, 40, 3, 3), (0, None, 5, 5), (0, 0, 2, 0)],
)
def test_free_places_go_to_as_many_of_those_waiting_as_there_is_room_for(
    taken: int, capacity: int | None, waiting: int, offered: int
) -> None:
    assert places_to_offer(taken, capacity, waiting) == offered


def test_room_is_a_place_below_the_capacity() -> None:
    assert has_room(0, None) and has_room(39, 40) and not has_room(40, 40) and not has_room(41, 40)
