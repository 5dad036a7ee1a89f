"""A smarthost that answers 421 / 450 / 550, drops the connection or stalls:
retries, backoff, permanent failure, bounces and give-up behave as specified."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mailer.config import Config
from mailer.domain.lists import add_member
from mailer.domain.models import (
    BounceEvent,
    BounceKind,
    OutboxMessage,
    OutboxStatus,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from mailer.domain.news import create_news, send_news_now
from mailer.domain.services import build_services
from mailer.outbound.delivery import retry_delay
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.delivery import deliver_once as deliver
from tests.support.factories import make_list
from tests.support.servers import SmtpSink


def news_to(database: TestDatabase, config: Config, count: int) -> None:
    make_list(database.sessions)
    for i in range(count):
        with database.sessions() as s:
            add_member(s, slug="forum", email=f"m{i:03}@example.org", actor="test")
    with database.sessions() as s:
        news = create_news(
            s, list_slug="forum", subject="News", body_markdown="Hello", actor="test"
        )
    with database.sessions() as s:
        send_news_now(s, build_services(config), news.id, actor="test")


def rows(database: TestDatabase) -> list[OutboxMessage]:
    with database.sessions() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def make_due(database: TestDatabase) -> None:
    with database.sessions() as s, s.begin():
        for row in s.scalars(
            select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.QUEUED)
        ):
            row.next_attempt_at = utcnow() - timedelta(seconds=1)


@pytest.fixture
def sink() -> SmtpSink:
    with SmtpSink() as running:
        yield running


def config_for(
    tmp_path: Path, database: TestDatabase, sink: SmtpSink, **delivery: object
) -> Config:
    settings = sink.smarthost_settings()
    settings["smarthost"]["timeout"] = delivery.pop("timeout", 5.0)  # type: ignore[index]
    return make_test_config(
        tmp_path,
        database.url,
        delivery={**settings, "connections": 1, **delivery},
        worker={"retry_base_seconds": 60.0},
    )


@pytest.mark.parametrize(
    "reply", ["421 4.3.2 Service shutting down", "450 4.2.1 Mailbox busy", "drop"]
)
def test_temporary_failures_are_retried_with_backoff_and_nothing_is_lost(
    database: TestDatabase, tmp_path: Path, sink: SmtpSink, reply: str
) -> None:
    config = config_for(tmp_path, database, sink)
    news_to(database, config, 3)
    sink.handler.scripted.append(reply)
    before = utcnow()
    deliver(database, config)
    first = rows(database)
    failed = [r for r in first if r.status is OutboxStatus.QUEUED]
    assert len(failed) >= 1 and all(r.last_error for r in failed)
    for r in failed:  # attempt 1: between half and all of the 60 s base
        assert timedelta(seconds=29) <= r.next_attempt_at - before <= timedelta(seconds=61)
    assert deliver(database, config) == 0  # not due yet: backoff honoured
    make_due(database)
    deliver(database, config)
    assert all(r.status is OutboxStatus.SENT for r in rows(database))
    assert sorted(r.rcpt_tos[0] for r in sink.received) == [
        "m000@example.org",
        "m001@example.org",
        "m002@example.org",
    ]


def test_a_stalled_smarthost_times_out_and_is_retried(
    database: TestDatabase, tmp_path: Path, sink: SmtpSink
) -> None:
    config = config_for(tmp_path, database, sink, timeout=1.0)
    news_to(database, config, 1)
    sink.handler.scripted.append("stall")
    started = time.monotonic()
    deliver(database, config)
    assert (
        time.monotonic() - started < sink.handler.stall_seconds
    )  # we gave up waiting, not the server
    [row] = rows(database)
    assert row.status is OutboxStatus.QUEUED and "unavailable" in row.last_error
    make_due(database)
    deliver(database, config)
    assert rows(database)[0].status is OutboxStatus.SENT and len(sink.received) == 1


def test_backoff_grows_and_is_capped() -> None:
    for attempts, low, high in ((1, 30, 60), (2, 60, 120), (3, 120, 240)):
        for _ in range(20):
            assert low <= retry_delay(attempts, 60).total_seconds() <= high
    assert retry_delay(40, 60).total_seconds() <= 6 * 3600


def test_550_fails_permanently_and_feeds_the_bounce_record(
    database: TestDatabase, tmp_path: Path, sink: SmtpSink
) -> None:
    config = config_for(tmp_path, database, sink, bounce_threshold=2)
    news_to(database, config, 1)
    sink.handler.scripted.append("550 5.1.1 No such user")
    deliver(database, config)
    [row] = rows(database)
    assert row.status is OutboxStatus.FAILED and "550" in row.last_error
    with database.sessions() as s:
        [event] = s.scalars(select(BounceEvent)).all()
        sub = s.scalars(select(Subscription)).one()
    assert (event.kind, event.status, event.person_id) == (BounceKind.HARD, "550", row.person_id)
    assert (
        sub.bounce_score == 2 and sub.status is SubscriptionStatus.ACTIVE
    )  # a hard bounce is worth 2 points
    # A second hard bounce reaches the threshold: delivery to this member is suspended.
    with database.sessions() as s:
        news = create_news(s, list_slug="forum", subject="More", body_markdown="Hi", actor="test")
    with database.sessions() as s:
        send_news_now(s, build_services(config), news.id, actor="test")
    sink.handler.scripted.append("550 5.1.1 No such user")
    deliver(database, config)
    with database.sessions() as s:
        sub = s.scalars(select(Subscription)).one()
    assert sub.bounce_score == 4 and sub.status is SubscriptionStatus.BOUNCING
    assert sink.received == []


def test_give_up_after_the_configured_age(
    database: TestDatabase, tmp_path: Path, sink: SmtpSink
) -> None:
    config = config_for(tmp_path, database, sink)
    news_to(database, config, 1)
    with database.sessions() as s, s.begin():
        s.scalars(select(OutboxMessage)).one().created_at = utcnow() - timedelta(hours=49)
    sink.handler.scripted.append("451 4.3.0 Try later")
    deliver(database, config)
    [row] = rows(database)
    assert row.status is OutboxStatus.FAILED and row.last_error.startswith(
        "gave up after 1 attempts over 48 h"
    )


def test_per_minute_limit_is_shared_and_honoured(
    database: TestDatabase, tmp_path: Path, sink: SmtpSink
) -> None:
    config = config_for(tmp_path, database, sink, max_per_minute=3)
    news_to(database, config, 5)
    assert deliver(database, config) == 3
    assert deliver(database, config) == 0  # the minute's budget is spent, whoever asks
    assert len(sink.received) == 3
    with database.sessions() as s, s.begin():  # a minute later
        for row in s.scalars(
            select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.SENT)
        ):
            row.sent_at = utcnow() - timedelta(seconds=61)
    assert deliver(database, config) == 2
    assert len(sink.received) == 5


def test_per_day_limit(database: TestDatabase, tmp_path: Path, sink: SmtpSink) -> None:
    config = config_for(tmp_path, database, sink, max_per_day=4)
    news_to(database, config, 6)
    assert deliver(database, config) == 4
    assert deliver(database, config) == 0
    assert len(sink.received) == 4


def test_several_connections_each_reused(
    database: TestDatabase, tmp_path: Path, sink: SmtpSink
) -> None:
    config = config_for(tmp_path, database, sink, connections=4)
    news_to(database, config, 40)
    deliver(database, config)
    assert len(sink.received) == 40
    per_connection: dict[object, int] = {}
    for r in sink.received:
        per_connection[r.peer] = per_connection.get(r.peer, 0) + 1
    assert 2 <= len(per_connection) <= 4
    assert max(per_connection.values()) >= 5
