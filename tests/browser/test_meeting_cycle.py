"""The whole meeting cycle in a real browser, as an organiser runs it, on a laptop and on a phone:
a quarterly series, members imported, invitations (the count confirmed first), answers arriving,
the waiting list, the agenda, a rescheduling checked before it is sent, a message to the in-person
delegates and the cancellation of one meeting of the series. At each step, what the members are
sent is checked; on the phone, no page is wider than the screen."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mailer.domain.models import Mailing, Meeting, OutboxMessage
from tests.browser.conftest import log_in
from tests.browser.test_organiser_walkthrough import fill_when
from tests.support.databases import TestDatabase
from tests.support.factories import make_list
from tests.support.servers import RunningService

pytestmark = pytest.mark.browser
ANA, BEN, CY = "ana@dept.gov.uk", "ben@dept.gov.uk", "cy@dept.gov.uk"


def sent(db: TestDatabase, kind: str) -> dict[str, str]:
    """The text of each email of ``kind``, by recipient (the latest, if several)."""
    with db.sessions() as s:
        rows = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        )
        return {m.recipient: m.body_text or "" for m in rows}


@pytest.mark.parametrize("width", [1280, 390])
def test_an_organiser_runs_a_meeting_from_series_to_cancellation(
    chromium_browser,
    web_on_sqlite: RunningService,
    sqlite_only_database: TestDatabase,
    tmp_path: Path,
    width: int,
) -> None:  # type: ignore[no-untyped-def]
    db = sqlite_only_database
    base = web_on_sqlite.config.service.base_url
    make_list(db.sessions)
    page = chromium_browser.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    too_wide: list[str] = []
    shots = os.environ.get("CONVENE_SCREENSHOTS_DIR")

    def check(name: str) -> None:
        """The page as it is now: no wider than the screen; a screenshot when asked for."""
        page.wait_for_load_state("networkidle")
        if page.evaluate("document.documentElement.scrollWidth") > width:
            too_wide.append(f"{name}: {page.url}")
        if shots:
            page.screenshot(path=str(Path(shots) / f"cycle-{name}-{width}.png"), full_page=True)

    log_in(page, base)

    # Members imported from a spreadsheet.
    page.get_by_role("link", name="Leaders of Networks Forum").click()
    csv = tmp_path / "members.csv"
    csv.write_text(f"email,name\r\n{ANA},Ana\r\n{BEN},Ben\r\n{CY},Cy\r\n")
    page.get_by_label("Import members from a CSV file").set_input_files(str(csv))
    page.get_by_role("button", name="Check the file").click()
    page.get_by_role("button", name="Add 3 members").click()
    page.get_by_text("Added 3 members").wait_for()
    check("list")

    # A quarterly series, one in-person place each.
    page.get_by_role("link", name="Lists and meetings", exact=True).click()
    page.get_by_role("link", name="New meeting").click()
    starts = (datetime.now(ZoneInfo("Europe/London")) + timedelta(days=30)).replace(
        hour=14, minute=0, second=0, microsecond=0
    )
    page.get_by_label("Title").fill("Leaders Forum")
    fill_when(page, "Starts (UK time)", starts)
    fill_when(page, "Ends (UK time)", starts + timedelta(hours=2))
    page.get_by_label("Venue (sent only to in-person delegates)").fill("Room 1.01, 1 Example St")
    page.get_by_label("Joining details (sent only to remote delegates)").fill(
        "https://meet.invalid/forum"
    )
    page.get_by_label("In-person places (optional)").fill("1")
    page.get_by_label("Repeats").select_option(label="Every 3 months")
    page.get_by_label("How many meetings to set up now").fill("2")
    check("new-meeting")
    page.get_by_role("button", name="Create meeting").click()
    page.get_by_text("2 meetings created").wait_for()
    check("meeting")
    with db.sessions() as s:
        first, second = s.scalars(select(Meeting).order_by(Meeting.starts_at)).all()
    assert second.starts_at - first.starts_at > timedelta(days=80)

    # Invitations, the count confirmed first.
    page.get_by_role("button", name="Send invitations to Leaders of Networks Forum").click()
    page.get_by_role("heading", name="Send the invitation to 3 members?").wait_for()
    check("invite-confirm")
    assert sent(db, "invitation") == {}
    page.get_by_role("button", name="Yes, send 3 invitations").click()
    page.get_by_text("Invitations are on their way to 3 members.").wait_for()
    invitations = sent(db, "invitation")
    assert set(invitations) == {ANA, BEN, CY}
    assert "Room 1.01" not in invitations[ANA]  # the venue goes to delegates only

    # Answers arrive: Ana takes the one place; Ben is put on the waiting list.
    for email in (ANA, BEN):
        link = re.search(r"(http://\S+/rsvp/\S+/in-person)", invitations[email]).group(1)
        member = chromium_browser.new_page()
        member.goto(link)
        member.get_by_role("button", name="Attend in person").click()
        member.get_by_role("heading", name="Answer recorded").wait_for()
        member.close()
    confirmations = sent(db, "rsvp_confirmation")
    assert "You are attending Leaders Forum in person." in confirmations[ANA]
    assert "waiting list" in confirmations[BEN] and "attending in person" not in confirmations[BEN]
    page.reload()
    assert page.locator("#count-in-person").inner_text() == "1 of 1"
    assert page.locator("#waiting").inner_text().count("ben@dept.gov.uk") == 1
    check("meeting-waiting-list")

    # The waiting list: Ben is given a place (one more is added).
    page.get_by_role("link", name="Give a place to Ben").click()
    page.get_by_role("heading", name="Give Ben an in-person place now?").wait_for()
    check("give-place")
    page.get_by_role("button", name="Give the place").click()
    page.get_by_text("Place given, and they have been emailed. In-person places: 2.").wait_for()
    assert "you now have an in-person place" in sent(db, "waitlist_promoted")[BEN]

    # The agenda, written and sent now, each delegate with their own details.
    page.get_by_label("Agenda (Markdown)").fill("1. Welcome\n2. **Pronouns at work**")
    page.get_by_role("button", name="Save the agenda").click()
    page.get_by_text("Agenda saved.").wait_for()
    page.get_by_role("button", name="Send the agenda to delegates now").click()
    page.get_by_role("heading", name="Send the agenda to 2 delegates now?").wait_for()
    page.get_by_role("button", name="Yes, send 2 agendas").click()
    agendas = sent(db, "meeting_details")
    assert set(agendas) == {ANA, BEN}
    assert "Room 1.01" in agendas[ANA] and "meet.invalid" not in agendas[ANA]

    # Rescheduled an hour later: checked, with who is told, before anything is sent.
    page.get_by_role("link", name="Change the meeting's details").click()
    page.get_by_role("group", name="Starts (UK time)").get_by_label("Time").fill("3pm")
    page.get_by_role("group", name="Ends (UK time)").get_by_label("Time").fill("5pm")
    page.get_by_role("button", name="Check the changes").click()
    page.get_by_text("Changing:").first.wait_for()
    check("reschedule-check")
    assert sent(db, "meeting_updated") == {}
    page.get_by_role("button", name=re.compile(r"Save and tell 3 people")).click()
    page.get_by_text("Saved.").first.wait_for()
    updates = sent(db, "meeting_updated")
    assert set(updates) == {ANA, BEN, CY}  # the delegates, and Cy, invited, yet to answer
    assert "3:00pm" in updates[ANA] or "15:00" in updates[ANA]

    # A message to the in-person delegates only.
    page.get_by_role("link", name="Write to the delegates").click()
    page.get_by_label("Send to").select_option(label="Delegates coming in person")
    page.get_by_label("Subject").fill("The room on the day")
    page.get_by_label("Message (Markdown)").fill("We are in **Room 1.01**, first floor.")
    page.get_by_role("button", name="Save and preview").click()
    page.locator("#send-now").click()
    page.get_by_role("heading", name="Send “The room on the day” to 2 people now?").wait_for()
    check("news-confirm")
    page.get_by_role("button", name="Yes, send to 2 people").click()
    assert set(sent(db, "news")) == {ANA, BEN}  # not Cy, who has not answered
    with db.sessions() as s:
        assert "Room 1.01" in s.scalars(select(Mailing.body_text)).one()  # one text for all

    # One meeting of the series is cancelled; the next one stands.
    page.goto(f"{base}/panel/meetings/{first.id}")
    page.get_by_role("link", name="Cancel the meeting").click()
    page.get_by_label("Why (optional, sent to everyone told)").fill("The building is closed.")
    check("cancel")
    page.get_by_role("button", name="Yes, cancel the meeting").click()
    page.get_by_text("Cancelled.").first.wait_for()
    cancelled = sent(db, "meeting_cancelled")
    assert set(cancelled) == {ANA, BEN, CY}
    assert all("The building is closed." in text for text in cancelled.values())
    with db.sessions() as s:
        assert [m.status.value for m in s.scalars(select(Meeting).order_by(Meeting.starts_at))] == [
            "cancelled",
            "published",
        ]
    page.close()
    assert too_wide == []
