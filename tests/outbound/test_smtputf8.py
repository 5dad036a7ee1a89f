"""Non-ASCII recipients over a real SMTP socket: SMTPUTF8 when the next hop offers it, a clear
permanent failure when it does not, and names encoded so that any hop can carry them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email import message_from_string, policy
from pathlib import Path

import pytest
from sqlalchemy import select

from mailer.domain.models import OutboxMessage, OutboxStatus, Person
from mailer.mail.write import Body, write_message
from mailer.outbound.senders import PermanentSendError, SmtpSender
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.delivery import deliver_once
from tests.support.servers import SmtpSink

MESSAGE_HEADERS = [
    ("From", "Forum – Ünïcode <forum@lists.test>"),
    ("Subject", "Réunion"),
    ("Date", "Mon, 30 Nov 2026 09:05:00 +0000"),
    ("Message-ID", "<m1@lists.test>"),
    ("MIME-Version", "1.0"),
]


def _send(
    sink: SmtpSink, raw: bytes, recipient: str, envelope_from: str = "bounces+m1@lists.test"
) -> None:
    sender = SmtpSender(
        make_test_config(
            Path("."), "sqlite://", delivery=sink.smarthost_settings()
        ).delivery.smarthost
    )

    async def go() -> None:
        try:
            await sender.send(raw, envelope_from=envelope_from, recipient=recipient)
        finally:
            await sender.close()

    asyncio.run(go())


def test_a_non_ascii_address_travels_with_smtputf8_and_arrives_in_utf8() -> None:
    raw = write_message([*MESSAGE_HEADERS, ("To", "jörg@example.org")], Body("Hallo Jörg\n"))
    with SmtpSink() as sink:
        _send(sink, raw, "jörg@example.org")
        [got] = sink.wait_for_count(1)
    assert got.rcpt_tos == ["jörg@example.org"]
    assert "SMTPUTF8" in got.mail_options
    assert got.raw == raw  # byte for byte: nothing re-encoded on the way
    assert "\r\nTo: jörg@example.org\r\n".encode() in got.raw
    message = message_from_string(got.raw.decode("utf-8"), policy=policy.default)
    assert message["To"].addresses[0].addr_spec == "jörg@example.org"
    assert message["From"].addresses[0].display_name == "Forum – Ünïcode"
    assert message.get_content() == "Hallo Jörg\r\n"  # quoted-printable keeps the CRLF


def test_a_non_ascii_display_name_is_encoded_and_needs_no_smtputf8() -> None:
    raw = write_message(
        [*MESSAGE_HEADERS, ("To", "Zoë Ångström <zoe@example.org>")], Body("Hello\n")
    )
    with SmtpSink(smtputf8=False) as sink:
        _send(sink, raw, "zoe@example.org")
        [got] = sink.wait_for_count(1)
    assert got.rcpt_tos == ["zoe@example.org"] and "SMTPUTF8" not in got.mail_options
    assert got.raw.isascii() and b"=?utf-8?" in got.raw
    message = message_from_string(got.raw.decode("ascii"), policy=policy.default)
    assert str(message["To"].addresses[0].display_name) == "Zoë Ångström"
    assert message["To"].addresses[0].addr_spec == "zoe@example.org"


def test_without_smtputf8_at_the_next_hop_a_non_ascii_address_fails_permanently_and_says_why() -> (
    None
):
    raw = write_message([*MESSAGE_HEADERS, ("To", "jörg@example.org")], Body("Hallo\n"))
    with SmtpSink(smtputf8=False) as sink:
        with pytest.raises(PermanentSendError, match="SMTPUTF8") as failure:
            _send(sink, raw, "jörg@example.org")
        assert sink.handler.attempts == 0  # nothing was offered to the server
    assert "jörg@example.org" in str(failure.value)


def test_the_worker_records_the_smtputf8_failure_on_the_row(
    tmp_path: Path, database: TestDatabase
) -> None:
    with SmtpSink(smtputf8=False) as sink:
        config = make_test_config(tmp_path, database.url, delivery=sink.smarthost_settings())
        with database.sessions() as s, s.begin():
            person = Person(email="jörg@example.org")
            s.add(person)
            s.flush()
            for email, message_id in [
                ("jörg@example.org", "<j@lists.test>"),
                ("ana@example.org", "<a@lists.test>"),
            ]:
                s.add(
                    OutboxMessage(
                        kind="triage_ack",
                        person_id=person.id,
                        recipient=email,
                        sender="bounces+j@lists.test",
                        message_id=message_id,
                        subject="Réunion",
                        body_text="Hallo\n",
                        headers={"From": "Forum <forum@lists.test>"},
                        created_at=datetime(2026, 11, 30, tzinfo=UTC),
                    )
                )
        assert deliver_once(database, config) == 2
        [delivered] = sink.wait_for_count(1)
    assert delivered.rcpt_tos == [
        "ana@example.org"
    ]  # the connection stayed usable for the next row
    with database.sessions() as s:
        failed = s.scalar(
            select(OutboxMessage).where(OutboxMessage.recipient == "jörg@example.org")
        )
        assert failed.status is OutboxStatus.FAILED and "SMTPUTF8" in failed.last_error
