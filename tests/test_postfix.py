"""A real MTA in front: Debian's Postfix, in a private instance on 127.0.0.1, relays the list domain
to `convene smtp --lmtp` and is Convene's smarthost for outgoing mail, exactly as docs/deployment.md
describes. A message injected into Postfix reaches Convene's database and is answered; the answer
leaves through Postfix and reaches a sink; an unknown list is refused per recipient over LMTP, so
Postfix bounces it to its sender. Postfix strips Authentication-Results headers written in its
own name, so a forged one is never believed."""

from __future__ import annotations

import os
import smtplib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from mailer.domain.models import InboundMessage, InboundStatus, Rsvp
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting
from tests.support.net import free_port, wait_for
from tests.support.postfix import PrivatePostfix, available
from tests.support.servers import RunningService, SmtpSink, runtime_for


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture
def postfix(sink: SmtpSink) -> Iterator[PrivatePostfix]:
    if not available():
        if os.environ.get("CONVENE_REQUIRE_POSTFIX", "") not in ("", "0"):
            pytest.fail(
                "Postfix is required (CONVENE_REQUIRE_POSTFIX=1): install Debian's postfix and "
                "run as root"
            )
        pytest.skip("no Postfix here (Debian package postfix, started as root)")
    with tempfile.TemporaryDirectory(prefix="convene-postfix-") as root:
        os.chmod(root, 0o755)
        server = PrivatePostfix(
            Path(root),
            smtp_port=free_port(),
            list_domain="lists.test",
            lmtp_port=free_port(),
            relay_port=sink.port,
        )
        server.start()
        try:
            yield server
        finally:
            server.stop()


def test_mail_flows_through_postfix_both_ways(
    postfix: PrivatePostfix, sink: SmtpSink, database: TestDatabase, tmp_path: Path
) -> None:
    config = make_test_config(
        tmp_path,
        database.url,
        inbound={"host": "127.0.0.1", "port": postfix.lmtp_port, "lmtp": True},
        delivery={
            "backend": "smtp",
            "smarthost": {
                "host": "127.0.0.1",
                "port": postfix.smtp_port,
                "security": "none",
                "timeout": 10.0,
            },
        },
    )
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    with RunningService(runtime_for(config, database), web=False):

        def postfix_up() -> bool:
            try:
                with smtplib.SMTP("127.0.0.1", postfix.smtp_port, timeout=5) as client:
                    return client.noop()[0] == 250
            except OSError:
                return False

        wait_for(postfix_up, timeout=30, message="Postfix accepting SMTP")
        with smtplib.SMTP("127.0.0.1", postfix.smtp_port, timeout=10) as client:
            client.sendmail(
                "sam@example.org",
                ["forum@lists.test"],
                # Forged: a header in our MTA's name saying DMARC passed, which Postfix strips.
                b"Authentication-Results: mx.lists.test; dmarc=pass header.from=example.org\r\n"
                b"From: Sam <sam@example.org>\r\nTo: forum@lists.test\r\nSubject: Forum\r\n"
                b"Message-ID: <via-postfix@example.org>\r\n\r\nPlease register me, in person.\r\n",
            )
            # Postfix accepts for the domain, then Convene refuses this recipient over LMTP.
            client.sendmail(
                "kim@example.org",
                ["no-such-list@lists.test"],
                b"From: kim@example.org\r\nSubject: Hello\r\nMessage-ID: <lost@example.org>\r\n"
                b"\r\nHi\r\n",
            )

        def stored() -> InboundMessage | None:
            with database.sessions() as s:
                return s.scalar(
                    select(InboundMessage).where(InboundMessage.status == InboundStatus.DONE)
                )

        row = wait_for(
            stored,
            timeout=60,
            message="the message through Postfix processed:\n" + postfix.maillog(),
        )
        reply = wait_for(
            lambda: next((r for r in sink.received if r.rcpt_tos == ["sam@example.org"]), None),
            timeout=60,
            message="the reply relayed by Postfix",
        )
        bounce = wait_for(
            lambda: next((r for r in sink.received if r.rcpt_tos == ["kim@example.org"]), None),
            timeout=60,
            message="Postfix's bounce for the unknown list",
        )
    assert b"by mx.lists.test (Postfix)" in row.raw and row.rcpt_to == ["forum@lists.test"]
    # The forged header did not get through, so nothing proved the sender: nothing is recorded,
    # and the address owner is asked, with the links that would do it.
    assert b"Authentication-Results" not in row.raw
    with database.sessions() as s:
        assert s.scalar(select(Rsvp).where(Rsvp.meeting_id == meeting.id)) is None
    assert reply.message["Subject"].startswith("Was this you?")
    assert "/rsvp/" in reply.text and "Attend in person" in reply.text
    message = reply.message
    assert message["In-Reply-To"] == "<via-postfix@example.org>"
    assert "by mx.lists.test (Postfix)" in message["Received"]  # it really went through Postfix
    assert reply.mail_from.startswith("bounces+")  # VERP survives the relay
    assert bounce.mail_from in ("", "<>") and "no-such-list@lists.test" in bounce.raw.decode(
        errors="replace"
    )
    with database.sessions() as s:
        assert (
            s.scalar(
                select(InboundMessage).where(InboundMessage.message_id == "<lost@example.org>")
            )
            is None
        )
