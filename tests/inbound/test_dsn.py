"""Reading bounces: RFC 3464 reports (only ``Action: failed`` is a bounce), the non-standard shapes
flufl.bounce knows, and what the worker records for each at the VERP address."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mailer.domain.lists import add_member
from mailer.domain.models import (
    BounceEvent,
    BounceKind,
    InboundIntent,
    InboundMessage,
    InboundStatus,
    Mailing,
    OutboxMessage,
    Subscription,
    SubscriptionStatus,
)
from mailer.domain.queue import store_inbound
from mailer.domain.services import Services
from mailer.inbound.dsn import read_dsn
from mailer.inbound.process import process_inbound
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting


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


def multi_report(*blocks: tuple[str, str], part_type: str = "message/delivery-status") -> bytes:
    """An RFC 3464 report with one per-recipient block for each (action, status)."""
    recipients = "".join(
        f"\r\nFinal-Recipient: rfc822; r{i}@example.org\r\nAction: {action}\r\nStatus: {status}\r\n"
        for i, (action, status) in enumerate(blocks)
    )
    return (
        "From: MAILER-DAEMON@mx.example.org\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nA report.\r\n"
        f"--B\r\nContent-Type: {part_type}\r\n\r\nReporting-MTA: dns; mx.example.org\r\n"
        f"{recipients}\r\n--B--\r\n"
    ).encode()


def test_only_failed_is_a_failure() -> None:
    failed = read_dsn(report("failed", "5.1.1"))
    assert (failed.action, failed.failed) == ("failed", True)
    for action, status in [
        ("delayed", "4.4.7"),
        ("delivered", "2.0.0"),
        ("relayed", "2.0.0"),
        ("expanded", "2.0.0"),
    ]:
        got = read_dsn(report(action, status))
        assert (got.action, got.failed, got.status) == (action, False, status)


def test_a_failure_after_retries_is_a_soft_failure() -> None:
    # RFC 3464 §2.3.4: 4.x.x is persistent-transient; "failed" means the MTA gave up
    got = read_dsn(report("failed", "4.4.7"))
    assert (got.action, got.failed, got.kind) == ("failed", True, BounceKind.SOFT)


def test_a_delay_with_a_permanent_looking_status_is_still_only_a_delay() -> None:
    got = read_dsn(report("delayed", "5.0.0"))
    assert (got.action, got.failed) == ("delayed", False)


def test_action_is_read_case_insensitively_and_without_comments() -> None:
    got = read_dsn(report("Failed (permanent)", "5.1.1"))
    assert (got.action, got.kind) == ("failed", BounceKind.HARD)


def test_a_missing_action_is_read_from_the_status_class() -> None:
    raw = report("failed", "5.1.1").replace(b"Action: failed\r\n", b"")
    assert read_dsn(raw).action == "failed"
    raw = report("delayed", "4.2.2").replace(b"Action: delayed\r\n", b"")
    assert read_dsn(raw).action == "delayed"


def test_the_most_serious_recipient_block_wins() -> None:
    got = read_dsn(multi_report(("relayed", "2.0.0"), ("delayed", "4.4.1"), ("failed", "5.1.1")))
    assert (got.action, got.status) == ("failed", "5.1.1")
    got = read_dsn(multi_report(("delivered", "2.0.0"), ("delayed", "4.4.1")))
    assert (got.action, got.failed) == ("delayed", False)


def test_utf8_delivery_reports() -> None:
    raw = multi_report(("failed", "5.1.1"), part_type="message/global-delivery-status")
    assert read_dsn(raw).failed


def test_an_auto_reply_to_the_return_path_is_no_failure() -> None:
    raw = (
        b"From: sam@example.org\r\nSubject: Automatic reply: Forum\r\n\r\n"
        b"I am out of the office until 16 March.\r\n"
    )
    assert not read_dsn(raw).failed


def test_a_non_standard_warning_is_no_failure() -> None:
    raw = (
        b"From: postmaster@old.example\r\nSubject: Warning: message delayed\r\n\r\n"
        b"Your message to gone@example.org has not been delivered yet (4.4.1); still trying.\r\n"
    )
    got = read_dsn(raw)
    assert (got.action, got.failed) == ("delayed", False)


# -- at the VERP address, through the worker step, on SQLite and PostgreSQL ---------------------


def _member_with_outbox_row(database: TestDatabase, token: str) -> tuple[int, int]:
    """A member of the forum list and a news message sent to them whose VERP token is ``token``:
    the subscription's person id and the outbox row's id."""
    make_list(database.sessions)
    with database.sessions() as s:
        sub = add_member(s, slug="forum", email="full@example.org", actor="test")
    with database.sessions() as s, s.begin():
        mailing = Mailing(kind="news", list_id=sub.list_id, subject="s", body_text="b", headers={})
        s.add(mailing)
        s.flush()
        row = OutboxMessage(
            kind="news",
            person_id=sub.person_id,
            recipient="full@example.org",
            sender=f"bounces+{token}@lists.test",
            message_id=f"<{token}@lists.test>",
            mailing_id=mailing.id,
        )
        s.add(row)
        s.flush()
        return sub.person_id, row.id


def _deliver_report(database: TestDatabase, services: Services, raw: bytes, token: str) -> int:
    with database.sessions() as s:
        inbound_id = store_inbound(
            s, mail_from="", rcpt_to=[f"bounces+{token}@lists.test"], raw=raw
        )
    process_inbound(database.sessions, services, inbound_id)
    return inbound_id


def test_a_failed_report_is_a_bounce_that_counts(
    database: TestDatabase, services: Services
) -> None:
    person_id, outbox_id = _member_with_outbox_row(database, "tok1")
    inbound_id = _deliver_report(database, services, report("failed", "5.1.1"), "tok1")
    with database.sessions() as s:
        row = s.get(InboundMessage, inbound_id)
        assert (row.status, row.intent) == (InboundStatus.DONE, InboundIntent.BOUNCE)
        assert f"hard bounce recorded for outbox {outbox_id} (5.1.1)" in row.outcome
        [event] = s.scalars(select(BounceEvent)).all()
        assert (event.person_id, event.kind, event.status) == (person_id, BounceKind.HARD, "5.1.1")
        assert s.scalars(select(Subscription)).one().bounce_score == 2


@pytest.mark.parametrize(
    ("action", "status"),
    [("delayed", "4.4.7"), ("delivered", "2.0.0"), ("relayed", "2.0.0"), ("expanded", "2.0.0")],
)
def test_other_reports_are_kept_in_the_outcome_and_count_for_nothing(
    database: TestDatabase, services: Services, action: str, status: str
) -> None:
    _, outbox_id = _member_with_outbox_row(database, "tok2")
    inbound_id = _deliver_report(database, services, report(action, status), "tok2")
    with database.sessions() as s:
        row = s.get(InboundMessage, inbound_id)
        assert (row.status, row.intent) == (InboundStatus.IGNORED, InboundIntent.AUTOMATED)
        assert row.outcome == (
            f"not a bounce: delivery report ({action}, {status}) for outbox {outbox_id}"
        )
        assert s.scalars(select(BounceEvent)).all() == []
        sub = s.scalars(select(Subscription)).one()
        assert (sub.bounce_score, sub.status) == (0, SubscriptionStatus.ACTIVE)
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 1  # no reply


def test_an_out_of_office_reply_to_the_return_path_counts_for_nothing(
    database: TestDatabase, services: Services
) -> None:
    _, outbox_id = _member_with_outbox_row(database, "tok3")
    raw = (
        b"From: full@example.org\r\nTo: bounces+tok3@lists.test\r\n"
        b"Subject: Automatic reply: News\r\nMessage-ID: <ooo@example.org>\r\n\r\n"
        b"I am out of the office until 16 March.\r\n"
    )
    inbound_id = _deliver_report(database, services, raw, "tok3")
    with database.sessions() as s:
        row = s.get(InboundMessage, inbound_id)
        assert row.status is InboundStatus.IGNORED
        assert row.outcome == (
            f"not a bounce: out-of-office reply (subject) for outbox {outbox_id}"
        )
        assert s.scalars(select(BounceEvent)).all() == []
        assert s.scalars(select(Subscription)).one().bounce_score == 0


def test_hard_bounces_of_invitations_and_replies_count_too(
    database: TestDatabase, services: Services
) -> None:
    """Not only news: three hard bounces of an invitation, an update and a reply to the member
    suspend delivery, as the address does not work whatever was sent to it."""
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    with database.sessions() as s:
        sub = add_member(s, slug="forum", email="gone@example.org", actor="test")
    with database.sessions() as s, s.begin():
        for n, (kind, meeting_id) in enumerate(
            [("invitation", meeting.id), ("meeting_updated", meeting.id), ("help", None)]
        ):
            s.add(
                OutboxMessage(
                    kind=kind,
                    person_id=sub.person_id,
                    recipient="gone@example.org",
                    sender=f"bounces+inv{n}@lists.test",
                    message_id=f"<inv{n}@lists.test>",
                    meeting_id=meeting_id,
                )
            )
    for n in range(3):
        _deliver_report(database, services, report("failed", "5.1.1"), f"inv{n}")
    with database.sessions() as s:
        member = s.scalars(select(Subscription)).one()
        assert (member.bounce_score, member.status) == (6, SubscriptionStatus.BOUNCING)
