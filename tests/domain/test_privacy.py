"""Subject access and erasure: everything exported; erasure removes the person and keeps the
counts."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from mailer.db import make_engine, make_sessionmaker, migrate
from mailer.domain.errors import InvalidLink, NotFound
from mailer.domain.lists import add_member, list_members
from mailer.domain.meetings import attendee_report
from mailer.domain.models import (
    AttendanceMode,
    InboundMessage,
    Meeting,
    OutboxMessage,
    Person,
    RsvpResponse,
)
from mailer.domain.privacy import erase_person, export_person
from mailer.domain.queue import store_inbound
from mailer.domain.rsvp import record_rsvp, rsvp_page
from mailer.domain.services import Services, build_services
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting


def setup_person(database: TestDatabase, services: Services) -> tuple[Meeting, str]:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    with database.sessions() as s:
        add_member(
            s,
            slug="forum",
            email="alex@dept.example.org",
            display_name="Alex Example",
            actor="test",
        )
    with database.sessions() as s:
        record_rsvp(
            s,
            services,
            meeting_id=meeting.id,
            email="alex@dept.example.org",
            response=RsvpResponse.ATTENDING,
            mode=AttendanceMode.IN_PERSON,
            source="panel",
        )
    with database.sessions() as s:
        store_inbound(
            s,
            mail_from="alex@dept.example.org",
            rcpt_to=["forum@lists.test"],
            raw=b"From: alex@dept.example.org\r\n\r\nI use a wheelchair; is the venue "
            b"step-free?\r\n",
        )
    with database.sessions() as s, s.begin():
        person = s.scalar(select(Person).where(Person.email == "alex@dept.example.org"))
        token = services.links.rsvp_token(person, s.get(Meeting, meeting.id))
    return meeting, token


def test_export_has_everything(database: TestDatabase, services: Services) -> None:
    setup_person(database, services)
    with database.sessions() as s:
        data = export_person(s, "Alex@Dept.Example.org")
    json.dumps(data)  # plain data
    assert data["person"] == {
        "email": "alex@dept.example.org",
        "name": "Alex Example",
        "created_at": data["person"]["created_at"],
    }
    assert data["subscriptions"][0]["address"] == "forum"
    assert data["rsvps"][0]["mode"] == "in_person"
    assert data["messages_received"][0]["kind"] == "rsvp_confirmation"
    assert "step-free" in data["messages_sent"][0]["raw"]
    assert any(e["action"] == "rsvp.record" for e in data["audit"])


def test_erase_removes_the_person_keeps_counts_and_kills_links(
    database: TestDatabase, services: Services
) -> None:
    meeting, token = setup_person(database, services)
    with database.sessions() as s, s.begin():  # the meeting took place
        held = s.get_one(Meeting, meeting.id)
        held.starts_at -= timedelta(days=30)
        held.ends_at -= timedelta(days=30)
    with database.sessions() as s:
        result = erase_person(s, "alex@dept.example.org", actor="test", services=services)
    assert result["rsvps_kept_anonymously"] == 1 and result["inbound_messages_deleted"] == 1
    with database.sessions() as s:
        assert s.scalar(select(Person).where(Person.email == "alex@dept.example.org")) is None
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 0
        everything = " ".join(
            str(v)
            for m in s.scalars(select(OutboxMessage))
            for v in (m.recipient, m.body_text, m.headers)
        )
        assert "alex" not in everything.lower()
    with database.sessions() as s:
        report = attendee_report(s, meeting.id)
    assert report.in_person == 1  # the count of a meeting that took place survives
    assert all("alex" not in a.email for a in report.attendees)
    with database.sessions() as s, pytest.raises(InvalidLink):
        rsvp_page(s, services, token, "remote")  # a stale link cannot bring the person back
    with database.sessions() as s, pytest.raises(NotFound):
        export_person(s, "alex@dept.example.org")


def test_erasing_someone_with_a_place_to_come_gives_it_to_the_next_in_line(
    database: TestDatabase, services: Services
) -> None:
    meeting, _ = setup_person(database, services)
    with database.sessions() as s, s.begin():
        s.execute(update(Meeting).values(capacity=1))
    with database.sessions() as s:
        waiting = record_rsvp(
            s,
            services,
            meeting_id=meeting.id,
            email="bea@dept.example.org",
            response=RsvpResponse.ATTENDING,
            mode=AttendanceMode.IN_PERSON,
            source="panel",
        )
    assert waiting.waitlisted
    with database.sessions() as s:
        result = erase_person(s, "alex@dept.example.org", actor="test", services=services)
    assert result["upcoming_answers_withdrawn"] == 1
    with database.sessions() as s:
        report = attendee_report(s, meeting.id)
        assert [(a.email, a.waitlisted) for a in report.attendees] == [
            ("bea@dept.example.org", False)
        ]
        promoted = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "waitlist_promoted")
        ).one()
        assert promoted.recipient == "bea@dept.example.org"
        assert list_members(s, "forum") == []  # no "erased-..." placeholder on the list


def test_export_and_erasure_match_the_whole_address_never_a_pattern(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    for sender, to in (
        ("j_smith@wild.example", "forum@lists.test"),
        ("jxsmith@wild.example", "forum@lists.test"),
        ("someone@wild.example", "forum@lists.test"),
    ):
        with database.sessions() as s:
            store_inbound(
                s,
                mail_from=sender,
                rcpt_to=[to],
                raw=f"From: {sender}\r\n\r\nhello from {sender}\r\n".encode(),
            )
    with database.sessions() as s:
        add_member(s, slug="forum", email="j_smith@wild.example", actor="test")
    with database.sessions() as s:
        data = export_person(s, "j_smith@wild.example")
    assert [m["raw"].split("hello from ")[1].strip() for m in data["messages_sent"]] == [
        "j_smith@wild.example"
    ]
    with database.sessions() as s:
        erase_person(s, "j_smith@wild.example", actor="test", services=services)
    with database.sessions() as s:
        left = sorted(m.mail_from for m in s.scalars(select(InboundMessage)))
    assert left == ["jxsmith@wild.example", "someone@wild.example"]


def test_erasure_empties_the_dev_mailbox_of_their_mail_and_only_theirs(
    database: TestDatabase, services: Services
) -> None:
    import mailbox

    assert services.config.delivery.backend == "maildir"
    services.config.maildir_path.parent.mkdir(parents=True, exist_ok=True)
    box = mailbox.Maildir(services.config.maildir_path, create=True)
    for recipient in ("J_Smith@wild.example", "jxsmith@wild.example"):
        box.add(
            f"Delivered-To: {recipient}\r\nTo: {recipient}\r\nSubject: Your place\r\n\r\n"
            "You are attending in person.\r\n".encode()
        )
    make_list(database.sessions)
    with database.sessions() as s:
        add_member(s, slug="forum", email="j_smith@wild.example", actor="test")
    with database.sessions() as s:
        result = erase_person(s, "j_smith@wild.example", actor="test", services=services)
    assert result["dev_mailbox_messages_deleted"] == 1
    left = [message["Delivered-To"] for message in mailbox.Maildir(services.config.maildir_path)]
    assert left == ["jxsmith@wild.example"]


def test_erased_text_is_not_left_readable_in_the_sqlite_file(tmp_path: Path) -> None:
    """On a database of its own: reading a SQLite file from the process that has it open would
    release that process's locks on it (POSIX locks are per process), so the file is read only
    once every connection to it is closed."""
    path = tmp_path / "own.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    database = TestDatabase(f"sqlite:///{path}", engine, make_sessionmaker(engine))
    services = build_services(make_test_config(tmp_path, database.url))
    setup_person(database, services)
    with database.sessions() as s:
        assert s.execute(text("PRAGMA secure_delete")).scalar() == 1
    with database.sessions() as s:
        erase_person(s, "alex@dept.example.org", actor="test", services=services)
    engine.dispose()
    files = [path, path.with_name(path.name + "-wal")]
    leftovers = b"".join(f.read_bytes() for f in files if f.exists())
    assert b"step-free" not in leftovers and b"alex@dept.example.org" not in leftovers
