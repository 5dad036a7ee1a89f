"""Hostile text in every field people or organisers can type is shown as text, never run."""

from __future__ import annotations

from sqlalchemy import select

from mailer.domain.lists import add_member, create_list
from mailer.domain.meetings import create_meeting
from mailer.domain.models import AttendanceMode, Meeting, Person, RsvpResponse
from mailer.domain.news import create_news
from mailer.domain.queue import store_inbound
from mailer.domain.rsvp import record_rsvp
from mailer.domain.services import build_services
from mailer.inbound.process import process_inbound
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_organiser
from tests.support.http import HttpClient

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
SQL = "Robert'); DROP TABLE person;--"


def test_xss_and_sql_in_every_displayed_field(
    client: HttpClient, web_service, database: TestDatabase
) -> None:  # type: ignore[no-untyped-def]
    services = build_services(web_service.config)
    with database.sessions() as s:
        create_list(s, slug="forum", name=f"Forum {XSS}", description=XSS, actor="test")
    with database.sessions() as s:
        meeting = create_meeting(
            s,
            list_slug="forum",
            title=f"Meeting {XSS} {SQL}",
            starts_at="2099-03-12 14:00",
            ends_at="2099-03-12 16:00",
            venue=XSS,
            description=XSS,
            actor="test",
        )
    with database.sessions() as s:
        add_member(
            s, slug="forum", email="ana@example.org", display_name=f"{XSS} {SQL}", actor="test"
        )
    with database.sessions() as s:
        record_rsvp(
            s,
            services,
            meeting_id=meeting.id,
            email="ana@example.org",
            response=RsvpResponse.ATTENDING,
            mode=AttendanceMode.REMOTE,
            source="panel",
        )
    with database.sessions() as s:
        create_news(s, list_slug="forum", subject=f"News {XSS}", body_markdown=XSS, actor="test")
    with database.sessions() as s:
        inbound_id = store_inbound(
            s,
            mail_from="kim@example.org",
            rcpt_to=["forum@lists.test"],
            raw=f"From: {SQL} <kim@example.org>\r\nSubject: {XSS}\r\n\r\n{XSS}?\r\n".encode(),
        )
    process_inbound(database.sessions, services, inbound_id)
    make_organiser(database.sessions)
    with database.sessions() as s, s.begin():
        person = s.scalar(select(Person).where(Person.email == "ana@example.org"))
        rsvp_url = services.links.rsvp_url(person, s.get(Meeting, meeting.id), "remote")

    pages = [rsvp_url, f"/meetings/{meeting.id}"]
    member = HttpClient(client.base_url)
    for url in pages:
        body = member.get(url).body
        assert "<script>alert" not in body and "<img src=x" not in body, url
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    for path in (
        "/panel/",
        f"/panel/meetings/{meeting.id}",
        "/panel/lists/forum",
        "/panel/news",
        "/panel/news/1",
        "/panel/inbound",
        f"/panel/inbound/{inbound_id}",
        "/panel/audit",
        "/panel/outbox",
    ):
        response = client.get(path)
        assert response.status == 200, path
        assert "<script>alert" not in response.body and "<img src=x" not in response.body, path
        if path not in (
            "/panel/audit",
            "/panel/outbox",
            "/panel/inbound",
        ):  # these show no typed text
            assert "&lt;script&gt;" in response.body, path  # shown, as text
    with database.sessions() as s:
        assert (
            s.scalar(select(Person).where(Person.email == "ana@example.org")) is not None
        )  # the table is intact


def test_ids_too_large_for_any_row_find_nothing_rather_than_fail(
    client: HttpClient,
    web_service,
    database: TestDatabase,  # type: ignore[no-untyped-def]
) -> None:
    make_organiser(database.sessions)
    huge = "99999999999999999999999"
    assert client.get(f"/meetings/{huge}").status == 404
    assert client.get(f"/meetings/{2**63}").status == 404
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    for path in (
        f"/panel/meetings/{huge}",
        f"/panel/news/{huge}",
        f"/panel/consultations/{huge}",
        f"/panel/inbound/{huge}",
    ):
        assert client.get(path).status == 404, path
    for path in (
        f"/panel/meetings/new?copy={huge}",
        f"/panel/audit?before={huge}",
        "/panel/?page=" + huge,
    ):
        assert client.get(path).status == 200, path
