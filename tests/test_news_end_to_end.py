"""News over real sockets: queued → worker → SMTP sink; the received message parses back into
text and HTML, carries the List-* headers, and both unsubscribe routes (RFC 8058 one-click POST
and the mailto address) work."""

from __future__ import annotations

import re
import smtplib
import urllib.request
from pathlib import Path

from sqlalchemy import select

from mailer.domain.lists import add_member
from mailer.domain.models import Subscription, SubscriptionStatus
from mailer.domain.news import create_news, send_news_now
from mailer.domain.services import build_services
from mailer.runtime import Runtime
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import make_list
from tests.support.http import HttpClient
from tests.support.net import wait_for
from tests.support.servers import RunningService, SmtpSink

BODY = "# Spring update\n\nThe forum meets in **March**. Café après — ünïcode.\n"


def status_of(database: TestDatabase, email: str) -> SubscriptionStatus:
    with database.sessions() as s:
        from mailer.domain.models import Person

        return s.scalar(
            select(Subscription.status)
            .join(Person, Person.id == Subscription.person_id)
            .where(Person.email == email)
        )


def test_news_arrives_right_and_unsubscribes_work(database: TestDatabase, tmp_path: Path) -> None:
    with SmtpSink() as sink:
        config = make_test_config(tmp_path, database.url, delivery=sink.smarthost_settings())
        services = build_services(config)
        runtime = Runtime(config, database.engine, database.sessions, services)
        make_list(database.sessions, name="Leaders' Forum – Café")
        for who in ("ana", "ben", "cy"):
            with database.sessions() as s:
                add_member(s, slug="forum", email=f"{who}@example.org", actor="test")
        with database.sessions() as s:
            news = create_news(
                s,
                list_slug="forum",
                subject="Spring update – ünïcode",
                body_markdown=BODY,
                actor="test",
            )
        with database.sessions() as s:
            assert send_news_now(s, services, news.id, actor="test") == 3

        with RunningService(runtime):
            received = sink.wait_for_count(3)
            assert sorted(r.rcpt_tos[0] for r in received) == [
                "ana@example.org",
                "ben@example.org",
                "cy@example.org",
            ]
            assert all(len(r.rcpt_tos) == 1 for r in received)  # one recipient per message, always
            ana = next(r for r in received if r.rcpt_tos == ["ana@example.org"])
            msg = ana.message
            assert msg["Subject"] == "Spring update – ünïcode"
            assert msg["To"] == "ana@example.org"
            assert msg["From"].addresses[0].display_name == "Leaders' Forum – Café"
            assert msg["List-Id"] == "Leaders' Forum – Café <forum.lists.test>"
            assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            assert msg.get_content_type() == "multipart/alternative"
            text = msg.get_body(preferencelist=("plain",)).get_content()
            html = msg.get_body(preferencelist=("html",)).get_content()
            assert "Café après — ünïcode" in text and "<strong" in html and "March" in html
            https_url, mailto = re.findall(r"<([^>]+)>", msg["List-Unsubscribe"])
            assert https_url.startswith(config.service.base_url + "/u/")
            assert mailto.startswith("mailto:forum-leave+") and mailto.endswith(
                "@lists.test?subject=unsubscribe"
            )
            assert https_url in text and https_url in html  # the footer link is the member's own
            other = next(r for r in received if r.rcpt_tos == ["ben@example.org"]).message
            assert other["List-Unsubscribe"] != msg["List-Unsubscribe"]
            assert "ana@example.org" not in other.as_string()

            # RFC 8058 one-click: a bare POST, no cookie, no CSRF token.
            request = urllib.request.Request(
                https_url,
                data=b"List-Unsubscribe=One-Click",
                method="POST",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
            assert status_of(database, "ana@example.org") is SubscriptionStatus.UNSUBSCRIBED
            # Opening the link later shows the list and its one button, not whether she is on it
            # (a link may be forwarded); the GET changes nothing.
            page = HttpClient(config.service.base_url).get(https_url)
            assert page.status == 200 and 'id="unsubscribe"' in page.body
            assert "not receiving" not in page.body and "subscribed" not in page.body.lower()
            assert "ana@example.org" not in page.body

            # The mailto route: a message to forum-leave+TOKEN@ unsubscribes whoever holds the
            # token.
            ben_mailto = re.findall(r"<mailto:([^?>]+)", other["List-Unsubscribe"])[0]
            with smtplib.SMTP(config.inbound.host, config.inbound.port, timeout=10) as client:
                client.sendmail(
                    "ben@example.org",
                    [ben_mailto],
                    b"From: ben@example.org\r\nSubject: unsubscribe\r\n\r\nunsubscribe\r\n",
                )
            wait_for(
                lambda: status_of(database, "ben@example.org") is SubscriptionStatus.UNSUBSCRIBED,
                message="ben to be unsubscribed by email",
            )
            assert status_of(database, "cy@example.org") is SubscriptionStatus.ACTIVE


def test_unsubscribe_page_button_and_rejoin(database: TestDatabase, tmp_path: Path) -> None:
    config = make_test_config(tmp_path, database.url)
    services = build_services(config)
    runtime = Runtime(config, database.engine, database.sessions, services)
    make_list(database.sessions)
    with database.sessions() as s:
        sub = add_member(s, slug="forum", email="ana@example.org", actor="test")
    url = services.links.unsubscribe_url(
        services.links.unsubscribe_token(sub.person_id, sub.list_id, 1)
    )
    with RunningService(runtime, smtp=False, worker=False):
        client = HttpClient(config.service.base_url)
        page = client.get(url)
        assert page.status == 200 and 'id="unsubscribe"' in page.body
        assert status_of(database, "ana@example.org") is SubscriptionStatus.ACTIVE
        done = client.post(url, {"List-Unsubscribe": "One-Click"})
        assert "You have unsubscribed" in done.body
        # No promise of silence it cannot keep: an answer to a meeting to come stands.
        assert "no more emails" not in done.body and "no more emails" not in page.body
        assert "that answer stands, and we will still email you about that meeting" in done.body
        assert status_of(database, "ana@example.org") is SubscriptionStatus.UNSUBSCRIBED
        assert (
            client.post(url + "/rejoin", {}).status == 400
        )  # rejoining needs the page's CSRF token
        back = client.post(url + "/rejoin", {"csrf_token": client.csrf_token(done.body)})
        assert "You are on Leaders of Networks Forum again" in back.body
        assert status_of(database, "ana@example.org") is SubscriptionStatus.ACTIVE
        bad = client.post(url[:-4] + "AAAA", {"List-Unsubscribe": "One-Click"})
        assert bad.status == 400
        assert client.get(config.service.base_url + "/u/preview").status == 200
