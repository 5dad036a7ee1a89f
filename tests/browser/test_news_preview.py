"""A real browser: the news editor previews the Markdown live, sanitised, as the organiser types."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_list, make_organiser
from tests.support.servers import RunningService, web_only

pytestmark = pytest.mark.browser


@pytest.fixture
def running(sqlite_only_database: TestDatabase, tmp_path: Path) -> Iterator[RunningService]:
    with web_only(make_test_config(tmp_path, sqlite_only_database.url), sqlite_only_database) as service:
        yield service


def test_markdown_preview_updates_as_you_type(chromium_browser, running: RunningService,
                                              sqlite_only_database: TestDatabase) -> None:  # type: ignore[no-untyped-def]
    make_list(sqlite_only_database.sessions)
    make_organiser(sqlite_only_database.sessions)
    base = running.config.service.base_url
    page = chromium_browser.new_page()
    page.goto(f"{base}/login")
    page.get_by_label("Email address").fill("organiser@example.org")
    page.get_by_label("Password").fill(ORGANISER_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Lists and meetings").wait_for()
    page.goto(f"{base}/panel/news/new")
    page.get_by_label("Message (Markdown)").fill("# Spring\n\nThe forum meets in **March**. <script>alert(1)</script>")
    preview = page.locator("#live-preview")
    preview.locator("strong", has_text="March").wait_for(timeout=10_000)
    assert preview.locator("h1", has_text="Spring").count() == 1
    assert preview.locator("script").count() == 0  # sanitised exactly like the email
    page.get_by_label("Message (Markdown)").fill("Now *different*")
    preview.locator("em", has_text="different").wait_for(timeout=10_000)
    assert "March" not in preview.inner_text()
    page.close()
