"""A real browser: the organiser logs in and watches an RSVP arrive from a member's link."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from mailer.domain.models import AttendanceMode, Meeting, Person, Rsvp
from mailer.domain.services import build_services
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_list, make_meeting, make_organiser
from tests.support.servers import RunningService, web_only

pytestmark = pytest.mark.browser


@pytest.fixture
def running(database: TestDatabase, tmp_path: Path) -> Iterator[RunningService]:
    with web_only(make_test_config(tmp_path, database.url), database) as service:
        yield service


def test_organiser_logs_in_and_sees_a_member_rsvp(
    chromium_browser, running: RunningService, database: TestDatabase
) -> None:  # type: ignore[no-untyped-def]
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, title="Spring Forum")
    make_organiser(database.sessions)
    services = build_services(running.config)
    with database.sessions() as s, s.begin():
        person = Person(email="robin@example.org", display_name="Robin Example")
        s.add(person)
        s.flush()
        link = services.links.rsvp_url(person, s.get(Meeting, meeting.id), "in-person")
    base = running.config.service.base_url

    organiser = chromium_browser.new_page()
    organiser.goto(f"{base}/panel/")
    assert "/login" in organiser.url
    organiser.get_by_label("Email address").fill("organiser@example.org")
    organiser.get_by_label("Password").fill("wrong password")
    organiser.get_by_role("button", name="Log in").click()
    assert organiser.get_by_role("alert").inner_text().count("not right") == 1
    organiser.get_by_label("Password").fill(ORGANISER_PASSWORD)
    organiser.get_by_role("button", name="Log in").click()
    organiser.get_by_role("heading", name="Lists and meetings").wait_for()
    organiser.get_by_role("link", name="Spring Forum").click()
    assert organiser.locator("#count-in-person").inner_text() == "0 of 40"

    member = chromium_browser.new_page()
    member.goto(link)
    assert member.get_by_role("heading", name="Spring Forum").is_visible()
    assert "robin@example.org" not in member.content()
    with database.sessions() as s:
        assert s.scalars(select(Rsvp)).all() == []  # opening the link changed nothing
    member.get_by_role("button", name="Attend in person").click()
    member.get_by_text("You are attending in person").wait_for()
    member.close()

    organiser.reload()
    assert organiser.locator("#count-in-person").inner_text() == "1 of 40"
    assert re.search(
        r"robin@example\.org\s+Robin Example\s+In person",
        organiser.locator("#attendees").inner_text(),
    )
    with database.sessions() as s:
        assert s.scalars(select(Rsvp)).one().mode is AttendanceMode.IN_PERSON
    organiser.close()
