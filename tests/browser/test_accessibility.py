"""axe-core in Chromium on every main page: no serious or critical accessibility violations."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from mailer.domain.consultations import (
    RoleSpec,
    create_consultation,
    record_answer,
    send_consultation,
)
from mailer.domain.lists import add_member
from mailer.domain.models import (
    AttendanceMode,
    ConsultationKind,
    Meeting,
    Person,
    RsvpResponse,
)
from mailer.domain.news import create_news
from mailer.domain.outbox import ReplyThread
from mailer.domain.rsvp import record_rsvp
from mailer.domain.services import build_services
from tests.browser.conftest import log_in
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import answer_claim, make_list, make_meeting, make_organiser
from tests.support.servers import RunningService, web_only

pytestmark = pytest.mark.browser


@pytest.fixture
def running(sqlite_only_database: TestDatabase, tmp_path: Path) -> Iterator[RunningService]:
    with web_only(
        make_test_config(tmp_path, sqlite_only_database.url), sqlite_only_database
    ) as service:
        yield service


def test_no_serious_or_critical_violations(
    chromium_browser, running: RunningService, sqlite_only_database: TestDatabase
) -> None:  # type: ignore[no-untyped-def]
    db = sqlite_only_database
    make_list(db.sessions)
    meeting = make_meeting(db.sessions, capacity=1)  # one place, so a waiting list
    organiser = make_organiser(db.sessions)
    with db.sessions() as s:
        add_member(s, slug="forum", email="ana@example.org", display_name="Ana", actor="test")
    with db.sessions() as s:
        news = create_news(
            s,
            list_slug="forum",
            subject="Spring update",
            body_markdown="# Hello\n\nNews.",
            actor="t",
        )
    services = build_services(running.config)
    with db.sessions() as s:
        consultation = create_consultation(
            s,
            list_slug="forum",
            title="Volunteers",
            question_markdown="Can you help?",
            kind=ConsultationKind.VOLUNTEERS,
            roles=[RoleSpec("Communications")],
            actor="test",
        )
    with db.sessions() as s:
        send_consultation(s, services, consultation.id, actor="test")
    with db.sessions() as s:
        record_answer(
            s,
            services,
            claim=answer_claim(s, consultation.id, "ana@example.org"),
            email="ana@example.org",
            display_name="Ana",
            text="Communications, gladly.",
            thread=ReplyThread("<a@client.example>"),
        )
    for email in ("ana@example.org", "bo.waiting@example.org"):
        with db.sessions() as s:
            record_rsvp(
                s,
                services,
                meeting_id=meeting.id,
                email=email,
                response=RsvpResponse.ATTENDING,
                mode=AttendanceMode.IN_PERSON,
                source="panel",
            )
    with db.sessions() as s:
        waiting_id = s.scalars(
            select(Person.id).where(Person.email == "bo.waiting@example.org")
        ).one()
    with db.sessions() as s, s.begin():
        person = s.scalar(select(Person).where(Person.email == "ana@example.org"))
        volunteer_url = services.links.volunteer_url(person, consultation.roles[0].id)
        rsvp_url = services.links.rsvp_url(person, s.get(Meeting, meeting.id), "in-person")
        unsubscribe_url = services.links.unsubscribe_url(
            services.links.unsubscribe_token(person.id, 1, 1)
        )
    base = running.config.service.base_url
    public_pages = [
        rsvp_url,
        unsubscribe_url,
        volunteer_url,
        f"{base}/privacy",
        f"{base}/meetings/{meeting.id}",
        f"{base}/login",
        f"{base}/rsvp/not-a-token/remote",
        services.links.set_password_url(organiser.id, organiser.password_hash),
    ]
    panel_pages = [
        "/panel/",
        f"/panel/meetings/{meeting.id}",
        "/panel/meetings/new",
        "/panel/lists/new",
        "/panel/lists/forum",
        "/panel/news",
        "/panel/news/new",
        f"/panel/news/{news.id}",
        "/panel/inbound",
        "/panel/outbox",
        "/panel/audit",
        "/panel/mailbox",
        "/panel/people?email=ana@example.org",
        "/panel/consultations",
        "/panel/consultations/new",
        f"/panel/consultations/{consultation.id}",
        f"/panel/meetings/{meeting.id}/emails/agenda-in-person",
        f"/panel/meetings/{meeting.id}/edit",
        f"/panel/meetings/{meeting.id}/cancel",
        f"/panel/meetings/{meeting.id}/invite",
        f"/panel/meetings/{meeting.id}/waitlist/{waiting_id}/offer",
        f"/panel/meetings/{meeting.id}/waitlist/{waiting_id}/place",
        f"/panel/meetings/{meeting.id}/waitlist/{waiting_id}/remove",
        f"/panel/news/{news.id}/send",
        "/panel/lists/forum/remove?email=ana@example.org",
        "/panel/account",
        "/panel/account/second-step",
        "/panel/account/second-step/off",
        "/panel/organisers",
        "/panel/organisers/invite",
        f"/panel/organisers/{organiser.id}",
    ]
    axe = Axe()
    page = chromium_browser.new_page()
    page.set_viewport_size({"width": 1100, "height": 800})
    problems: list[str] = []

    shots = os.environ.get(
        "CONVENE_SCREENSHOTS_DIR"
    )  # `make screenshots` refreshes docs/screenshots

    def check(url: str) -> None:
        page.goto(url, wait_until="networkidle")
        if shots:
            path = url.replace(base, "").split("?")[0]
            path = {
                rsvp_url.replace(base, ""): "rsvp-page",
                unsubscribe_url.replace(base, ""): "unsubscribe-page",
                volunteer_url.replace(base, ""): "volunteer-page",
                "/rsvp/not-a-token/remote": "link-error",
            }.get(path, path)
            name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"
            page.screenshot(path=str(Path(shots) / f"{name[:60]}.png"), full_page=True)
        results = axe.run(page)
        for violation in results.response["violations"]:
            if violation["impact"] in ("serious", "critical"):
                problems.append(
                    f"{url}: {violation['id']} ({violation['impact']}): {violation['help']} "
                    f"e.g. {violation['nodes'][0]['html'][:120]}"
                )

    for url in public_pages:
        check(url)
    log_in(page, base)
    for path in panel_pages:
        check(base + path)
    # On a phone (390 px), no page scrolls sideways: wide tables scroll inside their own box.
    page.set_viewport_size({"width": 390, "height": 800})
    for url in [*public_pages, *(base + path for path in panel_pages)]:
        page.goto(url, wait_until="networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            wide = page.evaluate(
                "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect()"
                ".right > 391).slice(-3).map(e => e.outerHTML.slice(0, 90))"
            )
            problems.append(f"{url}: {width} px wide at 390 px: {wide}")
    # The checker itself finds real problems: an unlabelled field and an image without text.
    page.set_content(
        '<html lang="en"><body><main><form><input type="text"></form><img '
        'src="x.png"></main></body></html>'
    )
    found = {v["id"] for v in axe.run(page).response["violations"]}
    page.close()
    assert {"label", "image-alt"} <= found
    assert problems == [], "\n".join(problems)
