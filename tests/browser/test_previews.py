"""Email previews in the panel read whole: each frame is as tall as the email it shows (no scroll
box of its own), and the email in it runs nothing."""

from __future__ import annotations

import pytest

from mailer.domain.schedules import set_agenda
from tests.browser.conftest import log_in
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting
from tests.support.servers import RunningService

pytestmark = pytest.mark.browser


def test_a_long_agenda_preview_is_shown_whole(
    chromium_browser, web_on_sqlite: RunningService, sqlite_only_database: TestDatabase
) -> None:  # type: ignore[no-untyped-def]
    db = sqlite_only_database
    make_list(db.sessions)
    meeting = make_meeting(db.sessions)
    with db.sessions() as s:
        agenda = "\n".join(f"{n}. Item {n}, with a few words about it" for n in range(1, 61))
        set_agenda(s, meeting.id, agenda=agenda, actor="test")
    base = web_on_sqlite.config.service.base_url
    page = chromium_browser.new_page()
    log_in(page, base)
    page.goto(f"{base}/panel/meetings/{meeting.id}/emails/agenda-in-person")
    frame = page.locator("iframe.preview")
    frame.wait_for()
    page.wait_for_function(
        "() => { const f = document.querySelector('iframe.preview');"
        " return f.contentDocument && f.contentDocument.readyState === 'complete'"
        " && f.getBoundingClientRect().height > 600; }"
    )
    inner = page.evaluate(
        "() => { const d = document.querySelector('iframe.preview').contentDocument;"
        " return [d.documentElement.scrollHeight, d.documentElement.clientHeight]; }"
    )
    assert inner[0] <= inner[1] + 2  # nothing to scroll inside the frame
    assert "Item 60" in page.frame_locator("iframe.preview").locator("body").inner_text()
    assert frame.get_attribute("sandbox") == "allow-same-origin"  # no scripts in the email
    page.close()
