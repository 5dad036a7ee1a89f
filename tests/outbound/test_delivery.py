"""Delivering the outbox to a real SMTP sink: success, retry on 4xx, failure on 5xx, leases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mailer.config import Config
from mailer.domain.models import BounceEvent, OutboxMessage, OutboxStatus, Person, utcnow
from mailer.domain.outbox import Envelope, enqueue
from mailer.domain.queue import claim_outbox
from mailer.domain.services import build_services
from mailer.outbound.senders import MaildirSender, SmtpSender
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.delivery import deliver_once as deliver
from tests.support.servers import SmtpSink


def queue_message(
    database: TestDatabase,
    config: Config,
    *,
    email: str = "sam@example.org",
    name: str = "Sam",
    list_name: str = "Forum – Ünïcode",
) -> int:
    services = build_services(config)
    with database.sessions() as s, s.begin():
        person = Person(email=email, display_name=name)
        s.add(person)
        s.flush()
        message_id = enqueue(
            s,
            services,
            kind="triage_ack",
            person=person,
            sender=Envelope("forum@lists.test", list_name, {"Reply-To": "forum@lists.test"}),
            context={
                "mailing_list": type("L", (), {"name": "Forum"})(),
                "reason": "testing",
                "list_address": "forum@lists.test",
            },
        )
        return s.scalar(select(OutboxMessage.id).where(OutboxMessage.message_id == message_id))


def row(database: TestDatabase, row_id: int) -> OutboxMessage:
    with database.sessions() as s:
        return s.get(OutboxMessage, row_id)


@pytest.fixture
def sink_config(tmp_path: Path, database: TestDatabase):  # type: ignore[no-untyped-def]
    with SmtpSink() as sink:
        yield sink, make_test_config(tmp_path, database.url, delivery=sink.smarthost_settings())


def test_delivers_once_with_the_stored_message_id(database: TestDatabase, sink_config) -> None:  # type: ignore[no-untyped-def]
    sink, config = sink_config
    row_id = queue_message(database, config)
    assert deliver(database, config, SmtpSender(config.delivery.smarthost)) == 1
    [got] = sink.wait_for_count(1)
    stored = row(database, row_id)
    assert stored.status is OutboxStatus.SENT and stored.sent_at is not None
    assert got.message["Message-ID"] == stored.message_id
    assert got.rcpt_tos == ["sam@example.org"]
    # VERP: the envelope sender carries the Message-ID's token, so a bounce names its message.
    assert got.mail_from == "bounces+" + stored.message_id.strip("<>").split("@")[0] + "@lists.test"
    assert got.message["From"].addresses[0].display_name == "Forum – Ünïcode"
    assert b"=?utf-8?" in got.raw  # the non-ASCII name is RFC 2047 encoded on the wire
    # Written in text alone, sent as text and the same words as HTML.
    assert got.message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in got.message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    # Nothing left to do: a second pass sends nothing more.
    assert deliver(database, config, SmtpSender(config.delivery.smarthost)) == 0
    assert len(sink.received) == 1


def test_4xx_is_retried_later_then_delivered(database: TestDatabase, sink_config) -> None:  # type: ignore[no-untyped-def]
    sink, config = sink_config
    config = config.replace(
        worker={"retry_base_seconds": 3600.0}
    )  # later means later, however slow this machine
    sink.handler.scripted.append("451 4.3.0 try again later")
    row_id = queue_message(database, config)
    deliver(database, config, SmtpSender(config.delivery.smarthost))
    deferred = row(database, row_id)
    assert deferred.status is OutboxStatus.QUEUED and "451" in deferred.last_error
    assert deferred.next_attempt_at > utcnow() + timedelta(
        minutes=20
    )  # half the ceiling at the least
    assert deliver(database, config, SmtpSender(config.delivery.smarthost)) == 0  # not due yet
    with database.sessions() as s, s.begin():
        s.get(OutboxMessage, row_id).next_attempt_at = utcnow() - timedelta(seconds=1)
    deliver(database, config, SmtpSender(config.delivery.smarthost))
    assert row(database, row_id).status is OutboxStatus.SENT and row(database, row_id).attempts == 2
    assert len(sink.wait_for_count(1)) == 1


def test_5xx_is_a_permanent_failure(database: TestDatabase, sink_config) -> None:  # type: ignore[no-untyped-def]
    sink, config = sink_config
    sink.handler.scripted.append("550 5.1.1 no such user")
    row_id = queue_message(database, config)
    deliver(database, config, SmtpSender(config.delivery.smarthost))
    failed = row(database, row_id)
    assert failed.status is OutboxStatus.FAILED and "550" in failed.last_error
    assert sink.received == []


def test_smarthost_down_is_retryable_and_nothing_is_lost(
    database: TestDatabase, tmp_path: Path
) -> None:
    from tests.support.net import free_port

    config = make_test_config(
        tmp_path,
        database.url,
        delivery={
            "backend": "smtp",
            "smarthost": {
                "host": "127.0.0.1",
                "port": free_port(),
                "security": "none",
                "timeout": 2.0,
            },
        },
    )
    row_id = queue_message(database, config)
    deliver(database, config, SmtpSender(config.delivery.smarthost))
    stored = row(database, row_id)
    assert stored.status is OutboxStatus.QUEUED and "unavailable" in stored.last_error


def test_an_abandoned_lease_is_taken_over(database: TestDatabase, sink_config) -> None:  # type: ignore[no-untyped-def]
    sink, config = sink_config
    row_id = queue_message(database, config)
    with database.sessions() as s:
        assert claim_outbox(s, limit=10, lease=timedelta(seconds=300), worker_id="crashed") == [
            row_id
        ]
    with database.sessions() as s:  # leased: no one else takes it
        assert claim_outbox(s, limit=10, lease=timedelta(seconds=300), worker_id="other") == []
    with database.sessions() as s, s.begin():
        s.get(OutboxMessage, row_id).lease_until = utcnow() - timedelta(seconds=1)
    deliver(database, config, SmtpSender(config.delivery.smarthost))
    assert row(database, row_id).status is OutboxStatus.SENT
    assert len(sink.wait_for_count(1)) == 1


def test_header_injection_through_a_name_adds_no_header(
    database: TestDatabase, sink_config
) -> None:  # type: ignore[no-untyped-def]
    sink, config = sink_config
    row_id = queue_message(
        database,
        config,
        name="Sam\r\nBcc: victim@example.net",
        list_name="Forum\r\nBcc: victim@example.net",
    )
    deliver(database, config, SmtpSender(config.delivery.smarthost))
    assert row(database, row_id).status is OutboxStatus.SENT
    [got] = sink.wait_for_count(1)
    assert got.message["Bcc"] is None and got.rcpt_tos == ["sam@example.org"]
    assert b"\r\nBcc:" not in got.raw
    assert (
        "victim@example.net" in got.message["From"].addresses[0].display_name
    )  # kept as text, harmless


def test_a_row_with_a_newline_in_a_header_fails_permanently_and_sends_nothing(
    database: TestDatabase, sink_config
) -> None:  # type: ignore[no-untyped-def]
    sink, config = sink_config
    row_id = queue_message(database, config)
    with database.sessions() as s, s.begin():
        s.get(OutboxMessage, row_id).subject = "Hi\r\nBcc: victim@example.net"
    deliver(database, config, SmtpSender(config.delivery.smarthost))
    stored = row(database, row_id)
    assert stored.status is OutboxStatus.FAILED and "cannot be composed" in stored.last_error
    assert sink.received == []
    # Our fault, not a report from the receiving side: no bounce against the person.
    with database.sessions() as s:
        assert s.scalars(select(BounceEvent)).all() == []


def test_maildir_sender_writes_the_dev_mailbox(database: TestDatabase, tmp_path: Path) -> None:
    config = make_test_config(tmp_path, database.url)
    row_id = queue_message(database, config)
    deliver(database, config, MaildirSender(config.maildir_path))
    assert row(database, row_id).status is OutboxStatus.SENT
    files = list((config.maildir_path / "new").iterdir())
    assert len(files) == 1 and b"Delivered-To: sam@example.org" in files[0].read_bytes()


def test_only_one_worker_claims_a_row(database: TestDatabase, tmp_path: Path) -> None:
    config = make_test_config(tmp_path, database.url)
    ids = {queue_message(database, config, email=f"p{i}@example.org") for i in range(30)}
    claimed: list[int] = []
    for worker in ("a", "b", "c"):
        with database.sessions() as s:
            claimed += claim_outbox(s, limit=12, lease=timedelta(seconds=60), worker_id=worker)
    assert sorted(claimed) == sorted(ids)
    with database.sessions() as s:
        rows = s.scalars(select(OutboxMessage)).all()
    assert {r.leased_by for r in rows} == {"a", "b", "c"}
