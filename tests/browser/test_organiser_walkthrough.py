"""A real browser walks an organiser's main flows, one after the other, as a person would: log in,
create a list and a meeting, import a CSV, send invitations, see an RSVP arrive, triage a message,
compose news and send a test copy."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mailer.domain.models import InboundMessage, InboundStatus, Meeting, OutboxMessage, Person
from mailer.domain.queue import store_inbound
from mailer.domain.services import build_services
from mailer.inbound.process import process_inbound
from tests.browser.conftest import log_in
from tests.support.databases import TestDatabase
from tests.support.servers import RunningService

pytestmark = pytest.mark.browser


def fill_when(page, legend: str, when: datetime) -> None:  # type: ignore[no-untyped-def]
    """Type a date and time into a GOV.UK date input's boxes, as an organiser would."""
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(when.day))
    group.get_by_label("Month").fill(str(when.month))
    group.get_by_label("Year").fill(str(when.year))
    group.get_by_label("Time").fill(when.strftime("%-I%p").lower())  # "2pm"


def test_an_organiser_walks_the_main_flows(
    chromium_browser,
    web_on_sqlite: RunningService,
    sqlite_only_database: TestDatabase,
    tmp_path: Path,
) -> None:  # type: ignore[no-untyped-def]
    db = sqlite_only_database
    running = web_on_sqlite
    base = running.config.service.base_url
    page = chromium_browser.new_page()

    log_in(page, base)

    # Create a list.
    page.get_by_role("link", name="New list").click()
    page.get_by_label("Name").fill("Leaders of Networks Forum")
    page.get_by_label("Address").fill("forum")
    page.get_by_role("button", name="Create list").click()
    page.get_by_role("heading", name="Leaders of Networks Forum").wait_for()

    # Import a CSV: check the file, then add the valid rows.
    csv = tmp_path / "members.csv"
    csv.write_text(
        "email,name\r\nana@dept.gov.uk,Ana Example\r\nben@dept.gov.uk,Ben\r\n"
        "not-an-address,Oops\r\n"
    )
    page.get_by_label("Import members from a CSV file").set_input_files(str(csv))
    page.get_by_role("button", name="Check the file").click()
    page.get_by_text("2 addresses ready to add; 1 row with a problem").wait_for()
    page.get_by_role("button", name="Add 2 members").click()
    page.get_by_text("Added 2 members").wait_for()

    # Create a meeting.
    page.get_by_role("link", name="Lists and meetings", exact=True).click()
    page.get_by_role("link", name="New meeting").click()
    starts = (datetime.now(ZoneInfo("Europe/London")) + timedelta(days=21)).replace(
        hour=14, minute=0
    )
    page.get_by_label("Title").fill("Winter Forum")
    fill_when(page, "Starts (UK time)", starts)
    fill_when(page, "Ends (UK time)", starts + timedelta(hours=2))
    page.get_by_label("Venue (sent only to in-person delegates)").fill(
        "Room 1.01, 1 Example Street"
    )
    page.get_by_label("In-person places (optional)").fill("20")
    page.get_by_role("button", name="Create meeting").click()
    page.get_by_role("heading", name="Winter Forum").wait_for()

    # Send invitations.
    page.get_by_role("button", name="Send invitations to Leaders of Networks Forum").click()
    page.get_by_role("heading", name="Send the invitation to 2 members?").wait_for()
    with db.sessions() as s:  # nothing goes before the organiser confirms the count
        assert (
            s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "invitation")).all() == []
        )
    page.get_by_role("button", name="Yes, send 2 invitations").click()
    page.get_by_text("Invitations are on their way to 2 members.").wait_for()

    # See an RSVP arrive: Ana opens her invitation's link in her own browser and answers.
    with db.sessions() as s:
        invitation = s.scalar(
            select(OutboxMessage).where(
                OutboxMessage.kind == "invitation", OutboxMessage.recipient == "ana@dept.gov.uk"
            )
        )
    link = re.search(r"(http://\S+/rsvp/\S+/in-person)", invitation.body_text).group(1)
    member = chromium_browser.new_page()
    member.goto(link)
    member.get_by_role("button", name="Attend in person").click()
    member.get_by_role("heading", name="Answer recorded").wait_for()
    assert "You are attending in person." in member.locator("#recorded").inner_text()
    assert "Ana" not in member.content()  # a link page names no one
    member.close()
    page.reload()
    assert page.locator("#count-in-person").inner_text() == "1 of 20"
    assert "ana@dept.gov.uk" in page.locator("#attendees").inner_text()

    # Triage a message the service did not understand: reply to it from the panel.
    services = build_services(running.config)
    with db.sessions() as s:
        inbound_id = store_inbound(
            s,
            mail_from="ben@dept.gov.uk",
            rcpt_to=["forum@lists.test"],
            raw=b"From: Ben <ben@dept.gov.uk>\r\nSubject: Parking\r\nMessage-ID: <p@x>\r\n\r\n"
            b"Is there parking near the venue?\r\n",
        )
    assert "triage" in process_inbound(db.sessions, services, inbound_id).summary
    page.get_by_role("link", name="Needs attention", exact=True).click()
    page.get_by_role("heading", name="Messages that need a person").wait_for()
    page.locator("table").first.get_by_role(
        "link"
    ).first.click()  # the newest message waiting for a person
    page.get_by_text("Is there parking near the venue?").first.wait_for()
    page.get_by_label(re.compile("Your reply")).fill("There is a car park on Example Street.")
    page.get_by_role("button", name="Send reply").click()
    page.get_by_text("Reply sent.").wait_for()

    # Compose news and send a test copy to myself.
    page.get_by_role("link", name="News", exact=True).click()
    page.get_by_role("link", name="Write news").click()
    page.get_by_label("Subject").fill("Winter update")
    page.get_by_label("Message (Markdown)").fill("The forum meets in **December**.")
    page.locator("#live-preview strong", has_text="December").wait_for()
    page.get_by_role("button", name="Save and preview").click()
    page.get_by_role("button", name="Send a test to me").click()
    page.get_by_text("A test copy is on its way to organiser@example.org").wait_for()
    page.close()

    with db.sessions() as s:
        kinds = {(m.kind, m.recipient) for m in s.scalars(select(OutboxMessage))}
        assert ("organiser_reply", "ben@dept.gov.uk") in kinds
        assert ("news_test", "organiser@example.org") in kinds
        assert s.scalar(select(Meeting.capacity)) == 20
        assert {p.email for p in s.scalars(select(Person))} >= {
            "ana@dept.gov.uk",
            "ben@dept.gov.uk",
        }
    with db.sessions() as s:
        assert s.get(InboundMessage, inbound_id).status is InboundStatus.DONE
