"""Only the mailbox owner can act: a forged From: changes no one's record.

Over real SMTP, a real worker and (for link presses) the real web app, on
SQLite and PostgreSQL. A message proves its sender when our MTA's own
(topmost) Authentication-Results header shows an aligned DMARC pass, or when
it answers a message of ours sent to that very mailbox; anything else that
would change a record is answered "was this you?", with the signed links
that would do it.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailer.config import Config
from mailer.domain.consultations import create_consultation, send_consultation
from mailer.domain.invitations import send_invitations
from mailer.domain.lists import add_member, configure_list
from mailer.domain.models import (
    ConsultationAnswer,
    InboundMessage,
    InboundStatus,
    OutboxMessage,
    Person,
    Rsvp,
    RsvpResponse,
)
from mailer.domain.rsvp import record_rsvp
from mailer.domain.schedules import send_agenda_now, set_agenda
from mailer.domain.services import build_services
from mailer.runtime import Runtime
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting
from tests.support.http import HttpClient
from tests.support.inbound import processed
from tests.support.net import wait_for
from tests.support.proof import dmarc_pass
from tests.support.servers import RunningService

BOB = "bob@dept.example.org"


@pytest.fixture
def service(database: TestDatabase, tmp_path: Path) -> Iterator[Config]:
    config = make_test_config(tmp_path, database.url)
    runtime = Runtime(config, database.engine, database.sessions, build_services(config))
    make_list(database.sessions)
    with RunningService(runtime):
        yield config


def send(
    config: Config,
    sender: str,
    body: str,
    *,
    to: str = "forum@lists.test",
    subject: str = "Forum",
    name: str = "",
    headers: str = "",
    envelope: str | None = None,
    message_id: str | None = None,
) -> None:
    """One message over SMTP; ``headers`` (CRLF-terminated lines) go on top, where an MTA adds
    its own."""
    message_id = message_id or f"<{abs(hash((sender, body, subject, headers)))}@client.example>"
    raw = (
        f"{headers}From: {name + ' ' if name else ''}<{sender}>\r\nTo: {to}\r\n"
        f"Subject: {subject}\r\nMessage-ID: {message_id}\r\n\r\n{body}\r\n"
    )
    with smtplib.SMTP(config.inbound.host, config.inbound.port, timeout=10) as client:
        client.sendmail(envelope or sender, [to], raw.encode())


def send_calendar_accept(
    config: Config, who: str, meeting_id: int, *, sequence: int | None = None, headers: str = ""
) -> None:
    """A calendar's Accept (iTIP METHOD:REPLY) for one of our meetings, from ``who``, proving
    nothing unless ``headers`` do; of the invitation's version ``sequence`` if given."""
    version = f"SEQUENCE:{sequence}\r\n" if sequence is not None else ""
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\n"
        f"UID:meeting-{meeting_id}@lists.test\r\n{version}DTSTAMP:20260302T100000Z\r\n"
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{who}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    raw = (
        f"{headers}From: <{who}>\r\nTo: forum@lists.test\r\nSubject: Accepted: Quarterly Forum\r\n"
        f"Message-ID: <cal-{abs(hash((who, sequence)))}@client.example>\r\n"
        "Content-Type: text/calendar; method=REPLY; charset=utf-8\r\n\r\n" + ics
    )
    with smtplib.SMTP(config.inbound.host, config.inbound.port, timeout=10) as client:
        client.sendmail(who, ["forum@lists.test"], raw.encode())


def handled(database: TestDatabase, count: int) -> None:
    wait_for(lambda: processed(database, count), message=f"{count} inbound messages handled")


def mail_to(database: TestDatabase, address: str, kind: str | None = None) -> list[OutboxMessage]:
    with database.sessions() as s:
        query = select(OutboxMessage).where(OutboxMessage.recipient == address)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list(s.scalars(query.order_by(OutboxMessage.id)))


def answer_of(database: TestDatabase, email: str) -> Rsvp | None:
    with database.sessions() as s:
        return s.scalar(
            select(Rsvp).join(Person, Person.id == Rsvp.person_id).where(Person.email == email)
        )


def press(config: Config, link: str) -> str:
    """Open a signed link and press its one button, as its owner would; returns the page."""
    browser = HttpClient(config.service.base_url)
    page = browser.get(link)
    assert page.status == 200, page.body
    done = browser.post(link, {"csrf_token": browser.csrf_token(page.body)})
    assert done.status == 200, done.body
    return done.body


def link_in(text: str, choice: str) -> str:
    found = re.search(rf"(http://\S+/rsvp/\S+/{choice})\s", text)
    assert found, text
    return found.group(1)


def test_a_forged_decline_changes_nothing_and_the_member_is_asked_even_after_a_flood(
    service: Config, database: TestDatabase
) -> None:
    meeting = make_meeting(database.sessions, capacity=2)
    with database.sessions() as s:
        add_member(s, slug="forum", email=BOB, display_name="Bob Jones", actor="test")
    with database.sessions() as s:
        record_rsvp(
            s,
            build_services(service),
            meeting_id=meeting.id,
            email=BOB,
            response=RsvpResponse.ATTENDING,
            mode=None,
            source="link",
        )
    before = mail_to(database, BOB)
    for i in range(20):
        send(service, BOB, f"help {i}", to="forum-request@lists.test", subject="help")
    send(service, BOB, "Sorry, I can't make it.", name="Anything Here")
    handled(database, 21)

    rsvp = answer_of(database, BOB)
    assert rsvp is not None and rsvp.response is RsvpResponse.ATTENDING
    help_replies = mail_to(database, BOB, "help")
    assert len(help_replies) == service.worker.replies_per_sender_per_hour  # the flood was capped
    [asked] = mail_to(database, BOB, "confirm_request")  # ...but the notice still went
    assert asked.subject == "Was this you? Your answer for Quarterly Forum"
    assert "record that you cannot attend" in asked.body_text
    assert "Anything Here" not in asked.body_text and "Sorry" not in asked.body_text
    assert "/in-person" not in asked.body_text  # only the link that does what was asked
    with database.sessions() as s:
        assert (
            s.scalars(select(Person).where(Person.email == BOB)).one().display_name == "Bob Jones"
        )
    assert len(mail_to(database, BOB)) == len(before) + len(help_replies) + 1

    press(service, link_in(asked.body_text, "decline"))
    rsvp = answer_of(database, BOB)
    assert rsvp is not None and rsvp.response is RsvpResponse.DECLINED


def test_forged_registrations_of_strangers_take_no_place_until_a_link_is_pressed(
    service: Config, database: TestDatabase
) -> None:
    meeting = make_meeting(database.sessions, capacity=2)
    with database.sessions() as s:
        set_agenda(s, meeting.id, agenda="1. Welcome", actor="test")
    strangers = [f"made-up-{n}@elsewhere.example" for n in range(3)]
    for stranger in strangers:
        send(service, stranger, "Please register me, in person.", name="Urgent Verify")
    handled(database, 3)
    with database.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Rsvp)) == 0
        assert send_agenda_now(s, build_services(service), meeting.id, actor="test") == 0
    assert not any(mail_to(database, x, "meeting_details") for x in strangers)
    for stranger in strangers:
        [asked] = mail_to(database, stranger)
        assert asked.kind == "confirm_request"
        assert "Urgent" not in asked.body_text and "Verify" not in asked.body_text

    # They press their links in another order than they wrote: places go in the order pressed.
    order = [strangers[1], strangers[0], strangers[2]]
    for who in order:
        [asked] = mail_to(database, who)
        press(service, link_in(asked.body_text, "in-person"))
    placed = [answer_of(database, who) for who in order]
    assert all(r is not None and r.response is RsvpResponse.ATTENDING for r in placed)
    assert [r.waitlisted_at is None for r in placed if r is not None] == [True, True, False]
    [confirmation] = mail_to(database, order[0], "rsvp_confirmation")
    assert "You are not on the Leaders of Networks Forum mailing list" in confirmation.body_text
    assert "forum-join@lists.test" in confirmation.body_text


def test_only_our_mtas_topmost_header_proves_a_sender(
    service: Config, database: TestDatabase
) -> None:
    make_meeting(database.sessions, capacity=None)
    proven, forged = "ana@dept.example.org", "cat@dept.example.org"
    send(service, proven, "Please register me, remotely.", headers=dmarc_pass(proven))
    # Our MTA's real verdict on top; below it, one forged in our name, as if from upstream.
    send(
        service,
        forged,
        "Please register me, remotely.",
        headers=(
            "Authentication-Results: mx.lists.test; dmarc=fail header.from=dept.example.org\r\n"
            + dmarc_pass(forged)
        ),
    )
    handled(database, 2)
    assert answer_of(database, proven) is not None
    assert answer_of(database, forged) is None
    assert [m.kind for m in mail_to(database, forged)] == ["confirm_request"]


def test_a_reply_to_ones_own_invitation_acts_and_the_same_from_another_address_asks(
    service: Config, database: TestDatabase
) -> None:
    meeting = make_meeting(database.sessions, capacity=None)
    with database.sessions() as s:
        add_member(s, slug="forum", email=BOB, actor="test")
    with database.sessions() as s:
        assert send_invitations(s, build_services(service), meeting.id, actor="test") == 1
    [invitation] = mail_to(database, BOB, "invitation")
    threading = f"In-Reply-To: {invitation.message_id}\r\nReferences: {invitation.message_id}\r\n"
    other = "bob.personal@home.example"
    send(service, other, "Yes please, remotely.", subject="Re: Quarterly Forum", headers=threading)
    handled(database, 1)
    assert answer_of(database, other) is None
    assert [m.kind for m in mail_to(database, other)] == ["confirm_request"]

    send(service, BOB, "Yes please, remotely.", subject="Re: Quarterly Forum", headers=threading)
    handled(database, 2)
    rsvp = answer_of(database, BOB)
    assert rsvp is not None and rsvp.response is RsvpResponse.ATTENDING
    assert rsvp.mode is not None and rsvp.mode.value == "remote"


def test_a_forged_calendar_reply_changes_nothing(service: Config, database: TestDatabase) -> None:
    meeting = make_meeting(database.sessions, capacity=None)
    with database.sessions() as s:
        add_member(s, slug="forum", email=BOB, actor="test")
    stranger = "eve@elsewhere.example"
    for who in (BOB, stranger):
        send_calendar_accept(service, who, meeting.id)
    handled(database, 2)
    assert answer_of(database, BOB) is None and answer_of(database, stranger) is None
    assert [m.kind for m in mail_to(database, BOB)] == ["confirm_request"]
    assert [m.kind for m in mail_to(database, stranger)] == ["confirm_request"]


def test_a_calendar_reply_to_an_older_version_of_the_invitation_is_not_applied(
    service: Config, database: TestDatabase
) -> None:
    from mailer.domain.schedules import update_meeting

    meeting = make_meeting(database.sessions, capacity=None)
    with database.sessions() as s:
        add_member(s, slug="forum", email=BOB, actor="test")
        send_invitations(s, build_services(service), meeting.id, actor="test")  # SEQUENCE 0
        update_meeting(
            s, build_services(service), meeting.id, title="Forum (new day)", actor="test"
        )
    send_calendar_accept(service, BOB, meeting.id, sequence=0, headers=dmarc_pass(BOB))
    handled(database, 1)
    assert answer_of(database, BOB) is None
    with database.sessions() as s:
        inbound = s.scalars(select(InboundMessage)).one()
    assert inbound.status is InboundStatus.TRIAGE and "older version" in inbound.outcome
    # The same Accept of the current version is recorded; so is one whose client gave none.
    send_calendar_accept(service, BOB, meeting.id, sequence=1, headers=dmarc_pass(BOB))
    handled(database, 2)
    assert answer_of(database, BOB).response is RsvpResponse.ATTENDING


def test_an_answer_to_someone_elses_consultation_address_is_stored_for_no_one(
    service: Config, database: TestDatabase
) -> None:
    alice = "alice@dept.example.org"
    with database.sessions() as s:
        add_member(s, slug="forum", email=alice, actor="test")
        add_member(s, slug="forum", email=BOB, actor="test")
    with database.sessions() as s:
        consultation = create_consultation(
            s, list_slug="forum", title="Views", question_markdown="What now?", actor="test"
        )
    with database.sessions() as s:
        send_consultation(s, build_services(service), consultation.id, actor="test")
    [to_alice] = mail_to(database, alice, "consultation")
    alices_address = to_alice.headers["Reply-To"]
    send(service, BOB, "Bob's view, sent to Alice's address.", to=alices_address)
    handled(database, 1)
    with database.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ConsultationAnswer)) == 0
        row = s.scalars(select(InboundMessage)).one()
        assert row.status is InboundStatus.TRIAGE and "not stored" in row.outcome

    send(service, alice, "Alice's own view.", to=alices_address)
    handled(database, 2)
    with database.sessions() as s:
        [stored] = s.scalars(select(ConsultationAnswer)).all()
        owner = s.get(Person, stored.person_id)
        assert owner is not None and owner.email == alice and stored.text == "Alice's own view."


def test_replies_count_per_mailbox_and_repeat_nothing_a_stranger_chose(
    service: Config, database: TestDatabase
) -> None:
    for n in range(30):
        send(
            service,
            f"victim+t{n}@target.example",
            "what is this list?",
            subject="URGENT: your account is suspended, verify at http://phish.example",
            name="Claim Prize",
        )
    handled(database, 30)
    with database.sessions() as s:
        replies = list(
            s.scalars(select(OutboxMessage).where(OutboxMessage.recipient.like("victim%")))
        )
    assert 0 < len(replies) <= service.worker.replies_per_sender_per_hour
    for reply in replies:
        assert reply.subject == "Your message to Leaders of Networks Forum"
        assert "URGENT" not in reply.body_text and "phish" not in reply.body_text
        assert "Claim" not in reply.body_text and "Prize" not in reply.body_text


def test_no_automatic_reply_to_a_return_path_that_is_not_the_from_mailbox(
    service: Config, database: TestDatabase
) -> None:
    send(service, "kim@dept.example.org", "help", envelope="attacker@elsewhere.example")
    send(service, "lee@dept.example.org", "help", envelope="prvs=1234abcd=lee@dept.example.org")
    handled(database, 2)
    assert mail_to(database, "kim@dept.example.org") == []
    assert mail_to(database, "attacker@elsewhere.example") == []
    assert len(mail_to(database, "lee@dept.example.org")) == 1  # a BATV-tagged return path is hers


def test_the_public_links_form_is_limited_and_adds_no_one(
    service: Config, database: TestDatabase
) -> None:
    meeting = make_meeting(database.sessions)
    with database.sessions() as s:
        add_member(s, slug="forum", email=BOB, actor="test")
    browser = HttpClient(service.service.base_url)
    page = browser.get(f"/meetings/{meeting.id}")
    token = browser.csrf_token(page.body)
    for n in range(50):
        response = browser.post(
            f"/meetings/{meeting.id}", {"csrf_token": token, "email": f"stranger{n}@x.example"}
        )
        assert response.status == 200
    with database.sessions() as s:
        assert [p.email for p in s.scalars(select(Person))] == [BOB]
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    # The same client is now over its limit, even for a member's own address.
    browser.post(f"/meetings/{meeting.id}", {"csrf_token": token, "email": BOB})
    assert mail_to(database, BOB) == []


def test_a_calendar_reply_keeps_to_the_lists_sender_domains(
    service: Config, database: TestDatabase
) -> None:
    meeting = make_meeting(database.sessions, capacity=2)
    with database.sessions() as s:
        configure_list(s, slug="forum", allowed_sender_domains="*.gov.uk", actor="test")
    who = "frank@elsewhere.example"
    send_calendar_accept(service, who, meeting.id)
    handled(database, 1)
    assert answer_of(database, who) is None
    assert [m.kind for m in mail_to(database, who)] == ["sender_refused"]


def test_an_answer_from_another_return_path_is_neither_stored_nor_acknowledged(
    service: Config, database: TestDatabase
) -> None:
    """A reply address can be read in a forwarded copy: with a forged From: and the sender's own
    return path, and nothing else proving it, the answer is left for an organiser."""
    alice = "alice@dept.example.org"
    with database.sessions() as s:
        add_member(s, slug="forum", email=alice, actor="test")
    with database.sessions() as s:
        consultation = create_consultation(
            s, list_slug="forum", title="Views", question_markdown="What now?", actor="test"
        )
    with database.sessions() as s:
        send_consultation(s, build_services(service), consultation.id, actor="test")
    [to_alice] = mail_to(database, alice, "consultation")
    send(
        service,
        alice,
        "A view.",
        to=to_alice.headers["Reply-To"],
        subject="Forwarded secret subject",
        envelope="mallory@evil.example",
    )
    handled(database, 1)
    assert mail_to(database, alice, "consultation_ack") == []
    assert mail_to(database, "mallory@evil.example") == []
    with database.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ConsultationAnswer)) == 0
        assert s.scalars(select(InboundMessage)).one().status is InboundStatus.TRIAGE


def test_a_proven_request_from_another_return_path_acts_without_a_reply(
    service: Config, database: TestDatabase
) -> None:
    make_meeting(database.sessions, capacity=None)
    ana = "ana@dept.example.org"
    send(
        service,
        ana,
        "Please register me, remotely.",
        headers=dmarc_pass(ana),
        envelope="srs0=abcd=ef=dept.example.org=ana@forwarder.example",
    )
    handled(database, 1)
    assert answer_of(database, ana) is not None
    assert mail_to(database, ana) == []


def test_a_decline_from_a_proven_stranger_repeats_nothing_they_wrote(
    service: Config, database: TestDatabase
) -> None:
    meeting = make_meeting(database.sessions, capacity=None)
    who = "pn3@dept.example.org"
    with database.sessions() as s:
        record_rsvp(
            s,
            build_services(service),
            meeting_id=meeting.id,
            email=who,
            response=RsvpResponse.ATTENDING,
            mode=None,
            source="link",
        )
    send(
        service,
        who,
        "Sorry, I can't attend.",
        subject="SECRETSUBJ pills",
        name="Spammy McSpam",
        headers=dmarc_pass(who),
    )
    handled(database, 1)
    [reply] = [m for m in mail_to(database, who, "rsvp_confirmation") if m.in_reply_to]
    assert reply.subject == "Your message to Leaders of Networks Forum"
    assert "Spammy" not in reply.body_text and "SECRETSUBJ" not in reply.body_text


def test_a_reply_from_a_tagged_address_is_not_proof_for_the_untagged_ones_invitation(
    service: Config, database: TestDatabase
) -> None:
    meeting = make_meeting(database.sessions, capacity=None)
    with database.sessions() as s:
        add_member(s, slug="forum", email=BOB, actor="test")
    with database.sessions() as s:
        send_invitations(s, build_services(service), meeting.id, actor="test")
    [invitation] = mail_to(database, BOB, "invitation")
    tagged = "bob+x@dept.example.org"
    threading = f"In-Reply-To: {invitation.message_id}\r\n"
    send(service, tagged, "Sorry, I can't make it.", subject="Re: Forum", headers=threading)
    handled(database, 1)
    assert answer_of(database, tagged) is None and answer_of(database, BOB) is None
    assert [m.kind for m in mail_to(database, tagged)] == ["confirm_request"]


def test_a_join_confirmation_to_a_stranger_repeats_nothing_they_wrote(
    service: Config, database: TestDatabase
) -> None:
    stranger = "victim@stranger.example"
    send(service, stranger, "", to="forum-join@lists.test", subject="You have been outed")
    handled(database, 1)
    [confirmation] = mail_to(database, stranger, "join_confirm")
    assert confirmation.subject == "Confirm you want to join Leaders of Networks Forum"
    assert "outed" not in confirmation.body_text
