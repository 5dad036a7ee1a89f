"""The UID of a meeting's calendar event (RFC 5545), written in invitations and read in replies.

One stable UID per meeting, so calendar clients treat every update (a
higher SEQUENCE) and a CANCEL as the same event, and their iTIP REPLY names
the meeting it answers.
"""

from __future__ import annotations

import re

_UID = re.compile(r"^meeting-(\d+)@(.+)$", re.IGNORECASE)


def meeting_uid(meeting_id: int, domain: str) -> str:
    return f"meeting-{meeting_id}@{domain}"


def meeting_id_of_uid(uid: str, domain: str) -> int | None:
    """The meeting a UID of ours names, or None when it is not one of ours (another domain,
    another shape): the inverse of :func:`meeting_uid`."""
    match = _UID.match(uid.strip())
    if match is None or match.group(2).lower() != domain.lower():
        return None
    return int(match.group(1))
