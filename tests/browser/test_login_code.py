"""Logging in with a code, in Chromium on a phone-sized window: an organiser sets up the code
from the key the page shows, logs out, and logs in with the password and then the code; the
code's field is made for one-time codes (numeric keyboard, filled in by the phone)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp

from mailer.domain.services import build_services
from mailer.runtime import Runtime
from tests.browser.conftest import log_in
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_organiser
from tests.support.servers import RunningService


def test_set_up_then_log_in_with_the_code_on_a_phone(
    chromium_browser, sqlite_only_database: TestDatabase, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    db = sqlite_only_database
    config = make_test_config(tmp_path, db.url)
    moment = [datetime(2027, 3, 11, 9, 30, 10, tzinfo=UTC)]
    services = dataclasses.replace(build_services(config), clock=lambda: moment[0])
    make_organiser(db.sessions)
    runtime = Runtime(config, db.engine, db.sessions, services)
    with RunningService(runtime, smtp=False, worker=False) as running:
        base = running.config.service.base_url
        page = chromium_browser.new_page()
        page.set_viewport_size({"width": 390, "height": 800})
        log_in(page, base)
        page.goto(f"{base}/panel/account")
        assert page.locator("#second-step-state").inner_text().startswith("With your password only")
        page.get_by_role("link", name="Set up a code").click()
        assert page.get_by_role("img", name="QR code for your authenticator app").is_visible()
        secret = page.locator("#setup-key").inner_text().replace(" ", "")
        field = page.get_by_label("The 6-digit code your app shows")
        assert field.get_attribute("autocomplete") == "one-time-code"
        assert field.get_attribute("inputmode") == "numeric"
        field.fill("000000")
        page.get_by_role("button", name="Turn on the code").click()
        assert (
            "That is not the code your app shows"
            in page.locator(".govuk-error-summary").inner_text()
        )
        page.get_by_label("The 6-digit code your app shows").fill(pyotp.TOTP(secret).at(moment[0]))
        page.get_by_role("button", name="Turn on the code").click()
        assert "Logging in now asks for your password and a code" in page.content()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.get_by_role("button", name="Log out").first.click()

        moment[0] += timedelta(seconds=30)
        page.goto(f"{base}/login")
        page.get_by_label("Email address").fill("organiser@example.org")
        page.get_by_label("Password").fill(ORGANISER_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("heading", name="Enter the code from your authenticator app").wait_for()
        page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).at(moment[0]))
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("heading", name="Lists and meetings").wait_for()
