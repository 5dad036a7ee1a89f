"""iCalendar invitations (RFC 5545 / 5546 iTIP, sent by email per RFC 6047).

One VEVENT per meeting with a stable UID, so Outlook and Google treat every
later message (an update with a higher SEQUENCE, a CANCEL) as the same
event, and their Accept / Decline replies come back to the list address.
Times are written in UTC, which every client converts correctly across
daylight saving. The venue is private: the invitation does not carry it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from icalendar import Alarm, Calendar, Event, vCalAddress, vText

from mailer.domain.models import Meeting, Person, utcnow
from mailer.mail import calendar_uid


def meeting_uid(meeting: Meeting, domain: str) -> str:
    return calendar_uid.meeting_uid(meeting.id, domain)


def build_ics(
    meeting: Meeting,
    *,
    person: Person,
    organiser_address: str,
    organiser_name: str,
    domain: str,
    method: str = "REQUEST",
    now: datetime | None = None,
    alarm_minutes: int = 0,
    partstat: str = "NEEDS-ACTION",
) -> str:
    """A METHOD:REQUEST (or CANCEL) calendar for one attendee; a request reminds them
    ``alarm_minutes`` before the start (RFC 5545 VALARM), when that is more than 0."""
    calendar = Calendar()
    calendar.add("prodid", "-//Convene//Meetings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", meeting_uid(meeting, domain))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", now or utcnow())
    event.add("dtstart", meeting.starts_at)
    event.add("dtend", meeting.ends_at)
    event.add("summary", meeting.title)
    if meeting.description:
        event.add("description", meeting.description)
    event.add(
        "location",
        meeting.location
        or {
            "remote": "Online (joining details sent to registered delegates)",
            "in_person": "Venue details sent to registered delegates",
            "hybrid": "In person or online (details sent to registered delegates)",
        }[meeting.format.value],
    )
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{organiser_address}")
    organizer.params["cn"] = vText(organiser_name)
    event.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{person.email}")
    # What they already answered stays in their calendar (an update must not ask them again).
    attendee.params.update(
        {
            "role": vText("REQ-PARTICIPANT"),
            "partstat": vText(partstat),
            "rsvp": vText("TRUE" if partstat == "NEEDS-ACTION" and method != "CANCEL" else "FALSE"),
        }
    )
    if person.display_name:
        attendee.params["cn"] = vText(person.display_name)
    event.add("attendee", attendee)
    if alarm_minutes > 0 and method == "REQUEST":
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", meeting.title)
        alarm.add("trigger", -timedelta(minutes=alarm_minutes))
        event.add_component(alarm)
    calendar.add_component(event)
    return calendar.to_ical().decode("utf-8")


@dataclass(frozen=True)
class CalendarSummary:
    """What a calendar part of one of our emails does to the recipient's calendar."""

    method: str
    title: str
    starts_at: datetime | None
    ends_at: datetime | None
    location: str
    sequence: int
    alarm: bool


def calendar_summary(ics: bytes) -> CalendarSummary | None:
    """A calendar part read back (for the dev mailbox); None when it cannot be read."""
    try:
        calendar = Calendar.from_ical(ics)
        event = calendar.walk("VEVENT")[0]
    except (ValueError, IndexError, KeyError):
        return None

    def when(name: str) -> datetime | None:
        value = event.get(name)
        return value.dt if value is not None and isinstance(value.dt, datetime) else None

    return CalendarSummary(
        str(calendar.get("METHOD", "")),
        str(event.get("SUMMARY", "")),
        when("DTSTART"),
        when("DTEND"),
        str(event.get("LOCATION", "")),
        int(event.get("SEQUENCE", 0)),
        bool(event.walk("VALARM")),
    )
