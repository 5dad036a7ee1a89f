"""Writing to a meeting's delegates from its page: all of them, or only those coming in person,
or only those joining remotely; never the whole list, never those still waiting for a place."""

from __future__ import annotations

import re

from sqlalchemy import select

from mailer.domain.lists import add_member
from mailer.domain.models import AttendanceMode, OutboxMessage, RsvpResponse
from mailer.domain.rsvp import record_rsvp
from mailer.domain.services import build_services
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_list, make_meeting, make_organiser
from tests.support.http import HttpClient
from tests.support.servers import RunningService


def test_a_room_change_goes_to_the_in_person_delegates_only(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, title="Winter Forum", capacity=1)
    make_organiser(database.sessions)
    services = build_services(web_service.config)
    with database.sessions() as s:
        add_member(s, slug="forum", email="member@example.org", actor="test")
    for who, mode in (
        ("ana", AttendanceMode.IN_PERSON),
        ("ben", AttendanceMode.REMOTE),
        ("cy", AttendanceMode.IN_PERSON),  # capacity 1: waiting for a place
    ):
        with database.sessions() as s:
            record_rsvp(
                s,
                services,
                meeting_id=meeting.id,
                email=f"{who}@example.org",
                response=RsvpResponse.ATTENDING,
                mode=mode,
                source="panel",
            )
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    page = client.get(f"/panel/meetings/{meeting.id}")
    assert f'href="/panel/news/new?meeting={meeting.id}"' in page.body
    form = client.get(f"/panel/news/new?meeting={meeting.id}")
    assert "Delegates coming in person" in form.body and "Everyone on the list" not in form.body
    created = client.post(
        f"/panel/news/new?meeting={meeting.id}",
        {
            "csrf_token": client.csrf_token(form.body),
            "list_slug": "forum",
            "audience": "in_person",
            "subject": "Room change",
            "body": "We have moved to **Room 2.02**.",
        },
    )
    assert "Draft saved" in created.body
    assert 'To <strong id="news-audience">the in-person delegates of Winter Forum' in created.body
    news_id = int(re.search(r"/panel/news/(\d+)/preview.html", created.body).group(1))
    asked = client.get(f"/panel/news/{news_id}/send")
    assert "Send “Room change” to 1 person now?" in asked.body
    assert "the in-person delegates of Winter Forum" in asked.body
    sent = client.post(f"/panel/news/{news_id}/send", {"csrf_token": client.csrf_token(asked.body)})
    assert "Sending to 1 person." in sent.body
    again = client.get(f"/panel/news/{news_id}/send")
    assert "“Room change” has already been sent" in again.body and 'id="confirm"' not in again.body
    with database.sessions() as s:
        news = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "news")).all()
    assert [m.recipient for m in news] == ["ana@example.org"]
    # A message for the delegates is not news for the whole list, whatever the form says.
    forged = client.post(
        "/panel/news/new",
        {
            "csrf_token": client.csrf_token(form.body),
            "list_slug": "forum",
            "audience": "in_person",
            "subject": "Sneaky",
            "body": "x",
        },
    )
    assert forged.status == 400


def test_the_delegates_email_says_why_they_get_it(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    from mailer.domain.models import Audience
    from mailer.domain.news import create_news, preview_news

    make_list(database.sessions)
    meeting = make_meeting(database.sessions, title="Winter Forum")
    with database.sessions() as s:
        news = create_news(
            s,
            list_slug="forum",
            subject="Slides",
            body_markdown="The slides: https://example.org/slides",
            actor="test",
            audience=Audience.DELEGATES,
            meeting_id=meeting.id,
        )
    with database.sessions() as s:
        rendered = preview_news(s, build_services(web_service.config), news.id)
    assert "You get this as a delegate for Winter Forum." in rendered.text
    assert "because you are on" not in rendered.text
    assert '<a href="https://example.org/slides"' in rendered.html
