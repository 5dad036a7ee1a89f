"""An organiser's hand on the waiting list: its order, a place given or held, someone taken off.

Places come free and go to the first in line by themselves
(:func:`mailer.domain.rsvp.offer_free_places`). These are the organiser's
own decisions on top of that rule, each under the meeting's lock like any
answer, and each told to the person it concerns:

- **Move up or down**: two neighbours change places in line.
- **Give a place** now (a speaker, someone who must be there): one more
  in-person place is added if none is free, so the places never number
  fewer than the people who hold them.
- **Offer a place** until a reply-by time: the place is added and held for
  the person, who accepts it with their "attend in person" link (or an
  email). If the time passes first, the offer lapses, they leave the
  waiting list, and the place goes to the next in line.
- **Take off the waiting list**: their answer is withdrawn, as if they had
  never asked; they are told, and may ask again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.db import read_transaction, transaction
from mailer.domain import audit
from mailer.domain.errors import InvalidInput, NotFound
from mailer.domain.meetings import lock_meeting, places_held
from mailer.domain.models import Meeting, MeetingStatus, Person, Rsvp, utcnow
from mailer.domain.rsvp import offer_free_places, tell_place_given, tell_waiting
from mailer.domain.services import Services

#: An offer gives the person at least this long to answer.
SHORTEST_OFFER = timedelta(hours=1)


@dataclass(frozen=True)
class WaitingPerson:
    """One person on a meeting's waiting list, as the panel shows them."""

    person_id: int
    email: str
    display_name: str | None
    #: 1: the next to be given a place.
    position: int
    waiting_since: datetime
    #: Set while a place is held for them (until then).
    offered_until: datetime | None


def waiting_list(session: Session, meeting_id: int) -> list[WaitingPerson]:
    """The meeting's waiting list, first in line first."""
    with read_transaction(session):
        rows = session.execute(
            select(
                Rsvp.person_id,
                Person.email,
                Person.display_name,
                Rsvp.waitlisted_at,
                Rsvp.offered_until,
            )
            .join(Person, Person.id == Rsvp.person_id)
            .where(Rsvp.meeting_id == meeting_id, Rsvp.waitlisted_at.is_not(None))
            .order_by(Rsvp.waitlisted_at, Rsvp.id)
        ).all()
    line = []
    for position, (person_id, email, name, since, until) in enumerate(rows, start=1):
        assert since is not None  # as selected
        line.append(WaitingPerson(person_id, email, name, position, since, until))
    return line


def _in_line(session: Session, meeting: Meeting) -> list[Rsvp]:
    return list(
        session.scalars(
            select(Rsvp)
            .where(Rsvp.meeting_id == meeting.id, Rsvp.waitlisted_at.is_not(None))
            .order_by(Rsvp.waitlisted_at, Rsvp.id)
            .execution_options(populate_existing=True)
        )
    )


def _waiting(session: Session, meeting_id: int, person_id: int) -> tuple[Meeting, Rsvp]:
    """Within the caller's transaction: the meeting, locked, and the person's waiting answer."""
    meeting = lock_meeting(session, meeting_id)
    if meeting.status is not MeetingStatus.PUBLISHED or meeting.ends_at <= utcnow():
        raise InvalidInput("This meeting is over or cancelled, so its waiting list is closed.")
    rsvp = next((r for r in _in_line(session, meeting) if r.person_id == person_id), None)
    if rsvp is None:
        raise NotFound("That person is not on this meeting's waiting list any more.")
    return meeting, rsvp


def move_in_line(
    session: Session,
    services: Services,
    meeting_id: int,
    person_id: int,
    *,
    up: bool,
    actor: str,
) -> int:
    """Swap a waiting person with the one ahead (``up``) or behind; returns their new position.
    The line is ordered by when each asked, so the two exchange those times; the one who goes
    back a place is told their new number."""
    with transaction(session):
        meeting, rsvp = _waiting(session, meeting_id, person_id)
        line = _in_line(session, meeting)
        index = line.index(rsvp)
        other_index = index - 1 if up else index + 1
        if not 0 <= other_index < len(line):
            raise InvalidInput(
                "They are already first in line." if up else "They are already last in line."
            )
        _untie(line)
        other = line[other_index]
        rsvp.waitlisted_at, other.waitlisted_at = other.waitlisted_at, rsvp.waitlisted_at
        # Whoever goes back a place was told a number that is no longer true: they are told.
        behind, position = (other, index + 1) if up else (rsvp, other_index + 1)
        person = session.get_one(Person, behind.person_id)
        tell_waiting(session, services, meeting, person, "waitlist_moved", position=position)
        audit.record(
            session,
            actor=actor,
            action="waitlist.move",
            target=f"meeting:{meeting.id}",
            person=person_id,
            position=other_index + 1,
        )
        return other_index + 1


def _untie(line: list[Rsvp]) -> None:
    """Make the times of a line strictly increasing, in its order (people who asked in the same
    instant are in line by their row's id), so that swapping two times swaps two people."""
    for before, after in zip(line, line[1:], strict=False):
        assert before.waitlisted_at is not None and after.waitlisted_at is not None
        if after.waitlisted_at <= before.waitlisted_at:
            after.waitlisted_at = before.waitlisted_at + timedelta(microseconds=1)


@dataclass(frozen=True)
class PlaceForOne:
    """What giving (or offering) one waiting person a place comes to: the in-person places now
    and after (the same when one is free)."""

    name: str
    capacity: int | None
    capacity_after: int | None


def place_for_one_plan(session: Session, meeting_id: int, person_id: int) -> PlaceForOne:
    """What :func:`give_place` or :func:`offer_place` would do, changing nothing (for the
    confirmation page)."""
    with read_transaction(session):
        meeting = session.get(Meeting, meeting_id)
        if meeting is None:
            raise NotFound("There is no such meeting.")
        person = next(
            (p for p in waiting_list(session, meeting_id) if p.person_id == person_id), None
        )
        if person is None:
            raise NotFound("That person is not on this meeting's waiting list any more.")
        return PlaceForOne(
            person.display_name or person.email,
            meeting.capacity,
            # A place held for them already is theirs to give: it is not counted against them.
            _capacity_with_room(meeting, places_held(session, meeting_id, besides=person_id)),
        )


def _capacity_with_room(meeting: Meeting, held: int) -> int | None:
    if meeting.capacity is None or held < meeting.capacity:
        return meeting.capacity
    return held + 1


def _make_room(session: Session, meeting: Meeting, rsvp: Rsvp) -> None:
    meeting.capacity = _capacity_with_room(
        meeting, places_held(session, meeting.id, besides=rsvp.person_id)
    )


def give_place(
    session: Session, services: Services, meeting_id: int, person_id: int, *, actor: str
) -> int | None:
    """Give a waiting person an in-person place now (adding one if none is free), and tell them,
    with the agenda or reminder if those have gone. Returns the in-person places after."""
    with transaction(session):
        meeting, rsvp = _waiting(session, meeting_id, person_id)
        _make_room(session, meeting, rsvp)
        rsvp.waitlisted_at = rsvp.offered_until = None
        rsvp.source = "panel"
        person = session.get_one(Person, person_id)
        audit.record(
            session,
            actor=actor,
            action="waitlist.give_place",
            target=f"meeting:{meeting.id}",
            person=person_id,
            capacity=meeting.capacity,
        )
        tell_place_given(session, services, meeting, person, rsvp)
        return meeting.capacity


def offer_place(
    session: Session,
    services: Services,
    meeting_id: int,
    person_id: int,
    *,
    reply_by: datetime,
    actor: str,
    now: datetime | None = None,
) -> int | None:
    """Hold an in-person place for a waiting person until ``reply_by`` (adding one if none is
    free), or hold theirs longer, and email them their links to accept it or say they can't
    come. Returns the in-person places after."""
    now = now or utcnow()
    with transaction(session):
        meeting, rsvp = _waiting(session, meeting_id, person_id)
        latest = min(d for d in (meeting.rsvp_deadline, meeting.starts_at) if d is not None)
        if reply_by < now + SHORTEST_OFFER:
            raise InvalidInput("Give them at least an hour from now to reply.", field="reply_by")
        if reply_by > latest:
            raise InvalidInput(
                "They must be able to reply before "
                + ("replies close." if latest == meeting.rsvp_deadline else "the meeting starts."),
                field="reply_by",
            )
        if rsvp.offered_until is not None and reply_by <= rsvp.offered_until:
            raise InvalidInput(
                "A place is already held for them until then: choose a later time to hold it "
                "longer.",
                field="reply_by",
            )
        _make_room(session, meeting, rsvp)  # their own held place is theirs: none is added
        rsvp.offered_until = reply_by
        person = session.get_one(Person, person_id)
        audit.record(
            session,
            actor=actor,
            action="waitlist.offer",
            target=f"meeting:{meeting.id}",
            person=person_id,
            until=reply_by.isoformat(),
            capacity=meeting.capacity,
        )
        tell_waiting(session, services, meeting, person, "waitlist_offer", reply_by=reply_by)
        return meeting.capacity


def take_off_waiting_list(
    session: Session, services: Services, meeting_id: int, person_id: int, *, actor: str
) -> None:
    """Withdraw a waiting person's answer (they are told, and may ask again); a place held for
    them goes to the next in line."""
    with transaction(session):
        meeting, rsvp = _waiting(session, meeting_id, person_id)
        _withdraw(session, services, meeting, rsvp, actor=actor, lapsed=False)


def _withdraw(
    session: Session,
    services: Services,
    meeting: Meeting,
    rsvp: Rsvp,
    *,
    actor: str,
    lapsed: bool,
) -> None:
    person = session.get_one(Person, rsvp.person_id)
    offered_until = rsvp.offered_until
    session.delete(rsvp)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="waitlist.offer_lapsed" if lapsed else "waitlist.remove",
        target=f"meeting:{meeting.id}",
        person=person.id,
    )
    tell_waiting(
        session,
        services,
        meeting,
        person,
        "waitlist_removed",
        lapsed=lapsed,
        offered_until=offered_until,
    )
    offer_free_places(session, services, meeting)


def lapse_offers(session: Session, services: Services, now: datetime | None = None) -> list[str]:
    """Worker step: every held place whose reply-by time has passed goes to the next in line;
    the person it was held for leaves the waiting list and is told."""
    now = now or utcnow()
    done: list[str] = []
    while True:
        with transaction(session):
            lapsed = session.scalar(
                select(Rsvp)
                .where(Rsvp.offered_until <= now, Rsvp.waitlisted_at.is_not(None))
                .order_by(Rsvp.offered_until, Rsvp.id)
                .limit(1)
            )
            if lapsed is None:
                return done
            meeting = lock_meeting(session, lapsed.meeting_id)
            if meeting.status is not MeetingStatus.PUBLISHED:
                lapsed.offered_until = None  # a cancelled meeting has no place to pass on
                continue
            rsvp = session.scalar(  # read again under the lock: they may have just answered
                select(Rsvp)
                .where(Rsvp.id == lapsed.id, Rsvp.offered_until <= now)
                .execution_options(populate_existing=True)
            )
            if rsvp is None:
                continue
            _withdraw(session, services, meeting, rsvp, actor="system", lapsed=True)
            done.append(f"offer to person {rsvp.person_id} for meeting {meeting.id} lapsed")
