"""Calendar replies (RFC 5546 iTIP METHOD:REPLY, as Outlook and Google send them on Accept/Decline)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message

from icalendar import Calendar

from mailer.domain.models import AttendanceMode, RsvpResponse

#: Our meetings' UIDs: meeting-<id>@<mail domain>.
_UID = re.compile(r"^meeting-(\d+)@(.+)$", re.I)


@dataclass(frozen=True)
class CalendarReply:
    meeting_id: int
    attendee: str
    partstat: str

    @property
    def response(self) -> tuple[RsvpResponse, AttendanceMode | None] | None:
        """ACCEPTED and DECLINED change the RSVP; TENTATIVE and others are left to a person."""
        if self.partstat == "ACCEPTED":
            return RsvpResponse.ATTENDING, None
        if self.partstat == "DECLINED":
            return RsvpResponse.DECLINED, None
        return None


def meeting_uid(meeting_id: int, domain: str) -> str:
    return f"meeting-{meeting_id}@{domain}"


def read_calendar_reply(raw: bytes | Message, domain: str) -> CalendarReply | None:
    """The iTIP REPLY in a message (raw or already parsed), if it is one for one of our meetings."""
    try:
        message = message_from_bytes(raw, policy=policy.default) if isinstance(raw, bytes) else raw
        parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
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
            match = _UID.match(str(event.get("UID", "")))
            if not match or match.group(2).lower() != domain.lower():
                continue
            attendee = event.get("ATTENDEE")
            if isinstance(attendee, list):
                attendee = attendee[0] if attendee else None
            if attendee is None:
                continue
            email = str(attendee)
            email = email[7:] if email.lower().startswith("mailto:") else email
            partstat = str(getattr(attendee, "params", {}).get("PARTSTAT", "")).upper()
            return CalendarReply(int(match.group(1)), email.strip(), partstat)
    return None
