"""A real browser: the news editor previews the Markdown live, sanitised, as the organiser types."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.support.databases import TestDatabase
from tests.support.factories import make_list
from tests.support.servers import RunningService

pytestmark = pytest.mark.browser


def test_markdown_preview_updates_as_you_type(
    chromium_browser, web_on_sqlite: RunningService, sqlite_only_database: TestDatabase
) -> None:  # type: ignore[no-untyped-def]
    make_list(sqlite_only_database.sessions)
    base = web_on_sqlite.config.service.base_url
    page = chromium_browser.new_page()
    log_in(page, base)
    page.goto(f"{base}/panel/news/new")
    page.get_by_label("Message (Markdown)").fill(
        "# Spring\n\nThe forum meets in **March**. <script>alert(1)</script>"
    )
    preview = page.locator("#live-preview")
    preview.locator("strong", has_text="March").wait_for(timeout=10_000)
    assert preview.locator("h1", has_text="Spring").count() == 1
    assert preview.locator("script").count() == 0  # sanitised exactly like the email
    page.get_by_label("Message (Markdown)").fill("Now *different*")
    preview.locator("em", has_text="different").wait_for(timeout=10_000)
    assert "March" not in preview.inner_text()
    page.close()
