"""Meetings, and who is coming to them."""

from __future__ import annotations

import calendar
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, joinedload

from mailer.db import read_transaction, transaction
from mailer.domain import audit
from mailer.domain.errors import InvalidInput, NotFound
from mailer.domain.lists import get_list
from mailer.domain.meeting_names import NameableMeeting, meetings_named
from mailer.domain.models import (
    AttendanceMode,
    MailingList,
    Meeting,
    MeetingFormat,
    MeetingStatus,
    Person,
    Rsvp,
    RsvpResponse,
    utcnow,
)
from mailer.domain.places import Status, status_of


def places_held(session: Session, meeting_id: int, *, besides: int | None = None) -> int:
    """In-person places held at the meeting, not counting ``besides``'s (a person id): those
    given, and those an organiser holds for someone waiting until they reply."""
    query = (
        select(func.count())
        .select_from(Rsvp)
        .where(
            Rsvp.meeting_id == meeting_id,
            Rsvp.response == RsvpResponse.ATTENDING,
            Rsvp.mode == AttendanceMode.IN_PERSON,
            Rsvp.waitlisted_at.is_(None) | Rsvp.offered_until.is_not(None),
        )
    )
    if besides is not None:
        query = query.where(Rsvp.person_id != besides)
    return session.scalar(query) or 0


class WithPlaces(Protocol):
    """A meeting, or a row read with its id and capacity."""

    @property
    def id(self) -> int: ...
    @property
    def capacity(self) -> int | None: ...


def in_person_full(session: Session, meeting: WithPlaces) -> bool:
    """Whether someone asking now for an in-person place would go on the waiting list."""
    return meeting.capacity is not None and places_held(session, meeting.id) >= meeting.capacity


def parse_local_datetime(value: str | datetime, zone: str, field: str) -> datetime:
    """Read ``2026-03-12 14:00`` (or an aware datetime) as a time in ``zone``; returns UTC."""
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInput(
                f"'{value}' is not a date and time like 2026-03-12 14:00.", field=field
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(zone))
    return parsed.astimezone(UTC)


#: A location summary is a few public words, never an address: longer text belongs in the venue.
MAX_LOCATION = 100


def clean_location(text: str) -> str:
    """The public location summary on one line (it is written into subjects and calendar
    entries), refused when it is long enough to be a venue."""
    cleaned = " ".join(text.split())
    if len(cleaned) > MAX_LOCATION:
        raise InvalidInput(
            f"Keep the location to {MAX_LOCATION} characters, e.g. 'London and online'. The full "
            "address goes in the venue, which only in-person delegates see.",
            field="location",
        )
    return cleaned


def refuse_past_start(starts: datetime, now: datetime | None = None) -> None:
    """A meeting is set up (or moved) only to a time still to come: invitations to a past one
    would ask people to answer for what is over."""
    if starts <= (now or utcnow()):
        raise InvalidInput(
            "The start is in the past. Give a date and time still to come.", field="starts_at"
        )


def create_meeting(
    session: Session,
    *,
    list_slug: str,
    title: str,
    starts_at: str | datetime,
    ends_at: str | datetime,
    timezone_name: str = "Europe/London",
    format: str = "hybrid",
    venue: str = "",
    dial_in: str = "",
    description: str = "",
    location: str = "",
    capacity: int | None = None,
    rsvp_deadline: str | datetime | None = None,
    status: str = "published",
    actor: str,
) -> Meeting:
    """Create a meeting for a list; times without a zone are read in ``timezone_name``."""
    title = title.strip()
    if not title:
        raise InvalidInput("Give the meeting a title.", field="title")
    try:
        ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"'{timezone_name}' is not a known time zone (e.g. Europe/London).", field="timezone"
        ) from None
    try:
        meeting_format = MeetingFormat(format)
    except ValueError:
        raise InvalidInput("Format must be in_person, remote or hybrid.", field="format") from None
    try:
        meeting_status = MeetingStatus(status)
    except ValueError:
        raise InvalidInput(
            "Status must be draft, published or cancelled.", field="status"
        ) from None
    starts = parse_local_datetime(starts_at, timezone_name, "starts_at")
    ends = parse_local_datetime(ends_at, timezone_name, "ends_at")
    if ends <= starts:
        raise InvalidInput("The meeting must end after it starts.", field="ends_at")
    refuse_past_start(starts)
    deadline = (
        parse_local_datetime(rsvp_deadline, timezone_name, "rsvp_deadline")
        if rsvp_deadline
        else None
    )
    if deadline is not None and deadline > ends:
        raise InvalidInput(
            "The RSVP deadline must be before the meeting ends.", field="rsvp_deadline"
        )
    if capacity is not None and capacity < 0:
        raise InvalidInput("Capacity cannot be negative.", field="capacity")
    if (
        meeting_format is not MeetingFormat.REMOTE
        and not venue.strip()
        and meeting_status is MeetingStatus.PUBLISHED
    ):
        raise InvalidInput("An in-person or hybrid meeting needs a venue.", field="venue")
    with transaction(session):
        mailing_list = get_list(session, list_slug)
        meeting = Meeting(
            mailing_list=mailing_list,
            title=title,
            description=description.strip(),
            location=clean_location(location),
            starts_at=starts,
            ends_at=ends,
            timezone=timezone_name,
            format=meeting_format,
            venue=venue.strip(),
            dial_in=dial_in.strip(),
            capacity=capacity,
            rsvp_deadline=deadline,
            status=meeting_status,
        )
        session.add(meeting)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="meeting.create",
            target=f"meeting:{meeting.id}",
            list=mailing_list.id,
        )
    return meeting


_NEXT_MEETING = (
    select(Meeting)
    .where(
        Meeting.list_id == bindparam("list_id"),
        Meeting.status == MeetingStatus.PUBLISHED,
        Meeting.ends_at > bindparam("now"),
    )
    .order_by(Meeting.starts_at)
    .limit(1)
)


def next_meeting(session: Session, list_id: int, now: datetime | None = None) -> Meeting | None:
    """The list's next published meeting that has not ended (within the caller's transaction)."""
    return session.scalar(_NEXT_MEETING, {"list_id": list_id, "now": now or utcnow()})


_UPCOMING_MEETINGS = (
    select(Meeting)
    .where(
        Meeting.list_id == bindparam("list_id"),
        Meeting.status == MeetingStatus.PUBLISHED,
        Meeting.ends_at > bindparam("now"),
    )
    .order_by(Meeting.starts_at)
)


def meeting_asked_about(
    session: Session,
    list_id: int,
    *,
    meeting_id: int | None = None,
    text: str = "",
    declining: bool = False,
    now: datetime | None = None,
) -> Meeting | list[Meeting]:
    """The meeting an emailed answer is about (within the caller's transaction), or the meetings
    to ask the sender to choose from (an empty list: there is none).

    ``meeting_id`` is the meeting of the message being answered: a reply to an
    invitation is about that meeting, whichever comes first, unless the
    words of its request name another (then that one) or several (then the
    sender is asked). A fresh message
    is about the list's one meeting taking answers, or the one its ``text``
    names (:func:`mailer.domain.meeting_names.meetings_named`; ``declining``
    for a decline); naming none, or several, the sender is asked.
    A meeting whose deadline has passed is offered only when no other is
    open, so that the refusal says why.
    """
    now = now or utcnow()
    answered = session.get(Meeting, meeting_id) if meeting_id is not None else None
    if answered is not None and answered.list_id != list_id:
        answered = None
    upcoming = list(session.scalars(_UPCOMING_MEETINGS, {"list_id": list_id, "now": now}))
    taking_answers = [m for m in upcoming if m.rsvp_deadline is None or m.rsvp_deadline > now]
    candidates = taking_answers or upcoming[:1]
    if answered is not None and answered not in candidates:
        candidates = [answered, *candidates]
    if len(candidates) <= 1:
        return candidates[0] if candidates else []
    nameable = [
        NameableMeeting(m.id, m.title, m.starts_at.astimezone(ZoneInfo(m.timezone)).date())
        for m in candidates
    ]
    # A reply is about its message's meeting unless its own words name others in its request.
    named = meetings_named(text, nameable, declining=declining, anywhere=answered is None)
    if len(named) == 1:
        return next(m for m in candidates if m.id == named[0])
    if not named and answered is not None:
        return answered
    return candidates


def list_meetings(
    session: Session, list_slug: str | None = None, *, list_ids: Collection[int] | None = None
) -> list[Meeting]:
    """Meetings, latest first: of one list (``list_slug``), of some (``list_ids``), or all."""
    with read_transaction(session):
        query = (
            select(Meeting)
            .options(joinedload(Meeting.mailing_list))
            .order_by(Meeting.starts_at.desc())
        )
        if list_slug:
            query = query.where(Meeting.list_id == get_list(session, list_slug).id)
        if list_ids is not None:
            query = query.where(Meeting.list_id.in_(list(list_ids)))
        return list(session.scalars(query))


@dataclass(frozen=True)
class Attendee:
    email: str
    display_name: str | None
    response: RsvpResponse
    mode: AttendanceMode | None
    source: str
    updated_at: datetime
    waitlisted_at: datetime | None = None
    access_needs: str | None = None
    #: Set while an in-person place is held for this waiting person (until then).
    offered_until: datetime | None = None

    @property
    def waitlisted(self) -> bool:
        return self.waitlisted_at is not None

    @property
    def status(self) -> Status:
        return status_of(self.response, self.mode, self.waitlisted)


@dataclass(frozen=True)
class AttendeeReport:
    meeting: Meeting
    attendees: list[Attendee]

    @property
    def in_person(self) -> int:
        return sum(
            1
            for a in self.attendees
            if a.response is RsvpResponse.ATTENDING
            and a.mode is AttendanceMode.IN_PERSON
            and not a.waitlisted
        )

    @property
    def waitlist(self) -> int:
        return sum(1 for a in self.attendees if a.waitlisted)

    @property
    def held(self) -> int:
        """In-person places held for people waiting: not free, though nobody has them yet."""
        return sum(1 for a in self.attendees if a.waitlisted and a.offered_until is not None)

    @property
    def remote(self) -> int:
        return sum(
            1
            for a in self.attendees
            if a.response is RsvpResponse.ATTENDING and a.mode is AttendanceMode.REMOTE
        )

    @property
    def undecided(self) -> int:
        return sum(
            1 for a in self.attendees if a.response is RsvpResponse.ATTENDING and a.mode is None
        )

    @property
    def declined(self) -> int:
        return sum(1 for a in self.attendees if a.response is RsvpResponse.DECLINED)

    def as_dict(self) -> dict[str, object]:
        return {
            "meeting": {
                "id": self.meeting.id,
                "title": self.meeting.title,
                "starts_at": self.meeting.starts_at.isoformat(),
                "ends_at": self.meeting.ends_at.isoformat(),
            },
            "counts": {
                "in_person": self.in_person,
                "remote": self.remote,
                "undecided": self.undecided,
                "declined": self.declined,
                "waitlist": self.waitlist,
            },
            "attendees": [
                {
                    "email": a.email,
                    "name": a.display_name,
                    "response": a.response.value,
                    "mode": a.mode.value if a.mode else None,
                    "source": a.source,
                    "waitlisted": a.waitlisted,
                    "updated_at": a.updated_at.isoformat(),
                    "access_needs": a.access_needs,
                }
                for a in self.attendees
            ],
        }


def attendee_report(session: Session, meeting_id: int) -> AttendeeReport:
    with read_transaction(session):
        meeting = session.get(Meeting, meeting_id, options=[joinedload(Meeting.mailing_list)])
        if meeting is None:
            raise NotFound("There is no such meeting.")
        rows = session.execute(
            select(
                Person.email,
                Person.display_name,
                Rsvp.response,
                Rsvp.mode,
                Rsvp.source,
                Rsvp.updated_at,
                Rsvp.waitlisted_at,
                Rsvp.access_needs,
                Rsvp.offered_until,
            )
            .join(Rsvp, Rsvp.person_id == Person.id)
            .where(Rsvp.meeting_id == meeting_id)
            .order_by(Rsvp.updated_at)
        )
        return AttendeeReport(meeting, [Attendee(*row) for row in rows])


MAX_OCCURRENCES = 24


_WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def repeat_rule(first_start_local: datetime, *, every_months: int, same: str) -> str:
    """The RFC 5545 rule for "every ``every_months`` months" from a first meeting: on the same
    date of the month (``same="date"``), or on the same weekday of it (``same="weekday"``: the
    second Thursday, or the last Thursday when the first falls in the month's last week, as
    a quarterly forum is often set)."""
    if every_months < 1:
        raise InvalidInput("Choose how often it repeats.", field="repeats")
    rule = f"FREQ=MONTHLY;INTERVAL={every_months}"
    if same == "date":
        return rule
    day = first_start_local.day
    days_in_month = calendar.monthrange(first_start_local.year, first_start_local.month)[1]
    nth = -1 if day + 7 > days_in_month else (day - 1) // 7 + 1
    return f"{rule};BYDAY={nth}{_WEEKDAYS[first_start_local.weekday()]}"


def occurrences(first_start_local: datetime, rrule: str, count: int) -> list[datetime]:
    """Start times of a series in local wall-clock time (naive), so 14:00 stays 14:00 across DST."""
    from dateutil.rrule import rrulestr

    text = rrule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text or "\n" in text:
        raise InvalidInput("Give a recurrence rule such as FREQ=MONTHLY;INTERVAL=3.", field="rrule")
    try:
        rule = rrulestr(text, dtstart=first_start_local.replace(tzinfo=None))
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"That recurrence rule is not valid: {exc}", field="rrule") from None
    found: list[datetime] = []
    for start in rule:
        found.append(start)
        if len(found) >= min(count, MAX_OCCURRENCES):
            break
    if not found:
        raise InvalidInput("That recurrence rule produces no meetings.", field="rrule")
    return found


def create_series(
    session: Session,
    *,
    list_slug: str,
    title: str,
    starts_at: str | datetime,
    ends_at: str | datetime,
    rrule: str,
    count: int = 4,
    timezone_name: str = "Europe/London",
    format: str = "hybrid",
    venue: str = "",
    dial_in: str = "",
    description: str = "",
    location: str = "",
    capacity: int | None = None,
    deadline_days_before: int | None = None,
    actor: str,
) -> list[Meeting]:
    """A recurring meeting: the series and its next ``count`` occurrences, each a meeting of its
    own."""
    from mailer.domain.models import MeetingSeries

    try:
        zone = ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"'{timezone_name}' is not a known time zone (e.g. Europe/London).", field="timezone"
        ) from None
    first_start = parse_local_datetime(starts_at, timezone_name, "starts_at").astimezone(zone)
    first_end = parse_local_datetime(ends_at, timezone_name, "ends_at").astimezone(zone)
    duration = first_end - first_start
    if duration.total_seconds() <= 0:
        raise InvalidInput("The meeting must end after it starts.", field="ends_at")
    starts = occurrences(first_start, rrule, count)
    with transaction(session):
        mailing_list = get_list(session, list_slug)
        series = MeetingSeries(list_id=mailing_list.id, title=title.strip(), rrule=rrule.strip())
        session.add(series)
        session.flush()
        audit.record(
            session, actor=actor, action="series.create", target=f"series:{series.id}", rrule=rrule
        )
    created = []
    for local_start in starts:
        start = local_start.replace(tzinfo=zone)
        deadline = (
            start - timedelta(days=deadline_days_before)
            if deadline_days_before is not None
            else None
        )
        meeting = create_meeting(
            session,
            list_slug=list_slug,
            title=title,
            starts_at=start,
            ends_at=(start + duration),
            timezone_name=timezone_name,
            format=format,
            venue=venue,
            dial_in=dial_in,
            description=description,
            location=location,
            capacity=capacity,
            rsvp_deadline=deadline,
            actor=actor,
        )
        with transaction(session):
            session.get_one(Meeting, meeting.id).series_id = series.id
        created.append(meeting)
    return created


@dataclass(frozen=True)
class MeetingFigures:
    """Counts only: what a public website may show."""

    meeting: Meeting
    counts: dict[str, int]
    places_left: int | None


def _figures(session: Session, meeting: Meeting) -> MeetingFigures:
    rows = session.execute(
        select(
            Rsvp.response,
            Rsvp.mode,
            Rsvp.waitlisted_at.is_not(None),
            Rsvp.offered_until.is_not(None),
        ).where(Rsvp.meeting_id == meeting.id)
    ).all()
    counts = {"in_person": 0, "remote": 0, "undecided": 0, "declined": 0, "waitlist": 0}
    held = 0  # places held for someone waiting: not free, though nobody has them yet
    for response, mode, waitlisted, offered in rows:
        if response is RsvpResponse.DECLINED:
            counts["declined"] += 1
        elif waitlisted:
            counts["waitlist"] += 1
            held += offered
        elif mode is None:
            counts["undecided"] += 1
        else:
            counts[mode.value] += 1
    left = (
        None if meeting.capacity is None else max(0, meeting.capacity - counts["in_person"] - held)
    )
    return MeetingFigures(meeting, counts, left)


def upcoming_meetings(session: Session) -> list[MeetingFigures]:
    with read_transaction(session):
        meetings = session.scalars(
            select(Meeting)
            .options(joinedload(Meeting.mailing_list))
            .where(
                Meeting.status.in_([MeetingStatus.PUBLISHED, MeetingStatus.CANCELLED]),
                Meeting.ends_at > utcnow(),
            )
            .order_by(Meeting.starts_at)
        ).all()
        return [_figures(session, m) for m in meetings]


def meeting_figures(session: Session, meeting_id: int) -> MeetingFigures:
    with read_transaction(session):
        meeting = session.get(Meeting, meeting_id, options=[joinedload(Meeting.mailing_list)])
        if meeting is None or meeting.status is MeetingStatus.DRAFT:
            raise NotFound("There is no such meeting.")
        return _figures(session, meeting)


def lock_meeting(session: Session, meeting_id: int) -> Meeting:
    """Within the caller's transaction: the meeting (with its list), row-locked on PostgreSQL so
    that changes, sends and the handing out of its places happen one at a time."""
    meeting = session.scalar(
        select(Meeting)
        .options(joinedload(Meeting.mailing_list))
        .where(Meeting.id == meeting_id)
        .with_for_update(of=Meeting)
    )
    if meeting is None:
        raise NotFound("There is no such meeting.")
    return meeting


class CalendarTarget(NamedTuple):
    """What a calendar reply is checked against: the meeting's list and its invitation's
    current iCalendar SEQUENCE."""

    list_slug: str
    sequence: int


def calendar_target(session: Session, meeting_id: int) -> CalendarTarget | None:
    """The list a meeting belongs to and its current SEQUENCE; None when there is no such
    meeting."""
    with read_transaction(session):
        row = session.execute(
            select(MailingList.slug, Meeting.sequence)
            .join(Meeting, Meeting.list_id == MailingList.id)
            .where(Meeting.id == meeting_id)
        ).one_or_none()
    return CalendarTarget(row.slug, row.sequence) if row else None


def publish_meeting(session: Session, meeting_id: int, *, published: bool, actor: str) -> Meeting:
    """Publish a draft meeting (it then takes answers and can be invited to), or take a published
    one back to draft while no one has been invited or has answered. Cancelled meetings stay
    cancelled."""
    with transaction(session):
        meeting = session.scalar(select(Meeting).where(Meeting.id == meeting_id).with_for_update())
        if meeting is None:
            raise NotFound("There is no such meeting.")
        if meeting.status is MeetingStatus.CANCELLED:
            raise InvalidInput("This meeting has been cancelled.", field="status")
        wanted = MeetingStatus.PUBLISHED if published else MeetingStatus.DRAFT
        if meeting.status is wanted:
            return meeting
        if not published:
            answered = session.scalar(select(Rsvp.id).where(Rsvp.meeting_id == meeting.id).limit(1))
            if meeting.invited_at is not None or answered is not None:
                raise InvalidInput(
                    "People have been invited or have answered, so this meeting cannot go back "
                    "to draft. Change it, or cancel it, instead.",
                    field="status",
                )
        meeting.status = wanted
        audit.record(
            session,
            actor=actor,
            action="meeting.publish" if published else "meeting.unpublish",
            target=f"meeting:{meeting.id}",
        )
        return meeting
