"""Reading bounces: RFC 3464 reports, and the non-standard shapes flufl.bounce knows."""

from __future__ import annotations

from mailer.domain.models import BounceKind
from mailer.inbound.dsn import read_dsn


def report(action: str, status: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.org\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nNot delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; "
        "mx.example.org\r\n\r\n"
        f"Final-Recipient: rfc822; gone@example.org\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"\r\n--B--\r\n"
    ).encode()


def test_rfc3464_hard_and_soft() -> None:
    hard = read_dsn(report("failed", "5.1.1"))
    assert (hard.kind, hard.status) == (BounceKind.HARD, "5.1.1")
    soft = read_dsn(report("delayed", "4.4.7"))
    assert (soft.kind, soft.status) == (BounceKind.SOFT, "4.4.7")


def test_non_standard_bounce_with_a_status_in_the_text() -> None:
    raw = (
        b"From: postmaster@old.example\r\nSubject: failure notice\r\n\r\n"
        b"Sorry, we were unable to deliver your message to gone@example.org: 550 5.1.1 mailbox "
        b"unavailable\r\n"
    )
    assert read_dsn(raw).kind is BounceKind.HARD


def test_unknown_shape_is_soft() -> None:
    assert (
        read_dsn(b"From: someone@example.org\r\n\r\nI am on holiday.\r\n").kind is BounceKind.SOFT
    )
