"""The panel's news flow over real HTTP: write, preview, test to me, schedule, send, see
delivery."""

from __future__ import annotations

import re

from sqlalchemy import select

from mailer.domain.lists import add_member
from mailer.domain.models import News, NewsStatus, OutboxMessage
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_list, make_organiser
from tests.support.http import HttpClient


def logged_in(client: HttpClient, database: TestDatabase) -> str:
    make_list(database.sessions)
    make_organiser(database.sessions)
    for who in ("ana", "ben"):
        with database.sessions() as s:
            add_member(s, slug="forum", email=f"{who}@example.org", actor="test")
    return client.login("organiser@example.org", ORGANISER_PASSWORD).body


def test_write_preview_test_and_send(client: HttpClient, database: TestDatabase) -> None:
    logged_in(client, database)
    form = client.get("/panel/news/new")
    assert form.status == 200 and "Message (Markdown)" in form.body
    created = client.post(
        "/panel/news/new",
        {
            "csrf_token": client.csrf_token(form.body),
            "list_slug": "forum",
            "subject": "Spring update",
            "body": "# Hello\n\nThe forum meets in **March**.",
        },
    )
    assert created.status == 200 and "Draft saved" in created.body
    news_id = int(re.search(r"/panel/news/(\d+)/preview.html", created.body).group(1))
    assert "The forum meets in March." in created.body  # plain-text version, as text
    assert "**March**" not in created.body
    preview = client.get(f"/panel/news/{news_id}/preview.html")
    assert "<strong" in preview.body and "March" in preview.body
    assert (
        "script-src" not in preview.headers["Content-Security-Policy"]
    )  # scripts never run in previews
    assert "frame-ancestors 'self'" in preview.headers["Content-Security-Policy"]

    token = client.csrf_token(created.body)
    tested = client.post(f"/panel/news/{news_id}/test", {"csrf_token": token})
    assert "A test copy is on its way to organiser@example.org" in tested.body
    with database.sessions() as s:
        [test_row] = s.scalars(select(OutboxMessage)).all()
    assert (
        test_row.recipient == "organiser@example.org" and test_row.subject == "[Test] Spring update"
    )

    sent = client.post(f"/panel/news/{news_id}/send", {"csrf_token": token})
    assert "Sending to 2 people" in sent.body
    assert re.search(r'id="news-status">Sent<', sent.body)
    assert re.search(r'id="count-queued">2<', sent.body)
    again = client.post(f"/panel/news/{news_id}/send", {"csrf_token": token})
    assert "Not done" in again.body or again.status == 404 or 'id="send-now"' not in again.body
    with database.sessions() as s:
        assert len(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "news")).all()) == 2

    delivery = client.get("/panel/outbox")
    assert delivery.status == 200 and re.search(
        r'id="count-queued">3<', delivery.body
    )  # 2 news + the test


def test_validation_errors_are_shown_next_to_fields(
    client: HttpClient, database: TestDatabase
) -> None:
    logged_in(client, database)
    form = client.get("/panel/news/new")
    response = client.post(
        "/panel/news/new",
        {
            "csrf_token": client.csrf_token(form.body),
            "list_slug": "forum",
            "subject": "",
            "body": "",
        },
    )
    assert response.status == 400
    assert "There is a problem" in response.body
    assert "Enter a subject" in response.body and "Write the message" in response.body
    with database.sessions() as s:
        assert s.scalars(select(News)).all() == []


def test_schedule_and_cancel(client: HttpClient, database: TestDatabase) -> None:
    logged_in(client, database)
    form = client.get("/panel/news/new")
    created = client.post(
        "/panel/news/new",
        {
            "csrf_token": client.csrf_token(form.body),
            "list_slug": "forum",
            "subject": "Later",
            "body": "Soon.",
        },
    )
    news_id = int(re.search(r"/panel/news/(\d+)/preview.html", created.body).group(1))
    token = client.csrf_token(created.body)
    past = client.post(
        f"/panel/news/{news_id}/schedule", {"csrf_token": token, "send_at": "2000-01-01T09:00"}
    )
    assert "already passed" in past.body
    scheduled = client.post(
        f"/panel/news/{news_id}/schedule", {"csrf_token": token, "send_at": "2099-03-01T09:00"}
    )
    assert "Scheduled for 01 March 2099 at 09:00" in scheduled.body
    with database.sessions() as s:
        news = s.get(News, news_id)
        assert news.status is NewsStatus.SCHEDULED
        assert news.scheduled_at.isoformat() == "2099-03-01T09:00:00+00:00"  # GMT in March
    cancelled = client.post(f"/panel/news/{news_id}/cancel", {"csrf_token": token})
    assert re.search(r'id="news-status">Cancelled<', cancelled.body)


def test_news_actions_need_csrf(client: HttpClient, database: TestDatabase) -> None:
    logged_in(client, database)
    form = client.get("/panel/news/new")
    created = client.post(
        "/panel/news/new",
        {
            "csrf_token": client.csrf_token(form.body),
            "list_slug": "forum",
            "subject": "S",
            "body": "B",
        },
    )
    news_id = int(re.search(r"/panel/news/(\d+)/preview.html", created.body).group(1))
    assert client.post(f"/panel/news/{news_id}/send", {}).status == 400
    with database.sessions() as s:
        assert s.scalars(select(OutboxMessage)).all() == []


def test_live_preview_endpoint_renders_sanitised_html(
    client: HttpClient, database: TestDatabase
) -> None:
    logged_in(client, database)
    form = client.get("/panel/news/new")
    assert (
        'data-preview-url="/panel/news/preview"' in form.body and "convene-preview.js" in form.body
    )
    token = client.csrf_token(form.body)
    assert client.post("/panel/news/preview", {"body": "**x**"}).status == 400  # no CSRF token
    rendered = client.post(
        "/panel/news/preview",
        {
            "csrf_token": token,
            "body": "**bold** <script>alert(1)</script> [x](javascript:alert(1))",
        },
    )
    assert rendered.status == 200
    html = __import__("json").loads(rendered.body)["html"]
    assert (
        "<strong>bold</strong>" in html and "<script" not in html and 'href="javascript' not in html
    )
    too_long = client.post("/panel/news/preview", {"csrf_token": token, "body": "x" * 100_001})
    assert too_long.status == 400 and "100,000 characters" in too_long.body
