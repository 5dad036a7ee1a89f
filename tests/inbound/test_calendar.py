"""iTIP REPLY parsing: our UIDs only, PARTSTAT mapped, anything else left to a person."""

from __future__ import annotations

from mailer.domain.models import RsvpResponse
from mailer.inbound.calendar import read_calendar_reply
from mailer.mail.calendar_uid import meeting_uid


def reply(partstat: str, uid: str = "meeting-7@lists.test", method: str = "REPLY") -> bytes:
    ics = (
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:{method}\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
        f"DTSTAMP:20260302T100000Z\r\nATTENDEE;PARTSTAT={partstat}:mailto:Sam@Example.org\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )
    return (
        b"From: sam@example.org\r\nContent-Type: text/calendar; method="
        + method.encode()
        + b"; charset=utf-8\r\n\r\n"
        + ics.encode()
    )


def test_accept_decline_tentative() -> None:
    accepted = read_calendar_reply(reply("ACCEPTED"), "lists.test")
    assert accepted is not None and (accepted.meeting_id, accepted.attendee) == (
        7,
        "Sam@Example.org",
    )
    assert accepted.response == (RsvpResponse.ATTENDING, None)
    assert read_calendar_reply(reply("DECLINED"), "lists.test").response == (
        RsvpResponse.DECLINED,
        None,
    )
    assert read_calendar_reply(reply("TENTATIVE"), "lists.test").response is None


def test_only_replies_for_our_meetings() -> None:
    assert meeting_uid(7, "lists.test") == "meeting-7@lists.test"
    assert (
        read_calendar_reply(reply("ACCEPTED", uid="meeting-7@elsewhere.example"), "lists.test")
        is None
    )
    assert read_calendar_reply(reply("ACCEPTED", uid="abc123@lists.test"), "lists.test") is None
    assert read_calendar_reply(reply("ACCEPTED", method="REQUEST"), "lists.test") is None
    assert (
        read_calendar_reply(
            b"Content-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\ngarbage", "lists.test"
        )
        is None
    )


def test_a_reply_sent_only_as_an_attached_ics_file_is_read() -> None:
    ics = reply("DECLINED").split(b"\r\n\r\n", 1)[1]
    import base64

    raw = (
        b"From: sam@example.org\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n"
        b'--b1\r\nContent-Type: application/octet-stream; name="reply.ics"\r\n'
        b'Content-Disposition: attachment; filename="reply.ics"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(ics) + b"--b1--\r\n"
    )
    found = read_calendar_reply(raw, "lists.test")
    assert found is not None and found.response == (RsvpResponse.DECLINED, None)
