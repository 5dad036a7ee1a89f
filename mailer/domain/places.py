"""Who gets an in-person place: the capacity rule, as pure functions.

The rule knows nothing of sessions or locks. The caller reads what it
needs under the right to hand places out (the meeting's row lock on
PostgreSQL, SQLite's single writer), asks :func:`decide`, and records the
decision; every path that records an answer (email, link, calendar, panel,
API) goes through the same call.

A place, once given, is never taken away by the rule: a lower capacity
leaves those who hold places in them. Places go in the order people asked:
the waiting list is ordered by when each answer arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mailer.domain.models import AttendanceMode, RsvpResponse


@dataclass(frozen=True)
class Standing:
    """A person's answer for one meeting, as far as places go."""

    response: RsvpResponse
    mode: AttendanceMode | None
    #: Asked for an in-person place and waits for one.
    waitlisted: bool = False

    @property
    def in_line(self) -> bool:
        """Holds an in-person place, or waits for one."""
        return self.response is RsvpResponse.ATTENDING and self.mode is AttendanceMode.IN_PERSON

    @property
    def holds_place(self) -> bool:
        return self.in_line and not self.waitlisted

    @property
    def status(self) -> Status:
        return status_of(self.response, self.mode, self.waitlisted)


@dataclass(frozen=True)
class Decision:
    """What to record for an answer, and what follows from it."""

    standing: Standing
    #: The recorded answer differs from the one before (so the person is told).
    changed: bool
    #: The person gave up a place: the next in line may have it.
    frees_place: bool


def has_room(places_taken: int, capacity: int | None) -> bool:
    """Whether one more in-person place can be given; no capacity means no limit."""
    return capacity is None or places_taken < capacity


def decide(
    previous: Standing | None,
    response: RsvpResponse,
    mode: AttendanceMode | None,
    *,
    places_taken: int,
    capacity: int | None,
) -> Decision:
    """The standing an answer gives a person.

    ``places_taken`` counts the in-person places held by everyone else (not
    the person's own, if they hold one). Asking for an in-person place gives
    one while there is room, and otherwise a place on the waiting list;
    someone who already holds one keeps it, and someone already waiting
    keeps waiting (in their turn) unless there is room now. Any other answer
    holds no place, and gives up the one held before.
    """
    wants_place = response is RsvpResponse.ATTENDING and mode is AttendanceMode.IN_PERSON
    if not wants_place:
        standing = Standing(response, mode)
    elif previous is not None and previous.holds_place:
        standing = Standing(response, mode)
    else:
        standing = Standing(response, mode, waitlisted=not has_room(places_taken, capacity))
    held = previous is not None and previous.holds_place
    return Decision(
        standing, changed=standing != previous, frees_place=held and not standing.holds_place
    )


def places_to_offer(places_taken: int, capacity: int | None, waiting: int) -> int:
    """How many of the ``waiting`` people, first in line first, can be given a place now."""
    if capacity is None:
        return waiting
    return max(0, min(waiting, capacity - places_taken))


class Status(StrEnum):
    """Where a person stands for one meeting: the one value every page, email, CLI and API
    output shows, each with one wording (:func:`status_words`)."""

    IN_PERSON = "in_person"
    WAITING_LIST = "waiting_list"
    REMOTE = "remote"
    DECLINED = "declined"
    #: Registered, but has not said whether in person or remotely.
    NO_MODE = "no_mode"


def status_of(response: RsvpResponse, mode: AttendanceMode | None, waitlisted: bool) -> Status:
    if response is RsvpResponse.DECLINED:
        return Status.DECLINED
    if mode is AttendanceMode.IN_PERSON:
        return Status.WAITING_LIST if waitlisted else Status.IN_PERSON
    if mode is AttendanceMode.REMOTE:
        return Status.REMOTE
    return Status.NO_MODE


_WORDS = {
    Status.IN_PERSON: "You are attending in person.",
    Status.WAITING_LIST: "You are on the waiting list for an in-person place.",
    Status.REMOTE: "You are joining remotely.",
    Status.DECLINED: "We have recorded that you can’t attend.",
    Status.NO_MODE: "You are registered, but have not said whether in person or remotely.",
}

#: Short forms for lists of people (the panel, the CLI).
STATUS_LABELS = {
    Status.IN_PERSON: "in person",
    Status.WAITING_LIST: "waiting list",
    Status.REMOTE: "remote",
    Status.DECLINED: "can't attend",
    Status.NO_MODE: "registered, not said how",
}


def status_words(status: Status, position: int | None = None) -> str:
    """The sentence that tells a person their status; ``position``: their place on the waiting
    list (1: next in line)."""
    if status is Status.WAITING_LIST and position:
        return f"You are on the waiting list for an in-person place: number {position} in line."
    return _WORDS[status]
