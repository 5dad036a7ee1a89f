"""Headless Debian Chromium driven by Playwright; never a downloaded browser."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CONVENE_REQUIRE_BROWSER", "") not in ("", "0", "false", "no"):
        pytest.fail(f"a browser is required (CONVENE_REQUIRE_BROWSER=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    # Module scope, not session: Playwright's sync API keeps an event loop running in this
    # thread while it is open, which would break asyncio.run() in other tests of this worker.
    executable = os.environ.get("CONVENE_CHROMIUM", "/usr/bin/chromium")
    if not shutil.which(executable):
        _unavailable(
            f"no Chromium at {executable} (install Debian's chromium or set CONVENE_CHROMIUM)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"playwright is not installed: {exc}")
    # launch() gives Chromium a fresh temporary user-data dir of its own.
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def chromium_browser(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh browser context (no cookies) per test."""
    context = chromium.new_context()
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def web_on_sqlite(sqlite_only_database, tmp_path):  # type: ignore[no-untyped-def]
    """The web app of `convene serve` on a fresh SQLite database, with one organiser account."""
    from tests.conftest import make_test_config
    from tests.support.factories import make_organiser
    from tests.support.servers import web_only

    make_organiser(sqlite_only_database.sessions)
    with web_only(
        make_test_config(tmp_path, sqlite_only_database.url), sqlite_only_database
    ) as service:
        yield service


def log_in(page, base_url: str) -> None:  # type: ignore[no-untyped-def]
    """Log the test organiser in through the login form, as a person would."""
    from tests.support.factories import ORGANISER_PASSWORD

    page.goto(f"{base_url}/login")
    page.get_by_label("Email address").fill("organiser@example.org")
    page.get_by_label("Password").fill(ORGANISER_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Lists and meetings").wait_for()
