"""News: Markdown made safe, one outbox row per active member, sent exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mailer.domain.errors import InvalidInput
from mailer.domain.formatted_text import markdown_to_html
from mailer.domain.lists import add_member
from mailer.domain.models import (
    Mailing,
    News,
    NewsStatus,
    OutboxMessage,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from mailer.domain.news import (
    UNSUBSCRIBE_PLACEHOLDER,
    create_news,
    schedule_news,
    send_due_news,
    send_news_now,
    send_test,
    update_news,
)
from mailer.domain.services import Services
from tests.support.databases import TestDatabase
from tests.support.factories import make_list

BODY = "# Spring update\n\nThe forum meets in **March**. [Agenda](https://example.org/agenda)\n"


def members(database: TestDatabase, n: int, slug: str = "forum") -> None:
    for i in range(n):
        with database.sessions() as s:
            add_member(s, slug=slug, email=f"member{i}@example.org", actor="test")


def draft(database: TestDatabase, body: str = BODY) -> News:
    with database.sessions() as s:
        return create_news(
            s, list_slug="forum", subject="Spring update", body_markdown=body, actor="test"
        )


def outbox_count(database: TestDatabase, **where: object) -> int:
    with database.sessions() as s:
        q = select(func.count()).select_from(OutboxMessage)
        for k, v in where.items():
            q = q.where(getattr(OutboxMessage, k) == v)
        return s.scalar(q)


def test_markdown_is_rendered_and_sanitised() -> None:
    html = markdown_to_html(
        "**bold** <script>alert(1)</script> [x](javascript:alert(1)) "
        "<img src=x onerror=alert(1)> [ok](https://example.org)"
    )
    assert "<strong>bold</strong>" in html
    # Raw HTML is shown as text, never passed through; the javascript: link is not made a link.
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html
    assert '<a href="https://example.org" rel="noopener noreferrer">ok</a>' in html


def test_send_now_queues_one_row_per_active_member_once(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)
    members(database, 5)
    with database.sessions() as s, s.begin():
        s.scalars(select(Subscription)).first().status = SubscriptionStatus.UNSUBSCRIBED
    news = draft(database)
    with database.sessions() as s:
        assert send_news_now(s, services, news.id, actor="test") == 4
    with database.sessions() as s, pytest.raises(InvalidInput, match="already sent"):
        send_news_now(s, services, news.id, actor="test")
    assert outbox_count(database, kind="news") == 4
    with database.sessions() as s:
        mailing = s.scalars(select(Mailing)).one()
        rows = s.scalars(select(OutboxMessage)).all()
    assert mailing.recipients == 4 and UNSUBSCRIBE_PLACEHOLDER in mailing.body_text
    assert (
        "<strong>March</strong>" in mailing.body_html and 'style="' in mailing.body_html
    )  # CSS inlined
    assert mailing.headers["List-Id"] == "Leaders of Networks Forum <forum.lists.test>"
    assert len({r.recipient for r in rows}) == 4 and len({r.message_id for r in rows}) == 4
    assert all(r.sender.startswith("bounces+") and r.body_text is None for r in rows)


def test_scheduled_news_goes_out_once_when_due(database: TestDatabase, services: Services) -> None:
    make_list(database.sessions)
    members(database, 3)
    news = draft(database)
    with database.sessions() as s:
        schedule_news(s, news.id, at=utcnow() + timedelta(hours=1), actor="test")
    with database.sessions() as s:
        assert send_due_news(s, services) == []
    with database.sessions() as s, s.begin():
        s.get(News, news.id).scheduled_at = utcnow() - timedelta(seconds=1)
    with database.sessions() as s:
        assert send_due_news(s, services) == [news.id]
    with database.sessions() as s:
        assert send_due_news(s, services) == []
        assert s.get(News, news.id).status is NewsStatus.SENT
    assert outbox_count(database, kind="news") == 3


def test_test_copy_goes_only_to_the_organiser(database: TestDatabase, services: Services) -> None:
    make_list(database.sessions)
    members(database, 3)
    news = draft(database)
    with database.sessions() as s:
        send_test(s, services, news.id, to_email="organiser@example.org", actor="test")
    with database.sessions() as s:
        [row] = s.scalars(select(OutboxMessage)).all()
        assert s.get(News, news.id).status is NewsStatus.DRAFT
    assert row.recipient == "organiser@example.org" and row.subject == "[Test] Spring update"
    assert "/u/test" in row.body_text and UNSUBSCRIBE_PLACEHOLDER not in row.body_text


def test_validation_and_editing_rules(database: TestDatabase, services: Services) -> None:
    make_list(database.sessions)
    with database.sessions() as s, pytest.raises(InvalidInput, match="subject"):
        create_news(s, list_slug="forum", subject="  ", body_markdown=BODY, actor="test")
    with database.sessions() as s, pytest.raises(InvalidInput, match="Write the news"):
        create_news(s, list_slug="forum", subject="Hi", body_markdown=" \n", actor="test")
    news = draft(database)
    with database.sessions() as s:
        update_news(s, news.id, subject="New subject", body_markdown="Changed", actor="test")
    with database.sessions() as s, pytest.raises(InvalidInput, match="passed"):
        schedule_news(s, news.id, at=utcnow() - timedelta(hours=1), actor="test")
    with database.sessions() as s:
        send_news_now(s, services, news.id, actor="test")
    with database.sessions() as s, pytest.raises(InvalidInput, match="cannot be changed"):
        update_news(s, news.id, subject="Too late", body_markdown="x", actor="test")
