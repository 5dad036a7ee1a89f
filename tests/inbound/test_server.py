"""The SMTP edge over a real socket: routes, refuses, stores before 250."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailer.db import make_engine, make_sessionmaker
from mailer.domain.models import InboundMessage, InboundStatus
from mailer.domain.services import build_services
from mailer.inbound import statuscodes as codes
from mailer.runtime import Runtime
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import make_list
from tests.support.servers import RunningService

MESSAGE = (
    b"From: Sam <sam@example.org>\r\nSubject: hello\r\nMessage-ID: <x1@example.org>\r\n\r\n"
    b"Please register me.\r\n"
)


def code_of(reply: str) -> int:
    return int(reply.split()[0])


def text_of(reply: str) -> bytes:
    return reply.split(" ", 1)[1].encode()


@pytest.fixture
def smtp_only(database: TestDatabase, tmp_path: Path) -> Iterator[RunningService]:
    config = make_test_config(tmp_path, database.url, inbound={"max_message_size": 64 * 1024})
    make_list(database.sessions)
    runtime = Runtime(config, database.engine, database.sessions, build_services(config))
    with RunningService(runtime, worker=False, web=False) as service:
        yield service


def connect(service: RunningService) -> smtplib.SMTP:
    client = smtplib.SMTP(service.config.inbound.host, service.config.inbound.port, timeout=10)
    client.ehlo("client.example.org")
    return client


def count_inbound(database: TestDatabase) -> int:
    with database.sessions() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage))


def test_message_is_committed_before_250(smtp_only: RunningService, database: TestDatabase) -> None:
    with connect(smtp_only) as client:
        assert client.mail("sam@example.org")[0] == 250
        assert client.rcpt("forum@lists.test")[0] == 250
        code, text = client.data(MESSAGE)
        assert (code, text) == (code_of(codes.S250_OK), text_of(codes.S250_OK))
        # Checked while the session is still open: the 250 came after the commit.
        with database.sessions() as s:
            stored = s.scalars(select(InboundMessage)).one()
    assert stored.raw == MESSAGE
    assert stored.mail_from == "sam@example.org"
    assert stored.rcpt_to == ["forum@lists.test"]
    assert stored.status is InboundStatus.NEW
    assert stored.peer == "127.0.0.1"


@pytest.mark.parametrize(
    "recipient", ["someone@example.com", "forum@lists.test.evil.example", "forum@test"]
)
def test_foreign_recipient_is_refused_so_we_are_never_an_open_relay(
    smtp_only: RunningService, database: TestDatabase, recipient: str
) -> None:
    with connect(smtp_only) as client:
        client.mail("spammer@example.net")
        code, text = client.rcpt(recipient)
    assert (code, text) == (550, text_of(codes.S550_NOT_OUR_DOMAIN))
    assert count_inbound(database) == 0


def test_unknown_list_is_refused_with_550(
    smtp_only: RunningService, database: TestDatabase
) -> None:
    with connect(smtp_only) as client:
        client.mail("sam@example.org")
        assert client.rcpt("nosuchlist@lists.test") == (550, text_of(codes.S550_NO_SUCH_LIST))
        assert client.rcpt("nosuchlist-join@lists.test") == (550, text_of(codes.S550_NO_SUCH_LIST))
        # The known list's command addresses and postmaster are ours.
        assert client.rcpt("forum-join@lists.test")[0] == 250
        assert client.rcpt("postmaster@lists.test")[0] == 250
    assert count_inbound(database) == 0


def test_a_sender_too_long_to_store_is_refused_at_mail_and_fails_no_one_else(
    smtp_only: RunningService, database: TestDatabase
) -> None:
    long_sender = "x" * 400 + "@example.org"
    with connect(smtp_only) as client:
        code, text = client.mail(long_sender)
        assert (code, text) == (
            code_of(codes.S501_PATH_TOO_LONG),
            text_of(codes.S501_PATH_TOO_LONG),
        )
        assert client.mail("sam@example.org")[0] == 250  # the session goes on
        assert client.rcpt("forum@lists.test")[0] == 250
        assert client.rcpt("forum+" + "y" * 300 + "@lists.test")[0] == 501
        assert client.data(MESSAGE)[0] == 250
    with connect(smtp_only) as client:  # beside it, an ordinary message is stored as always
        assert client.sendmail("kim@example.org", ["forum@lists.test"], MESSAGE) == {}
    with database.sessions() as s:
        assert sorted(s.scalars(select(InboundMessage.mail_from))) == [
            "kim@example.org",
            "sam@example.org",
        ]


def test_a_non_ascii_sender_needs_smtputf8(smtp_only: RunningService) -> None:
    with connect(smtp_only) as client:
        client.ehlo()
        client.send("MAIL FROM:<jörg@example.org>\r\n".encode())  # raw UTF-8, as some send it
        assert client.getreply()[0] == 553
        client.send("MAIL FROM:<jörg@example.org> SMTPUTF8\r\n".encode())
        assert client.getreply()[0] == 250


def test_malformed_recipient_gets_553(smtp_only: RunningService) -> None:
    with connect(smtp_only) as client:
        client.mail("sam@example.org")
        assert client.rcpt("no-at-sign")[0] == 553


def test_the_recipient_after_the_limit_gets_452_and_the_message_goes_to_the_rest(
    smtp_only: RunningService, database: TestDatabase
) -> None:
    assert smtp_only.config.inbound.max_recipients == 100
    with connect(smtp_only) as client:
        client.mail("sam@example.org")
        for n in range(100):
            assert client.rcpt(f"forum+{n}@lists.test")[0] == 250
        code, text = client.rcpt("forum+100@lists.test")
        assert (code, text.split()[0]) == (452, b"4.5.3")
        assert client.data(MESSAGE)[0] == 250  # stored once, for the hundred accepted
    with database.sessions() as s:
        [stored] = s.scalars(select(InboundMessage)).all()
        assert len(stored.rcpt_to) == 100


def test_postmaster_is_accepted_with_or_without_our_domain(
    smtp_only: RunningService, database: TestDatabase
) -> None:
    with connect(smtp_only) as client:
        client.mail("sam@example.org")
        assert client.rcpt("postmaster")[0] == 250  # RFC 5321 4.5.1 requires it
        assert client.rcpt("Postmaster@lists.test")[0] == 250
        assert client.data(MESSAGE)[0] == 250
    assert count_inbound(database) == 1


def test_data_without_accepted_recipients_is_refused(
    smtp_only: RunningService, database: TestDatabase
) -> None:
    with connect(smtp_only) as client:
        client.mail("sam@example.org")
        client.rcpt("someone@example.com")
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.data(MESSAGE)
    assert refused.value.smtp_code == 503
    assert count_inbound(database) == 0


def test_oversize_message_gets_552_and_nothing_is_stored(
    smtp_only: RunningService, database: TestDatabase
) -> None:
    big = MESSAGE + (b"x" * 76 + b"\r\n") * 1000
    with connect(smtp_only) as client:
        # Declared size in MAIL FROM is refused up front ...
        assert client.mail("sam@example.org", options=[f"SIZE={len(big)}"])[0] == 552
        client.rset()
        # ... and an undeclared oversize body is refused at the end of DATA.
        client.mail("sam@example.org")
        client.rcpt("forum@lists.test")
        code, _ = client.data(big)
    assert code == 552
    assert count_inbound(database) == 0
    # The server is still healthy afterwards.
    with connect(smtp_only) as client:
        assert client.sendmail("sam@example.org", ["forum@lists.test"], MESSAGE) == {}
    assert count_inbound(database) == 1


def test_store_failure_answers_451_so_the_sender_retries(tmp_path: Path) -> None:
    """If the database cannot take the message, say 4xx (try later), never 250."""
    broken_url = f"sqlite:///{tmp_path / 'never-migrated.db'}"  # no tables: every write fails
    config = make_test_config(tmp_path, broken_url)
    engine = make_engine(broken_url)
    runtime = Runtime(config, engine, make_sessionmaker(engine), build_services(config))
    with RunningService(runtime, worker=False, web=False) as service:
        with connect(service) as client:
            client.mail("sam@example.org")
            # A list lookup that fails is a temporary failure too.
            assert client.rcpt("forum@lists.test") == (451, text_of(codes.S451_LOOKUP_FAILED))
            assert client.rcpt("postmaster@lists.test")[0] == 250
            code, text = client.data(MESSAGE)
    assert (code, text) == (451, text_of(codes.S451_STORE_FAILED))
    engine.dispose()


def test_lmtp_answers_once_per_recipient(database: TestDatabase, tmp_path: Path) -> None:
    """Behind Postfix or Exim: LHLO, then one status line per accepted recipient."""
    config = make_test_config(tmp_path, database.url, inbound={"lmtp": True})
    make_list(database.sessions)
    make_list(database.sessions, slug="conference", name="Conference")
    runtime = Runtime(config, database.engine, database.sessions, build_services(config))
    with RunningService(runtime, worker=False, web=False):
        client = smtplib.LMTP(config.inbound.host, config.inbound.port, timeout=10)
        try:
            assert client.ehlo("mta.example.org")[0] == 250  # smtplib's LMTP sends LHLO
            refused = client.sendmail(
                "sam@example.org",
                [
                    "forum@lists.test",
                    "conference@lists.test",
                    "nobody@lists.test",
                    "x@elsewhere.example",
                ],
                MESSAGE,
            )
        finally:
            client.quit()
    assert set(refused) == {"nobody@lists.test", "x@elsewhere.example"}
    assert refused["nobody@lists.test"][0] == 550 and refused["x@elsewhere.example"][0] == 550
    with database.sessions() as s:
        stored = s.scalars(select(InboundMessage)).one()
    assert stored.rcpt_to == ["forum@lists.test", "conference@lists.test"]


def test_lmtp_status_lines_on_the_wire(database: TestDatabase, tmp_path: Path) -> None:
    import socket

    config = make_test_config(tmp_path, database.url, inbound={"lmtp": True})
    make_list(database.sessions)
    make_list(database.sessions, slug="conference", name="Conference")
    runtime = Runtime(config, database.engine, database.sessions, build_services(config))
    with RunningService(runtime, worker=False, web=False):
        with socket.create_connection(
            (config.inbound.host, config.inbound.port), timeout=10
        ) as sock:
            reader = sock.makefile("rb")

            def reply() -> list[bytes]:
                lines = [reader.readline()]
                while lines[-1][3:4] == b"-":
                    lines.append(reader.readline())
                return lines

            reply()  # greeting
            for command in (
                b"LHLO mta.example.org",
                b"MAIL FROM:<sam@example.org>",
                b"RCPT TO:<forum@lists.test>",
                b"RCPT TO:<conference@lists.test>",
                b"DATA",
            ):
                sock.sendall(command + b"\r\n")
                assert reply()[-1][:1] in (b"2", b"3")
            sock.sendall(MESSAGE + b".\r\n")
            first, second = reader.readline(), reader.readline()
            sock.sendall(b"QUIT\r\n")
    assert first.startswith(b"250 ") and second.startswith(b"250 ")


def test_an_idle_connection_is_closed_and_a_busy_one_ends_after_the_session_limit(
    database: TestDatabase, tmp_path: Path
) -> None:
    config = make_test_config(
        tmp_path,
        database.url,
        inbound={"idle_timeout_seconds": 0.3, "session_timeout_seconds": 1.0},
    )
    make_list(database.sessions)
    runtime = Runtime(config, database.engine, database.sessions, build_services(config))
    with RunningService(runtime, worker=False, web=False) as service:
        idle = connect(service)
        try:  # saying nothing: the server closes the connection (the next read finds it gone)
            assert idle.sock.recv(100) == b""
        finally:
            idle.close()
        busy = connect(service)
        replies: list[int] = []
        try:
            with pytest.raises(smtplib.SMTPServerDisconnected):
                while len(replies) < 1_000_000:  # NOOPs keep it from being idle, not for ever
                    replies.append(busy.noop()[0])
        finally:
            busy.close()
        assert replies[-1] == 421 and set(replies[:-1]) == {250}
