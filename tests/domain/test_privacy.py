"""Subject access and erasure: everything exported; erasure removes the person and keeps the
counts."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from mailer.domain.errors import InvalidLink, NotFound
from mailer.domain.lists import add_member
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
from mailer.domain.services import Services
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
    with database.sessions() as s:
        result = erase_person(s, "alex@dept.example.org", actor="test")
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
    assert report.in_person == 1  # the count survives
    assert all("alex" not in a.email for a in report.attendees)
    with database.sessions() as s, pytest.raises(InvalidLink):
        rsvp_page(s, services, token, "remote")  # a stale link cannot bring the person back
    with database.sessions() as s, pytest.raises(NotFound):
        export_person(s, "alex@dept.example.org")
