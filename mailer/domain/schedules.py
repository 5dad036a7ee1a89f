"""Meetings that run themselves: the agenda a week before, a reminder the day before,
updates when time or place change, and cancellation.

Private details go only where they belong: the venue to in-person delegates,
the dial-in to remote ones (both to a registered delegate who has not yet
said how they will attend). Each scheduled send is claimed with a row lock
and marked in the same transaction that queues its messages, so it happens
exactly once across restarts and any number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session, joinedload

from mailer.db import read_transaction, transaction
from mailer.domain import audit
from mailer.domain.attachments import attachment_ids
from mailer.domain.errors import InvalidInput, NotFound
from mailer.domain.formatted_text import markdown_to_html, markdown_to_text
from mailer.domain.icalendar_invites import build_ics
from mailer.domain.links import RSVP_CHOICES
from mailer.domain.meetings import (
    clean_location,
    in_person_full,
    lock_meeting,
    parse_local_datetime,
    refuse_past_start,
)
from mailer.domain.models import (
    AttendanceMode,
    Meeting,
    MeetingFormat,
    MeetingStatus,
    OutboxMessage,
    Person,
    Rsvp,
    RsvpResponse,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from mailer.domain.outbox import enqueue, list_envelope
from mailer.domain.people import sample_member
from mailer.domain.services import Services
from mailer.rendering import RenderedEmail, counted


@dataclass(frozen=True)
class Details:
    """What one delegate may be told about where the meeting is."""

    venue: str
    dial_in: str


def details_for(meeting: Meeting, mode: AttendanceMode | None) -> Details:
    """What a delegate is told of where to go: the venue to those with an in-person place, the
    joining details to those joining remotely. Someone registered without saying how holds no
    place, so is told neither (they are asked to choose) unless the meeting is only online."""
    if mode is None and meeting.format is MeetingFormat.REMOTE:
        mode = AttendanceMode.REMOTE
    in_person = meeting.format is not MeetingFormat.REMOTE and mode is AttendanceMode.IN_PERSON
    remote = meeting.format is not MeetingFormat.IN_PERSON and mode is AttendanceMode.REMOTE
    return Details(meeting.venue if in_person else "", meeting.dial_in if remote else "")


def _delegates(session: Session, meeting: Meeting) -> list[tuple[Person, Rsvp]]:
    """Those with a place, or registered without saying how (not those waiting for one)."""
    return _attending(session, meeting, waiting=False)


def _attending(session: Session, meeting: Meeting, *, waiting: bool) -> list[tuple[Person, Rsvp]]:
    """Who answered that they are coming: with a place (``waiting`` False) or waiting for one."""
    rows = session.execute(
        select(Person, Rsvp)
        .join(Rsvp, Rsvp.person_id == Person.id)
        .where(
            Rsvp.meeting_id == meeting.id,
            Rsvp.response == RsvpResponse.ATTENDING,
            Rsvp.waitlisted_at.is_not(None) if waiting else Rsvp.waitlisted_at.is_(None),
        )
        .order_by(Person.id)
    ).all()
    return [(person, rsvp) for person, rsvp in rows]


def send_details(
    session: Session,
    services: Services,
    meeting: Meeting,
    person: Person,
    rsvp: Rsvp,
    kind: str = "meeting_details",
    now: datetime | None = None,
) -> None:
    """Within the caller's transaction: one delegate's agenda (or reminder) with their own
    details."""
    enqueue(
        session,
        services,
        kind=kind,
        person=person,
        sender=list_envelope(services, meeting.mailing_list),
        context={
            "meeting": meeting,
            "details": details_for(meeting, rsvp.mode),
            "mode": rsvp.mode.value if rsvp.mode else None,
            "in_person_full": in_person_full(session, meeting),
            "agenda_html": markdown_to_html(meeting.agenda) if meeting.agenda else "",
            "agenda_text": markdown_to_text(meeting.agenda),
            "links": services.links.rsvp_urls(person, meeting),
            "day": day_words(meeting, now or utcnow()),
        },
        attachments=attachment_ids(session, meeting.id) if kind == "meeting_details" else None,
    )


def catch_up(
    session: Session, services: Services, meeting: Meeting, person: Person, rsvp: Rsvp
) -> None:
    """Within the caller's transaction: a delegate given a place after the agenda or the reminder
    went out gets at once what the others had, so nobody is left without their details because
    of when they registered. The agenda carries everything the reminder does, so it is the one
    sent when both have gone."""
    now = utcnow()
    if meeting.ends_at <= now:
        return
    if meeting.agenda_sent_at is not None:
        send_details(session, services, meeting, person, rsvp, "meeting_details", now)
    elif meeting.reminder_sent_at is not None:
        send_details(session, services, meeting, person, rsvp, "meeting_reminder", now)


def day_words(meeting: Meeting, now: datetime) -> str:
    """When the meeting is, as a reminder says it: "today", "tomorrow" or "on Friday 6 March",
    by the calendar of the meeting's own time zone."""
    zone = ZoneInfo(meeting.timezone)
    day = meeting.starts_at.astimezone(zone).date()
    ahead = (day - now.astimezone(zone).date()).days
    if ahead <= 0:
        return "today"
    if ahead == 1:
        return "tomorrow"
    return f"on {day.strftime('%A')} {day.day} {day.strftime('%B')}"


def send_due_schedules(
    session: Session, services: Services, now: datetime | None = None
) -> list[str]:
    """Worker step: every agenda and reminder whose time has come, each exactly once."""
    now = now or utcnow()
    done: list[str] = []
    for kind, column in (
        ("meeting_details", Meeting.agenda_sent_at),
        ("meeting_reminder", Meeting.reminder_sent_at),
    ):
        while True:
            with transaction(session):
                condition = and_(
                    Meeting.status == MeetingStatus.PUBLISHED,
                    column.is_(None),
                    Meeting.ends_at > now,
                )
                # Only a meeting that is due is locked: a worker (or a call with another clock)
                # that finds nothing due must not hide the rest from a concurrent call.
                candidates = session.scalars(
                    select(Meeting).where(condition).order_by(Meeting.starts_at)
                ).all()
                due = [m.id for m in candidates if _is_due(m, kind, now)]
                if not due:
                    break
                meeting = session.scalar(
                    select(Meeting)
                    .where(condition, Meeting.id.in_(due))
                    .order_by(Meeting.starts_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                    .execution_options(populate_existing=True)
                )
                if meeting is None:
                    break
                count = _send_to_delegates(session, services, meeting, kind, now, actor="system")
                done.append(f"{kind} for meeting {meeting.id} to {counted(count, 'delegate')}")
    return done


def _send_to_delegates(
    session: Session, services: Services, meeting: Meeting, kind: str, now: datetime, *, actor: str
) -> int:
    """Within the caller's transaction (which holds the meeting's row lock): the agenda or reminder
    to every delegate, marked sent in the same transaction so it can never go twice."""
    delegates = _delegates(session, meeting)
    for person, rsvp in delegates:
        send_details(session, services, meeting, person, rsvp, kind, now)
    column = Meeting.agenda_sent_at if kind == "meeting_details" else Meeting.reminder_sent_at
    setattr(meeting, column.key, now)
    audit.record(
        session,
        actor=actor,
        action=f"meeting.{kind}",
        target=f"meeting:{meeting.id}",
        recipients=len(delegates),
    )
    return len(delegates)


def send_agenda_now(
    session: Session, services: Services, meeting_id: int, *, actor: str, again: bool = False
) -> int:
    """An organiser sends the agenda (with each delegate's venue or joining details) now instead of
    on schedule; returns how many delegates. Once it has gone it goes again only when ``again``
    says so (the organiser changed it and chose to send it again), so a repeated press sends
    nobody a second copy."""
    with transaction(session):
        meeting = session.scalar(select(Meeting).where(Meeting.id == meeting_id).with_for_update())
        if meeting is None:
            raise NotFound("There is no such meeting.")
        if meeting.status is not MeetingStatus.PUBLISHED:
            raise InvalidInput("Publish the meeting before sending its agenda.")
        if meeting.agenda_sent_at is not None and not again:
            raise InvalidInput(
                "The agenda has already been sent. People who register later get it when they "
                "register; changes to time, venue or joining details are sent as updates."
            )
        if meeting.ends_at <= utcnow():
            raise InvalidInput("This meeting is over.")
        return _send_to_delegates(
            session, services, meeting, "meeting_details", utcnow(), actor=actor
        )


#: The emails of a meeting an organiser can preview, by what the panel calls them.
PREVIEWS = {
    "invitation": "Invitation",
    "agenda-in-person": "Agenda, to an in-person delegate",
    "agenda-remote": "Agenda, to a remote delegate",
    "reminder": "Reminder the day before",
    "cancellation": "Cancellation, if it is cancelled",
}


def preview_meeting_email(
    session: Session, services: Services, meeting_id: int, which: str
) -> RenderedEmail:
    """One of the meeting's emails exactly as a member gets it, for a sample member (links point
    nowhere)."""
    if which not in PREVIEWS:
        raise NotFound("There is no such email.")
    with read_transaction(session):
        meeting = session.get(Meeting, meeting_id, options=[joinedload(Meeting.mailing_list)])
        if meeting is None:
            raise NotFound("There is no such meeting.")
        sample = sample_member()
        links = {slug: f"{services.links.base_url}/rsvp/preview/{slug}" for slug in RSVP_CHOICES}
        if which == "invitation":
            return services.emails.render(
                "invitation",
                {
                    "meeting": meeting,
                    "person": sample,
                    "links": links,
                    "unsubscribe_url": f"{services.links.base_url}/u/preview",
                },
            )
        if which == "cancellation":
            return services.emails.render(
                "meeting_cancelled",
                {
                    "meeting": meeting,
                    "person": sample,
                    "reason": "(Here, the reason you give when you cancel, if you give one.)",
                    "member": True,
                },
            )
        mode = AttendanceMode.REMOTE if which == "agenda-remote" else AttendanceMode.IN_PERSON
        return services.emails.render(
            "meeting_reminder" if which == "reminder" else "meeting_details",
            {
                "meeting": meeting,
                "person": sample,
                "details": details_for(meeting, mode),
                "mode": mode.value,
                "agenda_html": markdown_to_html(meeting.agenda) if meeting.agenda else "",
                "agenda_text": markdown_to_text(meeting.agenda),
                "links": links,
                "day": "tomorrow",  # as the reminder goes out on schedule
            },
        )


def _is_due(meeting: Meeting, kind: str, now: datetime) -> bool:
    if kind == "meeting_details":
        return now >= meeting.starts_at - timedelta(days=meeting.agenda_days_before)
    return now >= meeting.starts_at - timedelta(days=1)


def set_agenda(
    session: Session, meeting_id: int, *, agenda: str, days_before: int | None = None, actor: str
) -> Meeting:
    with transaction(session):
        meeting = session.get(Meeting, meeting_id)
        if meeting is None:
            raise NotFound("There is no such meeting.")
        meeting.agenda = agenda.strip()
        if days_before is not None:
            if not 0 <= days_before <= 60:
                raise InvalidInput(
                    "Send the agenda between 0 and 60 days before.", field="days_before"
                )
            meeting.agenda_days_before = days_before
        audit.record(session, actor=actor, action="meeting.agenda", target=f"meeting:{meeting.id}")
        return meeting


def _recipients_of_changes(session: Session, meeting: Meeting) -> list[tuple[Person, Rsvp | None]]:
    """Delegates and those waiting for a place (each holds a calendar entry for the meeting), plus
    the members who were sent the invitation and have not answered (someone who joined the list
    after it went has no entry to update or cancel)."""
    out: list[tuple[Person, Rsvp | None]] = [
        *_attending(session, meeting, waiting=False),
        *_attending(session, meeting, waiting=True),
    ]
    if meeting.invited_at is not None:
        answered = select(Rsvp.person_id).where(Rsvp.meeting_id == meeting.id)
        invited = select(OutboxMessage.person_id).where(
            OutboxMessage.meeting_id == meeting.id, OutboxMessage.kind == "invitation"
        )
        waiting = session.scalars(
            select(Person)
            .join(Subscription, Subscription.person_id == Person.id)
            .where(
                Subscription.list_id == meeting.list_id,
                Subscription.status == SubscriptionStatus.ACTIVE,
                Person.id.not_in(answered),
                Person.id.in_(invited),
            )
            .order_by(Person.id)
        ).all()
        out += [(p, None) for p in waiting]
    return out


@dataclass(frozen=True)
class MeetingChanges:
    """What an organiser changes of a meeting; a detail left None stays as it is."""

    title: str | None = None
    starts_at: str | datetime | None = None
    ends_at: str | datetime | None = None
    location: str | None = None
    venue: str | None = None
    dial_in: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class UpdatePlan:
    """What a change of a meeting comes to: the details that change (as the update email names
    them) and, for each set of changes a person is told of, how many people are told it."""

    changed: list[str]
    #: By (where they stand, what they are told of): how many.
    told: dict[tuple[str, tuple[str, ...]], int]

    @property
    def people(self) -> int:
        return sum(self.told.values())


def update_meeting(
    session: Session,
    services: Services,
    meeting_id: int,
    *,
    actor: str,
    title: str | None = None,
    starts_at: str | datetime | None = None,
    ends_at: str | datetime | None = None,
    location: str | None = None,
    venue: str | None = None,
    dial_in: str | None = None,
    description: str | None = None,
) -> int:
    """Change a meeting; if time or place changed after anyone was told, tell them (SEQUENCE + 1),
    each person only of what changed for them.

    Returns how many people were emailed.
    """
    changes = MeetingChanges(title, starts_at, ends_at, location, venue, dial_in, description)
    with transaction(session):
        meeting = lock_meeting(session, meeting_id)
        changed, told = _apply_changes(session, meeting, changes)
        if not changed:
            return 0
        audit.record(
            session,
            actor=actor,
            action="meeting.update",
            target=f"meeting:{meeting.id}",
            changed=changed,
        )
        # A new version of the calendar entry, told or not: whoever gets it later (saying yes
        # after declining) must not be sent a different meeting under an old version number.
        meeting.sequence += 1
        if not told:
            return 0
        address = services.list_address(meeting.mailing_list.slug)
        had_calendar = set(session.scalars(_sent_calendar_entry(meeting.id)))
        for one in told:
            enqueue(
                session,
                services,
                kind="meeting_updated",
                person=one.person,
                sender=list_envelope(services, meeting.mailing_list),
                context={
                    "meeting": meeting,
                    "changed": one.changes,
                    "details": one.details,
                    "standing": one.standing,
                    "mode": one.mode if one.standing == "delegate" else None,
                    "waitlisted": one.standing == "waiting" and one.held_until is None,
                    "held_until": one.held_until,
                    # (a place held for them is theirs to take, however full the rest)
                    "in_person_full": one.held_until is None and in_person_full(session, meeting),
                    "links": services.links.rsvp_urls(one.person, meeting),
                    "had_calendar": one.person.id in had_calendar,
                },
                calendar=build_ics(
                    meeting,
                    person=one.person,
                    organiser_address=address,
                    organiser_name=meeting.mailing_list.name,
                    domain=services.config.mail.domain,
                    alarm_minutes=services.config.mail.calendar_alarm_minutes,
                    partstat=one.partstat,
                ),
            )
        return len(told)


def preview_update(session: Session, meeting_id: int, changes: MeetingChanges) -> UpdatePlan:
    """What ``update_meeting`` would change and whom it would tell of what, changing nothing: the
    same steps, on a session of its own whose transaction is rolled back (so nothing the caller's
    session holds is touched or expired). Refuses what it would refuse."""
    with Session(session.get_bind()) as scratch:
        try:
            with scratch.begin():
                meeting = lock_meeting(scratch, meeting_id)
                changed, told = _apply_changes(scratch, meeting, changes)
                counts: dict[tuple[str, tuple[str, ...]], int] = {}
                for one in told:
                    key = (one.standing, tuple(one.changes))
                    counts[key] = counts.get(key, 0) + 1
                raise _Preview(UpdatePlan(changed, counts))  # rolls the transaction back
        except _Preview as preview:
            return preview.plan


class _Preview(Exception):
    def __init__(self, plan: UpdatePlan) -> None:
        self.plan = plan


def _apply_changes(
    session: Session, meeting: Meeting, changes: MeetingChanges
) -> tuple[list[str], list[Told]]:
    """Within the caller's transaction: make the changes (refusing what cannot be), and say what
    changed and who is to be told what: delegates, and once invitations went out, members who
    have not answered; each only of the changes that are theirs."""
    before = _what_people_were_told(meeting)
    if changes.title is not None and changes.title.strip():
        meeting.title = changes.title.strip()
    if changes.starts_at is not None:
        meeting.starts_at = parse_local_datetime(changes.starts_at, meeting.timezone, "starts_at")
    if changes.ends_at is not None:
        meeting.ends_at = parse_local_datetime(changes.ends_at, meeting.timezone, "ends_at")
    if meeting.ends_at <= meeting.starts_at:
        raise InvalidInput("The meeting must end after it starts.", field="ends_at")
    if meeting.starts_at != before["start time"]:
        refuse_past_start(meeting.starts_at)
    if changes.location is not None:
        meeting.location = clean_location(changes.location)
    if changes.venue is not None:
        meeting.venue = changes.venue.strip()
    if changes.dial_in is not None:
        meeting.dial_in = changes.dial_in.strip()
    if changes.description is not None:
        meeting.description = changes.description.strip()
    after = _what_people_were_told(meeting)
    changed = [name for name in after if after[name] != before[name]]
    told_anyone = meeting.invited_at is not None or meeting.agenda_sent_at is not None
    if not changed or (not told_anyone and not _delegates(session, meeting)):
        return changed, []
    told = []
    for person, rsvp in _recipients_of_changes(session, meeting):
        if rsvp is None:
            standing, details = "invited", Details("", "")
        elif rsvp.waitlisted_at is not None:
            standing, details = "waiting", Details("", "")
        else:
            standing, details = "delegate", details_for(meeting, rsvp.mode)
        theirs = _changes_for(changed, details)
        if theirs:  # a new venue is nothing to someone joining online, say
            mode = rsvp.mode.value if rsvp is not None and rsvp.mode else None
            held = rsvp.offered_until if rsvp is not None else None
            told.append(Told(person, details, theirs, standing, _partstat(rsvp), mode, held))
    return changed, told


@dataclass(frozen=True)
class Told:
    """One person an update goes to: what they are given and told, and where they stand
    ("delegate", "waiting" for a place, or "invited" and not answered yet)."""

    person: Person
    details: Details
    changes: list[str]
    standing: str
    #: Their answer as their calendar should keep it (RFC 5545 PARTSTAT).
    partstat: str
    #: How a delegate attends ("in_person", "remote", or None: not said).
    mode: str | None = None
    #: Until when an in-person place is held for them, if it is.
    held_until: datetime | None = None


def _partstat(rsvp: Rsvp | None) -> str:
    """A person's answer as their calendar keeps it: accepted with a place, tentative while
    waiting for one, still to answer otherwise."""
    if rsvp is None:
        return "NEEDS-ACTION"
    if rsvp.response is RsvpResponse.DECLINED:
        return "DECLINED"
    return "TENTATIVE" if rsvp.waitlisted_at is not None else "ACCEPTED"


def calendar_entry(services: Services, meeting: Meeting, person: Person, *, partstat: str) -> str:
    """The meeting's calendar entry as it stands now, with the person's answer (``ACCEPTED``,
    ``TENTATIVE`` while waiting for a place, ``DECLINED``). Every email that confirms an answer
    carries one, so that no calendar keeps an older time or place (someone who declined, was
    told of no change since, and says yes again, has today's entry), nor an accepted meeting its
    owner said they cannot attend."""
    return build_ics(
        meeting,
        person=person,
        organiser_address=services.list_address(meeting.mailing_list.slug),
        organiser_name=meeting.mailing_list.name,
        domain=services.config.mail.domain,
        # no reminder for a meeting its owner will not attend
        alarm_minutes=0 if partstat == "DECLINED" else services.config.mail.calendar_alarm_minutes,
        partstat=partstat,
    )


def _sent_calendar_entry(meeting_id: int) -> Select[int | None]:
    """The people we have sent the meeting's calendar entry (an invitation, an update, a
    confirmation)."""
    return select(OutboxMessage.person_id).where(
        OutboxMessage.meeting_id == meeting_id, OutboxMessage.body_calendar.is_not(None)
    )


def had_calendar_entry(session: Session, meeting_id: int, person_id: int) -> bool:
    """Whether we have sent this person the meeting's calendar entry."""
    sent = _sent_calendar_entry(meeting_id).where(OutboxMessage.person_id == person_id)
    return session.scalar(sent.limit(1)) is not None


def _what_people_were_told(meeting: Meeting) -> dict[str, object]:
    """What people know of a meeting, by the name its update email gives each change (a new
    public summary changes their page and next invitation, but is emailed to no one)."""
    return {
        "title": meeting.title,
        "start time": meeting.starts_at,
        "end time": meeting.ends_at,
        "location": meeting.where,
        "venue": meeting.venue,
        "dial-in": meeting.dial_in,
        "summary": meeting.description,
    }


def _changes_for(changed: list[str], details: Details) -> list[str]:
    """What of a meeting's changes a person is told: its title, time and location, and the venue
    or the joining details only to whoever is given them. A new public summary is no news to
    email anyone about."""
    private = {"venue": details.venue, "dial-in": details.dial_in}
    return [c for c in changed if c != "summary" and (c not in private or private[c])]


def cancellation_count(session: Session, meeting_id: int) -> int:
    """How many people ``cancel_meeting`` would tell now (the count an organiser confirms)."""
    with read_transaction(session):
        meeting = session.get(Meeting, meeting_id)
        if meeting is None:
            raise NotFound("There is no such meeting.")
        if meeting.status is not MeetingStatus.PUBLISHED:
            return 0
        return len(_recipients_of_cancellation(session, meeting))


def _recipients_of_cancellation(
    session: Session, meeting: Meeting
) -> list[tuple[Person, Rsvp | None]]:
    """Whoever an update would reach, and those who said they cannot come but were sent the
    calendar entry (marked declined): the meeting goes from their calendar too."""
    with_entry = _sent_calendar_entry(meeting.id)
    declined = session.execute(
        select(Person, Rsvp)
        .join(Rsvp, Rsvp.person_id == Person.id)
        .where(
            Rsvp.meeting_id == meeting.id,
            Rsvp.response == RsvpResponse.DECLINED,
            Person.id.in_(with_entry),
        )
        .order_by(Person.id)
    ).all()
    return [*_recipients_of_changes(session, meeting), *((p, r) for p, r in declined)]


def cancel_meeting(
    session: Session, services: Services, meeting_id: int, *, actor: str, reason: str = ""
) -> int:
    """Cancel, and send everyone who was told a cancellation with METHOD:CANCEL. Returns how
    many."""
    with transaction(session):
        meeting = lock_meeting(session, meeting_id)
        if meeting.status is MeetingStatus.CANCELLED:
            return 0
        recipients = (
            _recipients_of_cancellation(session, meeting)
            if meeting.status is MeetingStatus.PUBLISHED
            else []
        )
        meeting.status = MeetingStatus.CANCELLED
        meeting.sequence += 1
        members = set(
            session.scalars(
                select(Subscription.person_id).where(
                    Subscription.list_id == meeting.list_id,
                    Subscription.status == SubscriptionStatus.ACTIVE,
                )
            )
        )
        address = services.list_address(meeting.mailing_list.slug)
        for person, rsvp in recipients:
            enqueue(
                session,
                services,
                kind="meeting_cancelled",
                person=person,
                sender=list_envelope(services, meeting.mailing_list),
                context={
                    "meeting": meeting,
                    "reason": reason.strip(),
                    "member": person.id in members,
                },
                calendar=build_ics(
                    meeting,
                    person=person,
                    organiser_address=address,
                    organiser_name=meeting.mailing_list.name,
                    domain=services.config.mail.domain,
                    method="CANCEL",
                    partstat=_partstat(rsvp),
                ),
            )
        audit.record(
            session,
            actor=actor,
            action="meeting.cancel",
            target=f"meeting:{meeting.id}",
            recipients=len(recipients),
        )
        return len(recipients)
