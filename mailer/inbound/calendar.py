"""Calendar replies (RFC 5546 iTIP METHOD:REPLY, as Outlook and Google send them on
Accept/Decline)."""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message

from icalendar import Calendar

from mailer.domain.models import AttendanceMode, RsvpResponse
from mailer.mail.calendar_uid import meeting_id_of_uid


@dataclass(frozen=True)
class CalendarReply:
    meeting_id: int
    attendee: str
    partstat: str
    #: The version of the invitation answered (RFC 5545 SEQUENCE); None when the client did not
    #: say, so the reply cannot be judged stale.
    sequence: int | None = None

    @property
    def response(self) -> tuple[RsvpResponse, AttendanceMode | None] | None:
        """ACCEPTED and DECLINED change the RSVP; TENTATIVE and others are left to a person."""
        if self.partstat == "ACCEPTED":
            return RsvpResponse.ATTENDING, None
        if self.partstat == "DECLINED":
            return RsvpResponse.DECLINED, None
        return None


_CALENDAR_TYPES = {"text/calendar", "application/ics", "text/x-vcalendar"}


def _is_calendar(part: Message) -> bool:
    """A calendar part: inline, as Outlook and Google send replies, or attached as a file (an
    ``.ics`` sent as ``application/octet-stream`` by clients that attach the reply instead)."""
    filename = (part.get_filename() or "").lower()
    return part.get_content_type() in _CALENDAR_TYPES or filename.endswith((".ics", ".ical"))


def read_calendar_reply(raw: bytes | Message, domain: str) -> CalendarReply | None:
    """The iTIP REPLY in a message (raw or already parsed), if it is one for one of our meetings."""
    try:
        message = message_from_bytes(raw, policy=policy.default) if isinstance(raw, bytes) else raw
        parts = [p for p in message.walk() if _is_calendar(p)]
    except Exception:
        return None
    for part in parts:
        try:
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes):
                continue
            calendar = Calendar.from_ical(payload)
        except Exception:  # a broken calendar part is simply not a reply we can use
            continue
        if str(calendar.get("METHOD", "")).upper() != "REPLY":
            continue
        for event in calendar.walk("VEVENT"):
            meeting_id = meeting_id_of_uid(str(event.get("UID", "")), domain)
            if meeting_id is None:
                continue
            attendee = event.get("ATTENDEE")
            if isinstance(attendee, list):
                attendee = attendee[0] if attendee else None
            if attendee is None:
                continue
            email = str(attendee)
            email = email[7:] if email.lower().startswith("mailto:") else email
            partstat = str(getattr(attendee, "params", {}).get("PARTSTAT", "")).upper()
            try:
                sequence = int(str(event["SEQUENCE"])) if "SEQUENCE" in event else None
            except ValueError:
                sequence = None
            return CalendarReply(meeting_id, email.strip(), partstat, sequence)
    return None
