"""RSVP rules: the one place that decides whether and how an answer is recorded.

Email, signed links, calendar replies, the panel and the API all call
``record_rsvp`` so they behave identically. Every change emails the person
(so a wrong or spoofed change never goes unnoticed); repeating the same answer
changes nothing and sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, cast

from sqlalchemy import and_, bindparam, func, select, text, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from mailer.db import (
    insert_row,
    load_row,
    load_rows,
    read_row,
    transaction,
    unit_of_work_memo,
    update_row,
)
from mailer.domain import audit
from mailer.domain.errors import (
    ExpiredLink,
    InvalidChoice,
    InvalidInput,
    InvalidLink,
    NotFound,
    NoUpcomingMeeting,
    RsvpClosed,
)
from mailer.domain.links import RSVP_CHOICES, RsvpChoice, RsvpClaim
from mailer.domain.lists import get_list
from mailer.domain.meetings import next_meeting
from mailer.domain.models import (
    AttendanceMode,
    MailingList,
    Meeting,
    MeetingFormat,
    MeetingStatus,
    Person,
    Rsvp,
    RsvpResponse,
    first_name_of,
    utcnow,
)
from mailer.domain.outbox import Envelope, ReplyThread, enqueue, may_auto_reply
from mailer.domain.people import find_or_add_person, get_or_create_person
from mailer.domain.services import Services


@dataclass(frozen=True)
class RsvpOutcome:
    meeting_id: int
    person_id: int
    response: RsvpResponse
    mode: AttendanceMode | None
    changed: bool
    previous: tuple[RsvpResponse, AttendanceMode | None] | None
    waitlisted: bool = False


class _OpenRules(Protocol):
    """The fields of a meeting that decide whether it takes an answer (a Meeting, or a row of them)."""

    status: MeetingStatus
    format: MeetingFormat
    ends_at: datetime
    rsvp_deadline: datetime | None


def check_open(meeting: _OpenRules, now: datetime | None = None) -> None:
    """Raise RsvpClosed unless the meeting still takes answers."""
    now = now or utcnow()
    if meeting.status is MeetingStatus.CANCELLED:
        raise RsvpClosed("This meeting has been cancelled.")
    if meeting.status is not MeetingStatus.PUBLISHED:
        raise RsvpClosed("This meeting is not open for replies yet.")
    if meeting.ends_at <= now:
        raise RsvpClosed("This meeting has already taken place.")
    if meeting.rsvp_deadline is not None and meeting.rsvp_deadline <= now:
        raise RsvpClosed("Replies for this meeting closed at the RSVP deadline. Please contact the organisers.")


def check_mode(meeting: _OpenRules, response: RsvpResponse, mode: AttendanceMode | None) -> None:
    if response is RsvpResponse.DECLINED:
        return
    if mode is AttendanceMode.IN_PERSON and meeting.format is MeetingFormat.REMOTE:
        raise InvalidChoice("This meeting is remote only, so there is no in-person place to book.")
    if mode is AttendanceMode.REMOTE and meeting.format is MeetingFormat.IN_PERSON:
        raise InvalidChoice("This meeting is in person only; there is no remote option.")


def list_sender(services: Services, meeting: Meeting) -> Envelope:
    address = services.list_address(meeting.mailing_list.slug)
    return Envelope(from_address=address, from_name=meeting.mailing_list.name, headers={"Reply-To": address})


MAX_ACCESS_NEEDS = 1000


_LOCK_MEETING = select(Meeting.id).where(Meeting.id == bindparam("meeting_id")).with_for_update()
# The tables, for the Core statements of the hot paths (link pages, the worker).
_MEETING_T, _PERSON_T, _RSVP_T, _LIST_T = (Meeting.__table__, Person.__table__, Rsvp.__table__,
                                           MailingList.__table__)
_RSVP_OF = select(_RSVP_T).where(_RSVP_T.c.meeting_id == bindparam("meeting_id"),
                                 _RSVP_T.c.person_id == bindparam("person_id"))


def _apply(session: Session, services: Services, *, person: Person, meeting: Meeting, response: RsvpResponse,
           mode: AttendanceMode | None, source: str, keep_mode: bool = False,
           reply_to: ReplyThread | None = None, notify: bool = True, access_needs: str | None = None,
           new_person: bool = False) -> RsvpOutcome:
    """Within the caller's transaction: record the answer, audit it and tell the person.

    ``access_needs`` (None: leave as it is) replaces what the person told us they need;
    it is kept for attending answers only and deleted after the meeting. ``new_person``:
    the person was added by this very operation, so has no answer to look up.
    """
    check_open(meeting)
    check_mode(meeting, response, mode)
    # On PostgreSQL (SQLite already has one writer at a time) a person's answers queue behind
    # their own (a person added by this very transaction is seen by no other). Places are handed
    # out under the meeting's lock: taken by an answer that asks for one, or by one whose person
    # holds or waits for one (a decline may promote the next in line), and by nothing else, so
    # remote answers and declines of people not in line go through side by side. A meeting's
    # capacity is fixed when it is made; with none, no one is ever waitlisted.
    locks = session.connection().dialect.name != "sqlite"
    asks_for_place = response is RsvpResponse.ATTENDING and mode is AttendanceMode.IN_PERSON
    if locks and not new_person:
        lock_answers_of(session, [person.id])
    if locks and meeting.capacity is not None and asks_for_place:
        _lock_meeting(session, meeting.id)
    rsvp = None if new_person else load_row(session, Rsvp, _RSVP_OF, {"meeting_id": meeting.id,
                                                                       "person_id": person.id})
    if locks and meeting.capacity is not None and not asks_for_place and rsvp is not None and _in_line(rsvp):
        _lock_meeting(session, meeting.id)
        session.refresh(rsvp)  # a promotion (made under that lock) may have given them a place since
    previous = (rsvp.response, rsvp.mode) if rsvp else None
    if rsvp is not None and keep_mode and response is RsvpResponse.ATTENDING and rsvp.response is response:
        mode = rsvp.mode  # "register me" again must not forget a mode chosen earlier
    changes = {}
    if rsvp is not None and access_needs is not None:
        changes["access_needs"] = _clean_access_needs(access_needs) if response is RsvpResponse.ATTENDING else None
    if previous == (response, mode):
        if changes and changes["access_needs"] != rsvp.access_needs:
            update_row(session, rsvp, **changes)
        return RsvpOutcome(meeting.id, person.id, response, mode, changed=False, previous=previous,
                           waitlisted=rsvp is not None and rsvp.waitlisted_at is not None)
    held_place = rsvp is not None and _holds_place(rsvp)
    wants_place = response is RsvpResponse.ATTENDING and mode is AttendanceMode.IN_PERSON
    full = (wants_place and meeting.capacity is not None
            and _places_taken(session, meeting, besides=rsvp) >= meeting.capacity)
    if rsvp is None:
        rsvp = insert_row(session, Rsvp, meeting_id=meeting.id, person_id=person.id, response=response, mode=mode,
                          source=source, waitlisted_at=utcnow() if full else None,
                          access_needs=_clean_access_needs(access_needs) if response is RsvpResponse.ATTENDING
                          else None)
    else:
        changes.update(response=response, mode=mode, source=source, waitlisted_at=utcnow() if full else None)
        if response is RsvpResponse.DECLINED:
            changes["access_needs"] = None
        update_row(session, rsvp, **changes)
    if _holds_place(rsvp) != held_place:
        _places_changed(session, meeting.id, 1 if _holds_place(rsvp) else -1)
    audit.record(session, actor=f"person:{person.id}", action="rsvp.record", target=f"meeting:{meeting.id}",
                 response=response.value, mode=mode.value if mode else None, source=source,
                 waitlisted=rsvp.waitlisted_at is not None,
                 previous=[previous[0].value, previous[1].value if previous[1] else None] if previous else None)
    if held_place and not wants_place:
        _promote_from_waitlist(session, services, meeting)
    if (meeting.agenda_sent_at is not None and response is RsvpResponse.ATTENDING and rsvp.waitlisted_at is None):
        from mailer.domain.schedules import (
            send_details,  # late registrants get what the others already have
        )

        send_details(session, services, meeting, person, rsvp)
    if notify:
        enqueue(session, services, kind="rsvp_confirmation", person=person, sender=list_sender(services, meeting),
                reply_to=reply_to, auto_reply=reply_to is not None,
                context={"meeting": meeting, "response": response.value, "mode": mode.value if mode else None,
                         "links": services.links.rsvp_urls(person, meeting), "previous": previous,
                         "waitlisted": rsvp.waitlisted_at is not None})
    return RsvpOutcome(meeting.id, person.id, response, mode, changed=True, previous=previous,
                       waitlisted=rsvp.waitlisted_at is not None)


_LOCKED_MEETINGS = "locked_meetings"


def _lock_meeting(session: Session, meeting_id: int) -> None:
    """Take the meeting's row lock (PostgreSQL) for the rest of the transaction. In the worker's
    unit of work it is taken once: a lock taken outside any SAVEPOINT lasts until the commit
    (one taken inside one is let go if it is rolled back, so it is taken again next time)."""
    memo = unit_of_work_memo(session)
    held = cast("set[int]", memo.setdefault(_LOCKED_MEETINGS, set())) if memo is not None else None
    if held is not None and meeting_id in held:
        return
    session.connection().execute(_LOCK_MEETING, {"meeting_id": meeting_id})
    if held is not None and not session.in_nested_transaction():
        held.add(meeting_id)


_LOCKED_PEOPLE = "locked_answers_of"
#: First key of the transaction-scoped advisory locks on a person's answers (the second is their id).
_ANSWERS_LOCK_SPACE = 0x525356  # "RSV"
_LOCK_ANSWERS_OF = text("SELECT pg_advisory_xact_lock(:space, id) FROM unnest(CAST(:ids AS integer[])) AS id "
                        "ORDER BY id")


def lock_answers_of(session: Session, person_ids: list[int]) -> None:
    """PostgreSQL: queue behind any other transaction answering for these people, until the commit.

    Every answer takes its person's lock; answers that hand out or free an
    in-person place also take the meeting's (see ``_apply``). Taken in one
    statement, in order, so two transactions locking overlapping sets never
    wait on each other in a circle; a unit of work takes its senders' locks
    once, at its start. As with the meeting's lock, one taken inside a
    SAVEPOINT is not remembered.
    """
    memo = unit_of_work_memo(session)
    held = cast("set[int]", memo.setdefault(_LOCKED_PEOPLE, set())) if memo is not None else None
    wanted = sorted({pid for pid in person_ids if held is None or pid not in held})
    connection = session.connection()
    if not wanted or connection.dialect.name != "postgresql":
        return
    connection.execute(_LOCK_ANSWERS_OF, {"space": _ANSWERS_LOCK_SPACE, "ids": wanted})
    if held is not None and not session.in_nested_transaction():
        held.update(wanted)


def _clean_access_needs(text: str | None) -> str | None:
    if text is None:
        return None
    cleaned = text.replace("\r\n", "\n").strip()
    if len(cleaned) > MAX_ACCESS_NEEDS:
        raise InvalidInput(f"Please keep it to {MAX_ACCESS_NEEDS} characters.", field="access_needs")
    return cleaned or None


def apply_access_needs_retention(session: Session, *, days_after: int) -> int:
    """Delete what people said they need once their meeting has been over for ``days_after`` days."""
    cutoff = utcnow() - timedelta(days=max(days_after, 0))
    with transaction(session):
        ended = select(Meeting.id).where(Meeting.ends_at < cutoff)
        return session.execute(update(Rsvp).where(Rsvp.meeting_id.in_(ended), Rsvp.access_needs.is_not(None))
                               .values(access_needs=None).execution_options(synchronize_session=False)).rowcount


def _in_line(rsvp: Rsvp) -> bool:
    """Holds an in-person place, or waits for one."""
    return rsvp.response is RsvpResponse.ATTENDING and rsvp.mode is AttendanceMode.IN_PERSON


def _holds_place(rsvp: Rsvp) -> bool:
    return _in_line(rsvp) and rsvp.waitlisted_at is None


_PLACES_TAKEN = select(func.count()).select_from(Rsvp).where(
    Rsvp.meeting_id == bindparam("meeting_id"), Rsvp.response == RsvpResponse.ATTENDING,
    Rsvp.mode == AttendanceMode.IN_PERSON, Rsvp.waitlisted_at.is_(None))
_PLACES = "places_taken"


def _places_taken(session: Session, meeting: Meeting, *, besides: Rsvp | None = None) -> int:
    """In-person places held at ``meeting``, not counting the one ``besides`` holds, if any.

    Called only with the right to hand places out (the meeting's lock on
    PostgreSQL; SQLite's one writer). A unit of work keeps that right until
    it commits, so it counts once per meeting and then keeps the count as it
    hands places out (:func:`_places_changed`): a burst of registrations does
    not count every earlier one again for each new one.
    """
    known = _known_places(session)
    if known is not None and meeting.id in known:
        taken = known[meeting.id]
    else:
        taken = session.scalar(_PLACES_TAKEN, {"meeting_id": meeting.id}) or 0
        if known is not None:
            known[meeting.id] = taken
    return taken - (1 if besides is not None and _holds_place(besides) else 0)


def _places_changed(session: Session, meeting_id: int, change: int) -> None:
    known = _known_places(session)
    if known is not None and meeting_id in known:
        known[meeting_id] += change


def _known_places(session: Session) -> dict[int, int] | None:
    """The unit of work's counts, or None. Inside a SAVEPOINT, which may be rolled back, they
    are forgotten, to be counted afresh after it."""
    memo = unit_of_work_memo(session)
    if memo is None:
        return None
    known = cast("dict[int, int]", memo.setdefault(_PLACES, {}))
    if session.in_nested_transaction():
        known.clear()
        return None
    return known


def _promote_from_waitlist(session: Session, services: Services, meeting: Meeting) -> None:
    """A place came free: the longest-waiting person gets it, and is told."""
    if meeting.capacity is not None and _places_taken(session, meeting) >= meeting.capacity:
        return
    first = session.scalar(select(Rsvp).where(Rsvp.meeting_id == meeting.id, Rsvp.waitlisted_at.is_not(None))
                           .order_by(Rsvp.waitlisted_at, Rsvp.id).limit(1))
    if first is None:
        return
    first.waitlisted_at = None
    _places_changed(session, meeting.id, 1)
    person = session.get(Person, first.person_id)
    audit.record(session, actor="system", action="rsvp.promoted", target=f"meeting:{meeting.id}",
                 person=first.person_id)
    enqueue(session, services, kind="waitlist_promoted", person=person, sender=list_sender(services, meeting),
            context={"meeting": meeting, "links": services.links.rsvp_urls(person, meeting)})
    if meeting.agenda_sent_at is not None:
        from mailer.domain.schedules import send_details

        send_details(session, services, meeting, person, first)


_CLAIM = (select(*_PERSON_T.c, *_MEETING_T.c, *_LIST_T.c)
          .select_from(_PERSON_T)
          .join(_MEETING_T, _MEETING_T.c.id == bindparam("meeting_id"))
          .join(_LIST_T, _LIST_T.c.id == _MEETING_T.c.list_id)
          .where(_PERSON_T.c.id == bindparam("person_id")))


def _load_claim(session: Session, claim: RsvpClaim) -> tuple[Person, Meeting]:
    found = load_rows(session, (Person, Meeting, MailingList), _CLAIM,
                      {"meeting_id": claim.meeting_id, "person_id": claim.person_id})
    if found is None:
        raise InvalidLink("This link is no longer valid.")
    person, meeting, mailing_list = found
    set_committed_value(meeting, "mailing_list", mailing_list)  # loaded with it: no query when the email names it
    _check_claim(claim, person.link_version, meeting)
    return person, meeting


def _check_claim(claim: RsvpClaim, link_version: int, meeting: _OpenRules) -> None:
    if link_version != claim.link_version:
        raise InvalidLink("This link has been replaced by a newer one. Please use the most recent email.")
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


_PAGE = (select(_MEETING_T.c.title, _MEETING_T.c.starts_at, _MEETING_T.c.ends_at, _MEETING_T.c.timezone,
                _MEETING_T.c.status, _MEETING_T.c.format, _MEETING_T.c.rsvp_deadline,
                _PERSON_T.c.display_name, _PERSON_T.c.link_version, _RSVP_T.c.response, _RSVP_T.c.mode,
                _RSVP_T.c.access_needs.is_not(None).label("has_access_needs"))
         .select_from(_MEETING_T)
         .join(_PERSON_T, _PERSON_T.c.id == bindparam("person_id"))
         .outerjoin(_RSVP_T, and_(_RSVP_T.c.meeting_id == _MEETING_T.c.id, _RSVP_T.c.person_id == _PERSON_T.c.id))
         .where(_MEETING_T.c.id == bindparam("meeting_id")))


@dataclass(frozen=True)
class RsvpPage:
    """What a public RSVP page may show: the meeting's title and time, and at most a first name."""

    meeting: PublicMeetingSummary
    first_name: str | None
    choice: RsvpChoice
    current: tuple[RsvpResponse, AttendanceMode | None] | None
    closed_reason: str | None
    #: Whether we hold access needs for this person (never what they are: the link may be forwarded).
    has_access_needs: bool = False


def resolve_choice(choice: str) -> RsvpChoice:
    try:
        return RSVP_CHOICES[choice]
    except KeyError:
        raise InvalidLink("This link is not valid.") from None


def rsvp_page(session: Session, services: Services, token: str, choice: str) -> RsvpPage:
    """Read-only: what the GET of a signed link shows. Never changes anything."""
    claim = services.links.load_rsvp(token)
    selected = resolve_choice(choice)
    # One query: the meeting, the person's name and link version, their answer.
    found = read_row(session, _PAGE, {"meeting_id": claim.meeting_id, "person_id": claim.person_id})
    if found is None:
        raise InvalidLink("This link is no longer valid.")
    _check_claim(claim, found.link_version, found)
    closed: str | None = None
    try:
        check_open(found)
        check_mode(found, selected.response, selected.mode)
    except (RsvpClosed, InvalidChoice) as exc:
        closed = str(exc)
    return RsvpPage(meeting=PublicMeetingSummary(found.title, found.starts_at, found.ends_at, found.timezone),
                    first_name=first_name_of(found.display_name), choice=selected,
                    current=(found.response, found.mode) if found.response else None, closed_reason=closed,
                    has_access_needs=bool(found.has_access_needs))


def record_rsvp_from_link(session: Session, services: Services, token: str, choice: str,
                          access_needs: str | None = None) -> RsvpOutcome:
    """The POST behind a signed link's one button (with what the person needs, if they said)."""
    claim = services.links.load_rsvp(token)
    selected = resolve_choice(choice)
    _clean_access_needs(access_needs)  # refuse an over-long note before taking any lock
    with transaction(session):
        person, meeting = _load_claim(session, claim)
        return _apply(session, services, person=person, meeting=meeting, response=selected.response,
                      mode=selected.mode, source="link", access_needs=access_needs)


def record_rsvp(session: Session, services: Services, *, meeting_id: int, email: str, response: RsvpResponse,
                mode: AttendanceMode | None, source: str, keep_mode: bool = False) -> RsvpOutcome:
    """Record an answer for a known meeting (panel, CLI, calendar); ``keep_mode`` keeps an earlier
    in-person or remote choice when the answer is just "attending"."""
    with transaction(session):
        meeting = session.get(Meeting, meeting_id, options=[joinedload(Meeting.mailing_list)])
        if meeting is None:
            raise NotFound("There is no such meeting.")
        person = get_or_create_person(session, email)
        return _apply(session, services, person=person, meeting=meeting, response=response, mode=mode,
                      source=source, keep_mode=keep_mode)


def record_rsvp_from_calendar(session: Session, services: Services, *, meeting_id: int, attendee: str,
                              response: RsvpResponse) -> RsvpOutcome:
    """Accept or Decline pressed in a calendar: same rules as every other path.

    Accepting keeps an in-person or remote choice made earlier; the person is
    emailed about any change, as always.
    """
    return record_rsvp(session, services, meeting_id=meeting_id, email=attendee, response=response, mode=None,
                       source="calendar", keep_mode=True)


@dataclass(frozen=True)
class EmailRequestOutcome:
    """What an emailed request did, for the inbound log and the organiser."""

    summary: str
    rsvp: RsvpOutcome | None
    replied: bool


def register_by_email(session: Session, services: Services, *, list_slug: str, email: str,
                      display_name: str | None, mode: AttendanceMode | None,
                      thread: ReplyThread) -> EmailRequestOutcome:
    """"Please register me": register the sender for the list's next meeting and reply with links.

    The reply always goes to the address the request claims to come from, so
    its owner learns of the registration even if the From: was forged, and
    can undo it with one click.
    """
    with transaction(session):
        mailing_list = get_list(session, list_slug)
        person, added = find_or_add_person(session, email, display_name)
        may_reply = may_auto_reply(session, services, person.email, new_person=added)
        meeting = next_meeting(session, mailing_list.id)
        if meeting is None:  # the sender is told, and the request stays in the inbound log
            if may_reply:
                enqueue(session, services, kind="no_upcoming_meeting", person=person,
                        sender=Envelope(services.list_address(mailing_list.slug), mailing_list.name),
                        reply_to=thread, auto_reply=True, context={"mailing_list": mailing_list})
            return EmailRequestOutcome(f"{mailing_list.name} has no upcoming meeting to register for",
                                       None, may_reply)
        try:
            outcome = _apply(session, services, person=person, meeting=meeting, response=RsvpResponse.ATTENDING,
                             mode=mode, source="email", keep_mode=mode is None, notify=False, new_person=added)
        except (RsvpClosed, InvalidChoice) as exc:
            if may_reply:
                enqueue(session, services, kind="rsvp_refused", person=person, sender=list_sender(services, meeting),
                        reply_to=thread, auto_reply=True, context={"meeting": meeting, "reason": str(exc)})
            return EmailRequestOutcome(f"registration refused: {exc}", None, may_reply)
        if may_reply:
            enqueue(session, services, kind="registration_reply", person=person,
                    sender=list_sender(services, meeting), reply_to=thread, auto_reply=True,
                    context={"meeting": meeting, "links": services.links.rsvp_urls(person, meeting),
                             "mode": outcome.mode.value if outcome.mode else None,
                             "already": not outcome.changed})
        verb = "registered" if outcome.changed else "already registered"
        return EmailRequestOutcome(f"{verb} for meeting {meeting.id}"
                                   f" ({outcome.mode.value if outcome.mode else 'mode not chosen'})",
                                   outcome, may_reply)


def decline_by_email(session: Session, services: Services, *, list_slug: str, email: str,
                     display_name: str | None, thread: ReplyThread) -> EmailRequestOutcome:
    """"Can't make it": record a decline for the next meeting; the list membership is untouched."""
    with transaction(session):
        mailing_list = get_list(session, list_slug)
        person, added = find_or_add_person(session, email, display_name)
        meeting = next_meeting(session, mailing_list.id)
        if meeting is None:
            raise NoUpcomingMeeting(f"{mailing_list.name} has no upcoming meeting.")
        may_reply = may_auto_reply(session, services, person.email)
        try:
            outcome = _apply(session, services, person=person, meeting=meeting, response=RsvpResponse.DECLINED,
                             mode=None, source="email", reply_to=thread, notify=may_reply, new_person=added)
        except RsvpClosed as exc:
            if may_reply:
                enqueue(session, services, kind="rsvp_refused", person=person, sender=list_sender(services, meeting),
                        reply_to=thread, auto_reply=True, context={"meeting": meeting, "reason": str(exc)})
            return EmailRequestOutcome(f"decline refused: {exc}", None, may_reply)
        return EmailRequestOutcome(f"declined meeting {meeting.id}" if outcome.changed
                                   else f"already declined meeting {meeting.id}", outcome,
                                   may_reply and outcome.changed)
