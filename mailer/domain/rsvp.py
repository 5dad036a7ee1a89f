"""RSVP rules: the one place that decides whether and how an answer is recorded.

Email, signed links, calendar replies, the panel and the API all call
:func:`_record` (through the functions below), so they behave identically.
Every change emails the person (so a wrong or spoofed change never goes
unnoticed); repeating the same answer changes nothing and sends nothing.
Who gets an in-person place is decided by :func:`mailer.domain.places.decide`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session, joinedload

from mailer.db import read_transaction, rows_changed, transaction
from mailer.domain import audit
from mailer.domain.errors import (
    ExpiredLink,
    InvalidChoice,
    InvalidInput,
    InvalidLink,
    NotFound,
    RsvpClosed,
)
from mailer.domain.links import RSVP_CHOICES, RsvpChoice, RsvpClaim
from mailer.domain.lists import get_list
from mailer.domain.meetings import in_person_full, lock_meeting, meeting_asked_about, places_held
from mailer.domain.models import (
    AttendanceMode,
    MailingList,
    Meeting,
    MeetingFormat,
    MeetingStatus,
    Person,
    Rsvp,
    RsvpResponse,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from mailer.domain.outbox import (
    ReplyThread,
    enqueue,
    is_member,
    list_envelope,
    may_auto_reply,
    reply_from_list,
)
from mailer.domain.people import (
    find_or_add_person,
    find_person,
    get_or_create_person,
    normalise_email,
)
from mailer.domain.places import (
    STATUS_LABELS,
    Standing,
    Status,
    decide,
    places_to_offer,
    status_of,
    status_words,
)
from mailer.domain.schedules import calendar_entry, catch_up, had_calendar_entry
from mailer.domain.services import Services
from mailer.rendering import counted, format_when


@dataclass(frozen=True)
class RsvpOutcome:
    meeting_id: int
    person_id: int
    response: RsvpResponse
    mode: AttendanceMode | None
    changed: bool
    previous: tuple[RsvpResponse, AttendanceMode | None] | None
    waitlisted: bool = False
    #: On the waiting list: how many are ahead, plus one (1: next in line).
    waitlist_position: int | None = None
    #: The answer stayed as it was, but what the person told us they need changed.
    needs_changed: bool = False
    #: The agenda or the reminder had gone out, so a delegate's venue or joining details are in
    #: an email already sent (or sent with this answer), not still to come.
    details_sent: bool = False

    @property
    def status(self) -> Status:
        return status_of(self.response, self.mode, self.waitlisted)

    @property
    def status_words(self) -> str:
        """What this answer means for the person, in the one wording every page and email uses."""
        return status_words(self.status, self.waitlist_position)


class _OpenRules(Protocol):
    """The fields of a meeting that decide whether it takes an answer (a Meeting, or a row of
    them)."""

    status: MeetingStatus
    format: MeetingFormat
    ends_at: datetime
    rsvp_deadline: datetime | None


def check_open(meeting: _OpenRules, now: datetime | None = None) -> None:
    """Raise RsvpClosed unless the meeting still takes answers (at ``now``: when the answer was
    given)."""
    now = now or utcnow()
    if meeting.status is MeetingStatus.CANCELLED:
        raise RsvpClosed("This meeting has been cancelled.")
    if meeting.status is not MeetingStatus.PUBLISHED:
        raise RsvpClosed("This meeting is not open for replies yet.")
    if meeting.ends_at <= now:
        raise RsvpClosed("This meeting has already taken place.")
    if meeting.rsvp_deadline is not None and meeting.rsvp_deadline <= now:
        raise RsvpClosed(
            "Replies for this meeting closed at the RSVP deadline. Please contact the organisers."
        )


def check_mode(meeting: _OpenRules, response: RsvpResponse, mode: AttendanceMode | None) -> None:
    if response is RsvpResponse.DECLINED:
        return
    if mode is AttendanceMode.IN_PERSON and meeting.format is MeetingFormat.REMOTE:
        raise InvalidChoice("This meeting is remote only, so there is no in-person place to book.")
    if mode is AttendanceMode.REMOTE and meeting.format is MeetingFormat.IN_PERSON:
        raise InvalidChoice("This meeting is in person only; there is no remote option.")


MAX_ACCESS_NEEDS = 1000


def _record(
    session: Session,
    services: Services,
    *,
    person: Person,
    meeting: Meeting,
    response: RsvpResponse,
    mode: AttendanceMode | None,
    source: str,
    at: datetime | None = None,
    keep_mode: bool = False,
    reply_to: ReplyThread | None = None,
    notify: bool = True,
    access_needs: str | None = None,
    new_person: bool = False,
    fallback_mode: AttendanceMode | None = None,
    question: bool = False,
) -> RsvpOutcome:
    """Within the caller's transaction: record the answer, audit it and tell the person.

    ``at`` is when the answer was given (an email's arrival; now for a link
    press): the RSVP deadline is checked against it, and the waiting list is
    in its order. ``keep_mode`` keeps an in-person or remote choice made
    earlier when the answer is just "attending". ``access_needs`` (None:
    leave as it is) replaces what the person told us they need; it is kept
    for attending answers only, and deleted after the meeting. ``new_person``:
    the person was added by this very request, so has no answer to look up.
    ``fallback_mode`` is the person's second choice ("in person if there is
    room, otherwise remotely"), taken instead of the waiting list.
    ``question``: the message also asked the organisers something, which the
    confirmation says has been passed on.
    """
    at = at or utcnow()
    check_open(meeting, at)
    check_mode(meeting, response, mode)
    places_taken = 0
    if meeting.capacity is not None:
        # The right to hand out places: PostgreSQL's row lock (SQLite has one writer at a time).
        session.execute(select(Meeting.id).where(Meeting.id == meeting.id).with_for_update())
        places_taken = places_held(session, meeting.id, besides=person.id)
    rsvp = (
        None  # a person added by this very request has no answer yet
        if new_person
        else session.scalar(_ANSWER_TO_CHANGE, {"meeting_id": meeting.id, "person_id": person.id})
    )
    previous = Standing(rsvp.response, rsvp.mode, rsvp.waitlisted_at is not None) if rsvp else None
    if (
        rsvp is not None
        and keep_mode
        and response is rsvp.response is RsvpResponse.ATTENDING
        and mode is None
    ):
        mode = rsvp.mode  # "register me" again must not forget a mode chosen earlier
    decision = decide(
        previous, response, mode, places_taken=places_taken, capacity=meeting.capacity
    )
    if (
        decision.standing.waitlisted
        and fallback_mode is not None
        and fallback_mode is not mode
        and _allows(meeting, response, fallback_mode)
    ):
        mode = fallback_mode
        decision = decide(
            previous, response, mode, places_taken=places_taken, capacity=meeting.capacity
        )
    standing = decision.standing
    needs = (
        _clean_access_needs(access_needs)
        if access_needs is not None
        else (rsvp.access_needs if rsvp else None)
    )
    if standing.response is RsvpResponse.DECLINED:
        needs = None
    if not decision.changed:
        needs_changed = rsvp is not None and needs != rsvp.access_needs
        if rsvp is not None and needs_changed:
            rsvp.access_needs = needs
        return RsvpOutcome(
            meeting.id,
            person.id,
            response,
            mode,
            changed=False,
            previous=(response, mode) if previous else None,
            waitlisted=standing.waitlisted,
            waitlist_position=_waitlist_position(session, rsvp) if standing.waitlisted else None,
            needs_changed=needs_changed,
            details_sent=_details_sent(meeting),
        )
    if rsvp is None:
        rsvp = Rsvp(meeting_id=meeting.id, person_id=person.id)
        session.add(rsvp)
    still_waiting = previous is not None and previous.waitlisted and standing.waitlisted
    held_for_them = rsvp.offered_until is not None  # a place an organiser held: theirs or freed
    rsvp.response, rsvp.mode, rsvp.source, rsvp.access_needs = response, mode, source, needs
    rsvp.waitlisted_at = (
        (rsvp.waitlisted_at if still_waiting else at) if standing.waitlisted else None
    )
    rsvp.offered_until = None
    audit.record(
        session,
        actor=f"person:{person.id}",
        action="rsvp.record",
        target=f"meeting:{meeting.id}",
        response=response.value,
        mode=mode.value if mode else None,
        source=source,
        waitlisted=standing.waitlisted,
        previous=[previous.response.value, previous.mode.value if previous.mode else None]
        if previous
        else None,
    )
    if decision.frees_place or (held_for_them and not standing.holds_place):
        offer_free_places(session, services, meeting)
    if standing.response is RsvpResponse.ATTENDING and not standing.waitlisted:
        catch_up(session, services, meeting, person, rsvp)
    if notify:
        member = is_member(session, person.email, meeting.list_id)
        # A yes brings the entry as it is now; a no updates one they have, and adds none.
        partstat = (
            ("TENTATIVE" if standing.waitlisted else "ACCEPTED")
            if response is RsvpResponse.ATTENDING
            else "DECLINED"
            if had_calendar_entry(session, meeting.id, person.id)
            else None
        )
        enqueue(
            session,
            services,
            kind="rsvp_confirmation",
            person=person,
            sender=list_envelope(services, meeting.mailing_list),
            reply_to=reply_to,
            auto_reply=reply_to is not None,
            # an answer to a non-member's message repeats nothing they chose (see reply_from_list)
            subject=f"Your message to {meeting.mailing_list.name}"
            if reply_to is not None and not member
            else None,
            context={
                "stranger": not member,
                "meeting": meeting,
                "response": response.value,
                "mode": mode.value if mode else None,
                "links": services.links.rsvp_urls(person, meeting),
                "previous": (previous.response, previous.mode) if previous else None,
                "waitlisted": standing.waitlisted,
                "waitlist_position": _waitlist_position(session, rsvp)
                if standing.waitlisted
                else None,
                "question": question,
                "member": member,
                "join_address": services.config.addresses.join_address(meeting.mailing_list.slug),
                "in_person_full": in_person_full(session, meeting),
            },
            calendar=calendar_entry(services, meeting, person, partstat=partstat)
            if partstat
            else None,
        )
    return RsvpOutcome(
        meeting.id,
        person.id,
        response,
        mode,
        changed=True,
        previous=(previous.response, previous.mode) if previous else None,
        waitlisted=standing.waitlisted,
        waitlist_position=_waitlist_position(session, rsvp) if standing.waitlisted else None,
        details_sent=_details_sent(meeting),
    )


def _details_sent(meeting: Meeting) -> bool:
    return meeting.agenda_sent_at is not None or meeting.reminder_sent_at is not None


def _waitlist_position(session: Session, rsvp: Rsvp | None) -> int | None:
    """Where an answer waiting for a place stands in line (1: next), in the order people asked."""
    if rsvp is None or rsvp.waitlisted_at is None:
        return None
    session.flush()  # a new answer needs its id to be placed among equals
    ahead = session.scalar(
        select(func.count())
        .select_from(Rsvp)
        .where(
            Rsvp.meeting_id == rsvp.meeting_id,
            Rsvp.waitlisted_at.is_not(None),
            (Rsvp.waitlisted_at < rsvp.waitlisted_at)
            | ((Rsvp.waitlisted_at == rsvp.waitlisted_at) & (Rsvp.id < rsvp.id)),
        )
    )
    return (ahead or 0) + 1


def _allows(meeting: Meeting, response: RsvpResponse, mode: AttendanceMode) -> bool:
    try:
        check_mode(meeting, response, mode)
    except InvalidChoice:
        return False
    return True


# Locked (PostgreSQL) and read afresh: a promotion made under the meeting's lock may have changed
# it.
_ANSWER_TO_CHANGE = (
    select(Rsvp)
    .where(Rsvp.meeting_id == bindparam("meeting_id"), Rsvp.person_id == bindparam("person_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def withdraw_upcoming_answers(
    session: Session, services: Services, person_id: int, *, list_id: int | None = None
) -> int:
    """Within the caller's transaction: delete a person's answers to meetings still to come (of
    one list, or all), as when they are erased or removed from the list; a place they held or
    waited for goes to the next in line, who is told. Returns how many answers."""
    upcoming = select(Meeting.id).where(Meeting.ends_at > utcnow())
    if list_id is not None:
        upcoming = upcoming.where(Meeting.list_id == list_id)
    meetings = list(
        session.scalars(
            select(Meeting)
            .join(Rsvp, Rsvp.meeting_id == Meeting.id)
            .where(Rsvp.person_id == person_id, Meeting.id.in_(upcoming))
            .with_for_update(of=Meeting)  # the right to hand out their places
        )
    )
    if not meetings:
        return 0
    withdrawn = rows_changed(
        session,
        delete(Rsvp).where(
            Rsvp.person_id == person_id, Rsvp.meeting_id.in_([m.id for m in meetings])
        ),
    )
    for meeting in meetings:
        offer_free_places(session, services, meeting)
    return withdrawn


@dataclass(frozen=True)
class PlacesPlan:
    """What a new capacity comes to: places held now, people waiting, and how many of those
    would be given a place."""

    taken: int
    waiting: int
    promoted: int


#: Waiting for a place, with none held for them: the next place that comes free is theirs.
WAITING_WITHOUT_OFFER = Rsvp.waitlisted_at.is_not(None) & Rsvp.offered_until.is_(None)


def places_plan(session: Session, meeting_id: int, capacity: int | None) -> PlacesPlan:
    """What setting the in-person ``capacity`` (None: no limit) would do, changing nothing;
    refused as ``change_places`` would refuse it."""
    with read_transaction(session):
        meeting = session.get(Meeting, meeting_id)
        if meeting is None:
            raise NotFound("There is no such meeting.")
        taken = places_held(session, meeting_id)
        _check_capacity(capacity, taken)
        waiting = (
            session.scalar(
                select(func.count())
                .select_from(Rsvp)
                .where(WAITING_WITHOUT_OFFER, Rsvp.meeting_id == meeting_id)
            )
            or 0
        )
        return PlacesPlan(taken, waiting, places_to_offer(taken, capacity, waiting))


def _check_capacity(capacity: int | None, taken: int) -> None:
    if capacity is not None and capacity < 0:
        raise InvalidInput("The number of places cannot be negative.", field="capacity")
    if capacity is not None and capacity < taken:
        raise InvalidInput(
            f"{counted(taken, 'person', 'people')} already "
            f"{'has an in-person place' if taken == 1 else 'have in-person places'}, so there "
            f"must be at least {taken}. To have fewer, ask some of them to join remotely first.",
            field="capacity",
        )


def change_places(
    session: Session,
    services: Services,
    meeting_id: int,
    *,
    capacity: int | None,
    rsvp_deadline: datetime | None,
    actor: str,
) -> int:
    """Set a meeting's in-person places (None: no limit) and its reply deadline (None: none).
    More places go at once to those waiting, first in line first, who are told; fewer than are
    held is refused. Returns how many were given a place."""
    with transaction(session):
        meeting = lock_meeting(session, meeting_id)
        _check_capacity(capacity, places_held(session, meeting_id))
        if rsvp_deadline is not None and rsvp_deadline > meeting.ends_at:
            raise InvalidInput("Replies must close before the meeting ends.", field="rsvp_deadline")
        latest_hold = session.scalar(
            select(func.max(Rsvp.offered_until)).where(
                Rsvp.meeting_id == meeting_id, Rsvp.waitlisted_at.is_not(None)
            )
        )
        if rsvp_deadline is not None and latest_hold is not None and rsvp_deadline < latest_hold:
            raise InvalidInput(
                "A place is held for someone waiting until "
                f"{format_when(latest_hold, meeting.timezone)}: replies cannot close before "
                "then, or they could not take it.",
                field="rsvp_deadline",
            )
        if (capacity, rsvp_deadline) == (meeting.capacity, meeting.rsvp_deadline):
            return 0
        before = places_held(session, meeting_id)
        meeting.capacity, meeting.rsvp_deadline = capacity, rsvp_deadline
        audit.record(
            session,
            actor=actor,
            action="meeting.places",
            target=f"meeting:{meeting.id}",
            capacity=capacity,
            rsvp_deadline=rsvp_deadline.isoformat() if rsvp_deadline else None,
        )
        offer_free_places(session, services, meeting)
        return places_held(session, meeting_id) - before


def offer_free_places(session: Session, services: Services, meeting: Meeting) -> None:
    """Places came free (under the right to hand them out): the longest-waiting get them, and are
    told."""
    waiting = list(
        session.scalars(
            select(Rsvp)
            .where(WAITING_WITHOUT_OFFER, Rsvp.meeting_id == meeting.id)
            .order_by(Rsvp.waitlisted_at, Rsvp.id)
        )
    )
    for rsvp in waiting[
        : places_to_offer(places_held(session, meeting.id), meeting.capacity, len(waiting))
    ]:
        rsvp.waitlisted_at = None
        person = session.get_one(Person, rsvp.person_id)
        audit.record(
            session,
            actor="system",
            action="rsvp.promoted",
            target=f"meeting:{meeting.id}",
            person=rsvp.person_id,
        )
        tell_place_given(session, services, meeting, person, rsvp)


def tell_waiting(
    session: Session,
    services: Services,
    meeting: Meeting,
    person: Person,
    kind: str,
    calendar: str | None = None,
    **context: object,
) -> None:
    """Within the caller's transaction: one of the waiting list's emails (``kind``) to a person,
    from the meeting's list, with their links to answer."""
    enqueue(
        session,
        services,
        kind=kind,
        person=person,
        sender=list_envelope(services, meeting.mailing_list),
        context={"meeting": meeting, "links": services.links.rsvp_urls(person, meeting), **context},
        calendar=calendar,
    )


def tell_place_given(
    session: Session, services: Services, meeting: Meeting, person: Person, rsvp: Rsvp
) -> None:
    """Within the caller's transaction: the person now has an in-person place; they are told,
    with the agenda or reminder at once if those have gone."""
    tell_waiting(
        session,
        services,
        meeting,
        person,
        "waitlist_promoted",
        calendar=calendar_entry(services, meeting, person, partstat="ACCEPTED"),
        mode=AttendanceMode.IN_PERSON.value,
    )
    catch_up(session, services, meeting, person, rsvp)


def _clean_access_needs(text: str | None) -> str | None:
    if text is None:
        return None
    cleaned = text.replace("\r\n", "\n").strip()
    if len(cleaned) > MAX_ACCESS_NEEDS:
        raise InvalidInput(
            f"Please keep it to {MAX_ACCESS_NEEDS} characters.", field="access_needs"
        )
    return cleaned or None


def apply_access_needs_retention(session: Session, *, days_after: int) -> int:
    """Delete what people said they need once their meeting has been over for ``days_after``
    days."""
    cutoff = utcnow() - timedelta(days=max(days_after, 0))
    with transaction(session):
        ended = select(Meeting.id).where(Meeting.ends_at < cutoff)
        return rows_changed(
            session,
            update(Rsvp)
            .where(Rsvp.meeting_id.in_(ended), Rsvp.access_needs.is_not(None))
            .values(access_needs=None)
            .execution_options(synchronize_session=False),
        )


def _load_claim(session: Session, claim: RsvpClaim) -> tuple[Person, Meeting]:
    person = session.get(Person, claim.person_id)
    meeting = session.get(Meeting, claim.meeting_id, options=[joinedload(Meeting.mailing_list)])
    if person is None or meeting is None:
        raise InvalidLink("This link is no longer valid.")
    _check_claim(claim, person.link_version, meeting)
    return person, meeting


def _check_claim(claim: RsvpClaim, link_version: int, meeting: _OpenRules) -> None:
    if link_version != claim.link_version:
        raise InvalidLink("This link no longer works.")
    if meeting.ends_at <= utcnow():
        raise ExpiredLink("This meeting has already taken place, so its links have expired.")


@dataclass(frozen=True)
class PublicMeetingSummary:
    """What a page opened by a link may show of a meeting: never the venue or dial-in details
    (those go to registered delegates by email only), so a template cannot leak them."""

    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str


@dataclass(frozen=True)
class RsvpPage:
    """What a public RSVP page may show: the meeting's title and time, and the button. Nothing of
    the person (not their name, their answer or whether they told us about access needs): a link
    may be forwarded, and whoever holds it sees the page."""

    meeting: PublicMeetingSummary
    choice: RsvpChoice
    closed_reason: str | None
    #: The choice asks for an in-person place and none is free (as the public page says too):
    #: the button would put the holder on the waiting list.
    places_full: bool = False


def resolve_choice(choice: str) -> RsvpChoice:
    try:
        return RSVP_CHOICES[choice]
    except KeyError:
        raise InvalidLink("This link is not valid.") from None


#: What a link's page needs, in one read: the meeting's public fields and rules, and the link
#: version of the person it was sent to (a page shows nothing else of them).
_LINK_PAGE = (
    select(
        Meeting.id,
        Meeting.capacity,
        Meeting.title,
        Meeting.starts_at,
        Meeting.ends_at,
        Meeting.timezone,
        Meeting.status,
        Meeting.format,
        Meeting.rsvp_deadline,
        Person.link_version,
    )
    .join(Person, Person.id == bindparam("person_id"))
    .where(Meeting.id == bindparam("meeting_id"))
)


def rsvp_page(session: Session, services: Services, token: str, choice: str) -> RsvpPage:
    """Read-only: what the GET of a signed link shows. Never changes anything."""
    claim = services.links.load_rsvp(token)
    selected = resolve_choice(choice)
    with read_transaction(session):
        meeting = session.execute(
            _LINK_PAGE, {"meeting_id": claim.meeting_id, "person_id": claim.person_id}
        ).one_or_none()
        if meeting is None:  # no such meeting, or no such person any more
            raise InvalidLink("This link is no longer valid.")
        _check_claim(claim, meeting.link_version, meeting)
        full = selected.mode is AttendanceMode.IN_PERSON and in_person_full(session, meeting)
    closed: str | None = None
    try:
        check_open(meeting)
        check_mode(meeting, selected.response, selected.mode)
    except (RsvpClosed, InvalidChoice) as exc:
        closed = str(exc)
    return RsvpPage(
        meeting=PublicMeetingSummary(
            meeting.title, meeting.starts_at, meeting.ends_at, meeting.timezone
        ),
        choice=selected,
        closed_reason=closed,
        places_full=full,
    )


def record_rsvp_from_link(
    session: Session, services: Services, token: str, choice: str, access_needs: str | None = None
) -> RsvpOutcome:
    """The POST behind a signed link's one button (with what the person needs, if they said)."""
    claim = services.links.load_rsvp(token)
    selected = resolve_choice(choice)
    _clean_access_needs(access_needs)  # refuse an over-long note before taking any lock
    with transaction(session):
        person, meeting = _load_claim(session, claim)
        if selected.response is RsvpResponse.ATTENDING:
            check_not_removed(session, person.id, meeting.mailing_list)
        return _record(
            session,
            services,
            person=person,
            meeting=meeting,
            response=selected.response,
            mode=selected.mode,
            source="link",
            access_needs=access_needs,
        )


def record_rsvp(
    session: Session,
    services: Services,
    *,
    meeting_id: int,
    email: str,
    response: RsvpResponse,
    mode: AttendanceMode | None,
    source: str,
    keep_mode: bool = False,
    at: datetime | None = None,
) -> RsvpOutcome:
    """Record an answer for a known meeting (panel, CLI, calendar); ``keep_mode`` keeps an earlier
    in-person or remote choice when the answer is just "attending"."""
    with transaction(session):
        meeting = session.get(Meeting, meeting_id, options=[joinedload(Meeting.mailing_list)])
        if meeting is None:
            raise NotFound("There is no such meeting.")
        check_open(meeting, at)  # refused before anyone is added for it
        check_mode(meeting, response, mode)
        person = get_or_create_person(session, email)
        return _record(
            session,
            services,
            person=person,
            meeting=meeting,
            response=response,
            mode=mode,
            source=source,
            keep_mode=keep_mode,
            at=at,
        )


def record_rsvp_from_calendar(
    session: Session,
    services: Services,
    *,
    meeting_id: int,
    attendee: str,
    response: RsvpResponse,
    at: datetime | None = None,
) -> RsvpOutcome:
    """Accept or Decline pressed in a calendar: same rules as every other path.

    Accepting keeps an in-person or remote choice made earlier; the person is
    emailed about any change, as always.
    """
    with transaction(session):
        meeting = session.get(Meeting, meeting_id, options=[joinedload(Meeting.mailing_list)])
        person = find_person(session, attendee)
        if meeting is not None and person is not None and response is RsvpResponse.ATTENDING:
            check_not_removed(session, person.id, meeting.mailing_list)
        return record_rsvp(
            session,
            services,
            meeting_id=meeting_id,
            email=attendee,
            response=response,
            mode=None,
            source="calendar",
            keep_mode=True,
            at=at,
        )


@dataclass(frozen=True)
class EmailRequestOutcome:
    """What an emailed request did, for the inbound log and the organiser."""

    summary: str
    rsvp: RsvpOutcome | None
    replied: bool
    meeting_id: int | None = None


def _refused(
    session: Session,
    services: Services,
    person: Person,
    meeting: Meeting,
    thread: ReplyThread,
    exc: Exception,
    *,
    may_reply: bool,
) -> None:
    if may_reply:
        reply_from_list(
            session,
            services,
            kind="rsvp_refused",
            person=person,
            mailing_list=meeting.mailing_list,
            thread=thread,
            context={"meeting": meeting, "reason": str(exc)},
        )


def check_not_removed(session: Session, person_id: int, mailing_list: MailingList) -> None:
    """Someone an organiser took off a list registers for none of its meetings (their links
    stopped working when they were removed; an email does not bring them back)."""
    status = session.scalar(
        select(Subscription.status).where(
            Subscription.person_id == person_id, Subscription.list_id == mailing_list.id
        )
    )
    if status is SubscriptionStatus.REMOVED:
        raise RsvpClosed(
            f"The organisers of {mailing_list.name} have taken you off the list, so you cannot "
            "register for its meetings. If you think this is a mistake, reply and tell them."
        )


def register_by_email(
    session: Session,
    services: Services,
    *,
    list_slug: str,
    email: str,
    display_name: str | None,
    mode: AttendanceMode | None,
    thread: ReplyThread,
    at: datetime | None = None,
    meeting_id: int | None = None,
    text: str = "",
    fallback: AttendanceMode | None = None,
    question: bool = False,
    may_reply: bool = True,
) -> EmailRequestOutcome:
    """ "Please register me": register the sender for the meeting asked about and reply with links.

    The meeting is the one of the message answered (``meeting_id``), else the
    list's one open meeting or the one ``text`` names; when that is not clear
    nothing is recorded and the sender is asked, with links per meeting
    (:func:`mailer.domain.meetings.meeting_asked_about`). ``fallback`` is a
    second choice of mode, taken when the first would mean the waiting list.
    The reply always goes to the address the request claims to come from, so
    its owner learns of the registration even if the From: was forged, and
    can undo it with one click. ``at``: when the message arrived.
    """
    with transaction(session):
        mailing_list = get_list(session, list_slug)
        person, added = find_or_add_person(session, email, display_name)
        meeting = meeting_asked_about(
            session, mailing_list.id, meeting_id=meeting_id, text=text, now=at
        )
        if isinstance(meeting, list):
            return _ask_which_meeting(
                session, services, person, mailing_list, meeting, thread, "register", may_reply
            )
        may_reply = may_reply and may_auto_reply(
            session, services, person.email, about_their_record=True
        )
        try:
            check_not_removed(session, person.id, mailing_list)
            outcome = _record(
                session,
                services,
                person=person,
                meeting=meeting,
                response=RsvpResponse.ATTENDING,
                mode=mode,
                source="email",
                at=at,
                keep_mode=mode is None,
                notify=False,
                new_person=added,
                fallback_mode=fallback,
            )
        except (RsvpClosed, InvalidChoice) as exc:
            _refused(session, services, person, meeting, thread, exc, may_reply=may_reply)
            return EmailRequestOutcome(f"registration refused: {exc}", None, may_reply, meeting.id)
        if may_reply:
            reply_from_list(
                session,
                services,
                kind="registration_reply",
                person=person,
                mailing_list=mailing_list,
                thread=thread,
                context={
                    "meeting": meeting,
                    "links": services.links.rsvp_urls(person, meeting),
                    "mode": outcome.mode.value if outcome.mode else None,
                    "already": not outcome.changed,
                    "waitlisted": outcome.waitlisted,
                    "waitlist_position": outcome.waitlist_position,
                    "question": question,
                    "in_person_full": in_person_full(session, meeting),
                },
                calendar=calendar_entry(
                    services,
                    meeting,
                    person,
                    partstat="TENTATIVE" if outcome.waitlisted else "ACCEPTED",
                ),
            )
        verb = "registered" if outcome.changed else "already registered"
        return EmailRequestOutcome(
            f"{verb} for {meeting.title} ({STATUS_LABELS[outcome.status]})",
            outcome,
            may_reply,
            meeting.id,
        )


def _ask_which_meeting(
    session: Session,
    services: Services,
    person: Person,
    mailing_list: MailingList,
    meetings: list[Meeting],
    thread: ReplyThread,
    wanted: str,
    may_reply: bool = True,
) -> EmailRequestOutcome:
    """Nothing recorded: the sender is asked which meeting, with the links for each (or told there
    is none); ``may_reply`` False: asked nothing."""
    may_reply = may_reply and may_auto_reply(session, services, person.email)
    if may_reply:
        reply_from_list(
            session,
            services,
            kind="which_meeting" if meetings else "no_upcoming_meeting",
            person=person,
            mailing_list=mailing_list,
            thread=thread,
            context={
                "mailing_list": mailing_list,
                "wanted": wanted,
                "choices": [
                    {"meeting": m, "links": services.links.rsvp_urls(person, m)} for m in meetings
                ],
            },
        )
    if not meetings:
        return EmailRequestOutcome(
            f"{mailing_list.name} has no upcoming meeting to {wanted} for", None, may_reply
        )
    return EmailRequestOutcome(
        f"asked which meeting ({len(meetings)} open): nothing recorded", None, may_reply
    )


def decline_by_email(
    session: Session,
    services: Services,
    *,
    list_slug: str,
    email: str,
    display_name: str | None,
    thread: ReplyThread,
    at: datetime | None = None,
    meeting_id: int | None = None,
    text: str = "",
    question: bool = False,
    may_reply: bool = True,
) -> EmailRequestOutcome:
    """ "Can't make it": record a decline for the meeting asked about (chosen as for
    :func:`register_by_email`); the list membership is untouched. With no meeting to decline,
    nothing is recorded (not even the sender)."""
    with transaction(session):
        mailing_list = get_list(session, list_slug)
        meeting = meeting_asked_about(
            session, mailing_list.id, meeting_id=meeting_id, text=text, declining=True, now=at
        )
        if meeting == []:
            return EmailRequestOutcome(f"{mailing_list.name} has no upcoming meeting.", None, False)
        person, added = find_or_add_person(session, email, display_name)
        if isinstance(meeting, list):
            return _ask_which_meeting(
                session, services, person, mailing_list, meeting, thread, "decline", may_reply
            )
        may_reply = may_reply and may_auto_reply(
            session, services, person.email, about_their_record=True
        )
        try:
            outcome = _record(
                session,
                services,
                person=person,
                meeting=meeting,
                response=RsvpResponse.DECLINED,
                mode=None,
                source="email",
                at=at,
                reply_to=thread,
                notify=may_reply,
                new_person=added,
                question=question,
            )
        except RsvpClosed as exc:
            _refused(session, services, person, meeting, thread, exc, may_reply=may_reply)
            return EmailRequestOutcome(f"decline refused: {exc}", None, may_reply, meeting.id)
        return EmailRequestOutcome(
            f"can't attend {meeting.title}"
            if outcome.changed
            else f"already said they can't attend {meeting.title}",
            outcome,
            may_reply and outcome.changed,
            meeting.id,
        )


def _choices_for(
    meeting: Meeting, response: RsvpResponse, mode: AttendanceMode | None
) -> list[RsvpChoice]:
    """The link choices that do what was asked, as far as the meeting's format allows: the one
    asked for, or both ways of attending when no way (or one the meeting lacks) was named."""
    if response is RsvpResponse.DECLINED:
        return [RSVP_CHOICES["decline"]]
    allowed = [
        choice
        for choice in RSVP_CHOICES.values()
        if choice.mode is not None and _allows(meeting, response, choice.mode)
    ]
    return [c for c in allowed if c.mode is mode] or allowed


def ask_owner_first(
    session: Session,
    services: Services,
    *,
    email: str,
    response: RsvpResponse,
    mode: AttendanceMode | None,
    may_write: bool,
    list_slug: str | None = None,
    meeting_id: int | None = None,
    text: str = "",
    at: datetime | None = None,
    thread: ReplyThread | None = None,
) -> EmailRequestOutcome:
    """An emailed answer that does not prove who sent it: nothing is recorded, and the mailbox it
    names is sent the signed links that would record it ("was this you?").

    A From: header proves nothing, so an answer is acted on at once only
    when its sender is proven (see :mod:`mailer.inbound.process`); this is
    every other answer. The meeting is the one asked about, chosen as for
    :func:`register_by_email` (``list_slug``), or the calendar reply's
    (``meeting_id`` alone). The email repeats nothing the message said and
    takes no place: a place is taken, in the order of arrival, only when a
    link is pressed. ``may_write``: whether the message's return path is
    its From: mailbox (RFC 3834). When it is not, only a person we already
    know is written to (someone may be trying to change their record); a
    stranger's address is never written to on a stranger's say-so. The
    email goes on the limit for notices about a person's own record, and is
    threaded under ``thread``, the message, with a subject of its own.
    """
    with transaction(session):
        if list_slug is not None:
            mailing_list = get_list(session, list_slug)
            found = meeting_asked_about(
                session,
                mailing_list.id,
                meeting_id=meeting_id,
                text=text,
                declining=response is RsvpResponse.DECLINED,
                now=at,
            )
            meetings = found if isinstance(found, list) else [found]
        else:
            meeting = session.get(Meeting, meeting_id) if meeting_id is not None else None
            if meeting is None:
                raise NotFound("There is no such meeting.")
            mailing_list, meetings = meeting.mailing_list, [meeting]
        wanted = "decline" if response is RsvpResponse.DECLINED else "register"
        if not meetings:
            return EmailRequestOutcome(
                f"sender not proven; {mailing_list.name} has no upcoming meeting to {wanted} for",
                None,
                False,
            )
        address = normalise_email(email)
        person = find_person(session, address)
        if person is None and not may_write:
            return EmailRequestOutcome(
                f"sender not proven and the return path is another mailbox: nothing recorded, "
                f"no one written to ({wanted})",
                None,
                False,
                meetings[0].id,
            )
        if person is None:
            person = get_or_create_person(session, address)
        sent = may_auto_reply(session, services, person.email, about_their_record=True)
        if sent:
            enqueue(
                session,
                services,
                kind="confirm_request",
                person=person,
                auto_reply=True,
                # Threaded under the message (RFC 3834), under a subject of our own.
                reply_to=ReplyThread(thread.message_id, thread.references) if thread else None,
                sender=list_envelope(services, mailing_list),
                context={
                    "mailing_list": mailing_list,
                    "wanted": wanted,
                    "choices": [
                        {
                            "meeting": m,
                            "links": [
                                (c.label, services.links.rsvp_url(person, m, c.slug))
                                for c in _choices_for(m, response, mode)
                            ],
                        }
                        for m in meetings
                    ],
                },
            )
        what = f"asked the address owner to confirm by link ({wanted})"
        return EmailRequestOutcome(
            "sender not proven: nothing recorded; "
            + (what if sent else f"{what}, but the notice limit was reached"),
            None,
            sent,
            meetings[0].id if len(meetings) == 1 else None,
        )
