"""Joining and leaving by email: confirmed by the address owner, never by a From: header alone."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from mailer.domain.membership import confirm_join
from mailer.domain.models import (
    InboundMessage,
    InboundStatus,
    MailingList,
    OutboxMessage,
    Person,
    Subscription,
    SubscriptionStatus,
)
from mailer.domain.queue import store_inbound
from mailer.domain.services import Services
from mailer.inbound.process import process_inbound
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting
from tests.support.proof import dmarc_pass


def deliver_in(
    database: TestDatabase,
    services: Services,
    to: str,
    *,
    sender: str = "alex@dept.example.org",
    subject: str = "",
    body: str = "",
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
    proven: bool = False,
) -> InboundMessage:
    """Store a message and handle it; ``proven``: our MTA saw it pass DMARC."""
    msg = EmailMessage()
    if proven:
        msg["Authentication-Results"] = dmarc_pass(sender).partition(": ")[2].strip()
    msg["From"] = f"Alex Example <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or f"<{abs(hash((to, sender, subject, body)))}@dept.example.org>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    with database.sessions() as s:
        inbound_id = store_inbound(s, mail_from=sender, rcpt_to=[to], raw=msg.as_bytes())
    process_inbound(database.sessions, services, inbound_id)
    with database.sessions() as s:
        return s.get(InboundMessage, inbound_id)


def status_of(
    database: TestDatabase, email: str = "alex@dept.example.org"
) -> SubscriptionStatus | None:
    with database.sessions() as s:
        return s.scalar(
            select(Subscription.status)
            .join(Person, Person.id == Subscription.person_id)
            .where(Person.email == email)
        )


def last_reply(database: TestDatabase) -> OutboxMessage:
    with database.sessions() as s:
        return s.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()


def test_join_is_pending_until_the_owner_confirms_by_link(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    row = deliver_in(database, services, "forum-join@lists.test")
    assert (row.status, row.intent) == (InboundStatus.DONE, "join") and "pending" in row.outcome
    assert status_of(database) is SubscriptionStatus.PENDING
    reply = last_reply(database)
    assert reply.kind == "join_confirm" and reply.recipient == "alex@dept.example.org"
    assert reply.headers["Reply-To"] == "forum-request@lists.test"
    token = re.search(r"/confirm/(\S+)", reply.body_text).group(1)
    with database.sessions() as s:
        confirm_join(s, services, token, source="link")
    assert status_of(database) is SubscriptionStatus.ACTIVE
    assert last_reply(database).kind == "join_welcome"


def test_join_confirmed_by_replying_with_the_token(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    deliver_in(
        database, services, "forum@lists.test", subject="join"
    )  # plain words at the list go to triage...
    deliver_in(database, services, "forum-request@lists.test", subject="subscribe")
    reply = last_reply(database)
    token = re.search(r'confirm (\S+)"', reply.body_text).group(1)
    row = deliver_in(
        database,
        services,
        "forum-request@lists.test",
        subject=f"Re: confirm {token}",
        body="> We received a request to add this address",
    )
    assert row.intent == "confirm" and "confirmed" in row.outcome
    assert status_of(database) is SubscriptionStatus.ACTIVE


def test_a_forged_token_confirms_nothing(database: TestDatabase, services: Services) -> None:
    make_list(database.sessions)
    deliver_in(database, services, "forum-join@lists.test")
    row = deliver_in(
        database, services, "forum-request@lists.test", subject="confirm WzEsMSwxXQ.forged.sig"
    )
    assert "refused" in row.outcome and status_of(database) is SubscriptionStatus.PENDING


@pytest.mark.parametrize(
    ("header", "trusted"),
    [
        (
            "mx.lists.test; spf=pass smtp.mailfrom=dept.example.org; dmarc=pass (p=reject) "
            "header.from=dept.example.org",
            True,
        ),
        (
            "mx.lists.test; dmarc=pass header.from=other.example.org",
            False,
        ),  # not aligned with From:
        ("mx.lists.test; dmarc=fail header.from=dept.example.org", False),
        ("evil.example; dmarc=pass header.from=dept.example.org", False),  # someone else's header
    ],
)
def test_dmarc_pass_from_our_mta_lets_a_trusting_list_skip_confirmation(
    database: TestDatabase, services: Services, header: str, trusted: bool
) -> None:
    make_list(database.sessions)
    with database.sessions() as s, s.begin():
        s.scalars(select(MailingList)).one().trust_dmarc = True
    trusting = services.__class__(
        services.config.replace(inbound={"authserv_id": "mx.lists.test"}),
        services.links,
        services.emails,
    )
    deliver_in(
        database, trusting, "forum-join@lists.test", headers={"Authentication-Results": header}
    )
    assert status_of(database) is (
        SubscriptionStatus.ACTIVE if trusted else SubscriptionStatus.PENDING
    )


def test_leave_by_email_sends_the_owner_a_link_and_removes_nobody(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    deliver_in(database, services, "forum-join@lists.test")
    with database.sessions() as s, s.begin():
        s.scalars(select(Subscription)).one().status = SubscriptionStatus.ACTIVE
    row = deliver_in(
        database, services, "forum@lists.test", body="Please remove me from the list, thanks"
    )
    assert row.intent == "leave"
    assert status_of(database) is SubscriptionStatus.ACTIVE
    reply = last_reply(database)
    assert reply.kind == "leave_confirm" and "/u/" in reply.body_text
    assert deliver_in(database, services, "forum-leave@lists.test").intent == "leave"
    assert status_of(database) is SubscriptionStatus.ACTIVE


def test_request_address_answers_help(database: TestDatabase, services: Services) -> None:
    make_list(database.sessions)
    row = deliver_in(database, services, "forum-request@lists.test", subject="what can I do?")
    assert row.intent == "help" and last_reply(database).kind == "help"
    assert "forum-join@lists.test" in last_reply(database).body_text


def test_allowed_sender_domains(database: TestDatabase, services: Services) -> None:
    make_list(database.sessions)
    make_meeting(database.sessions)
    with database.sessions() as s, s.begin():
        s.scalars(
            select(MailingList)
        ).one().allowed_sender_domains = "*.gov.uk, cabinetoffice.gov.uk"
    row = deliver_in(
        database,
        services,
        "forum@lists.test",
        body="Please register me",
        sender="sam@gmail.example",
    )
    assert row.status is InboundStatus.IGNORED and row.intent == "refused"
    assert last_reply(database).kind == "sender_refused"
    ok = deliver_in(
        database, services, "forum@lists.test", body="Please register me", sender="sam@dwp.gov.uk"
    )
    assert ok.intent == "register" and ok.status is InboundStatus.DONE


def test_a_repeated_message_id_is_processed_once(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    make_meeting(database.sessions)
    first = deliver_in(
        database, services, "forum@lists.test", body="Please register me", message_id="<same@x>"
    )
    again = deliver_in(
        database, services, "forum@lists.test", body="Please register me", message_id="<same@x>"
    )
    assert first.intent == "register" and again.intent == "duplicate"
    with database.sessions() as s:
        assert len(s.scalars(select(OutboxMessage)).all()) == 1


@pytest.mark.parametrize("to", ["postmaster", "postmaster@lists.test"])
def test_mail_to_postmaster_is_left_for_an_organiser(
    database: TestDatabase, services: Services, to: str
) -> None:
    make_list(database.sessions)
    message = deliver_in(database, services, to, subject="Abuse report", body="Please look.")
    assert message.status is InboundStatus.TRIAGE
    assert message.outcome == "to postmaster: for an organiser to read"
    assert status_of(database) is None  # nobody was joined to anything
