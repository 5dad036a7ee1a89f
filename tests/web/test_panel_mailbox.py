"""The dev mailbox in the panel shows a message as its recipient gets it: the HTML part in a frame
that runs nothing, the text, the calendar entry and the files attached."""

from __future__ import annotations

import re

from mailer.domain.attachments import add_attachment
from mailer.domain.invitations import send_invitations
from mailer.domain.lists import add_member
from mailer.domain.services import build_services
from tests.support.databases import TestDatabase
from tests.support.delivery import deliver_once
from tests.support.factories import ORGANISER_PASSWORD, make_list, make_meeting, make_organiser
from tests.support.http import HttpClient
from tests.support.servers import RunningService


def test_an_invitation_in_the_dev_mailbox(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    config = web_service.config
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, title="Winter Forum", location="Leeds and online")
    make_organiser(database.sessions)
    with database.sessions() as s:
        add_member(s, slug="forum", email="ana@example.org", actor="test")
        add_attachment(
            s,
            meeting.id,
            filename="terms.pdf",
            data=b"%PDF-1.4 terms",
            actor="test",
        )
        send_invitations(s, build_services(config), meeting.id, actor="test")
    deliver_once(database, config)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    listing = client.get("/panel/mailbox")
    key = re.search(r'/panel/mailbox/([^"]+)"', listing.body).group(1)
    page = client.get(f"/panel/mailbox/{key}")
    assert page.status == 200
    assert re.search(r'<iframe[^>]*id="message-html"[^>]*sandbox', page.body)
    assert "Adds or updates the meeting in their calendar, with a reminder" in page.body
    assert "Winter Forum" in page.body and "Leeds and online" in page.body
    assert "terms.pdf (application/pdf" in page.body
    html = client.get(f"/panel/mailbox/{key}/html")
    assert html.status == 200 and "Attend in person" in html.body
    assert "script-src" not in html.headers["Content-Security-Policy"]
    assert client.get("/panel/mailbox/no-such-key/html").status == 404


def test_the_dev_mailbox_is_searched_and_paged(
    client: HttpClient, web_service: RunningService, database: TestDatabase, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import web.panel

    monkeypatch.setattr(web.panel, "MAILBOX_PAGE", 2)
    config = web_service.config
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, title="Winter Forum")
    make_organiser(database.sessions)
    with database.sessions() as s:
        for who in ("ana", "ben", "cy"):
            add_member(s, slug="forum", email=f"{who}@example.org", actor="test")
        send_invitations(s, build_services(config), meeting.id, actor="test")
    deliver_once(database, config)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    first = client.get("/panel/mailbox")
    assert "Showing 1 to 2 of 3 messages" in first.body and 'rel="next"' in first.body
    assert "Showing 3 to 3 of 3 messages" in client.get("/panel/mailbox?page=2").body
    ben = client.get("/panel/mailbox?q=BEN@example")
    assert "1 message found" in ben.body and "ben@example.org" in ben.body
    assert "ana@example.org" not in ben.body
    assert "No messages match" in client.get("/panel/mailbox?q=nobody").body
