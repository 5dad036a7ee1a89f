"""Triage in the panel: the original text, and one-click register / reply / remove / handled."""

from __future__ import annotations

import re

from sqlalchemy import select

from mailer.domain.lists import add_member
from mailer.domain.models import (
    InboundMessage,
    InboundStatus,
    OutboxMessage,
    Rsvp,
    Subscription,
    SubscriptionStatus,
)
from mailer.domain.queue import store_inbound
from mailer.domain.services import build_services
from mailer.inbound.process import process_inbound
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_list, make_meeting, make_organiser
from tests.support.http import HttpClient
from tests.support.servers import RunningService

QUESTION = (
    b"From: Kim Example <kim@example.org>\r\nSubject: Forum\r\nMessage-ID: <k1@example.org>\r\n\r\n"
    b"Can my deputy come instead of me? I would come remotely otherwise.\r\n\r\n"
    b"On Mon, Forum wrote:\r\n> quoted invitation\r\n"
)


def queued(database: TestDatabase, web_service: RunningService) -> int:
    with database.sessions() as s:
        inbound_id = store_inbound(
            s, mail_from="kim@example.org", rcpt_to=["forum@lists.test"], raw=QUESTION
        )
    process_inbound(database.sessions, build_services(web_service.config), inbound_id)
    return inbound_id


def test_record_an_answer_from_a_triaged_message(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, title="Spring Forum")
    make_organiser(database.sessions)
    inbound_id = queued(database, web_service)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    listing = client.get("/panel/inbound")
    assert f"/panel/inbound/{inbound_id}" in listing.body
    # An inbox row: who, the subject and a snippet of what they wrote, why it waits; plain words.
    needs = listing.body.split("All recent messages")[0]
    assert "Kim Example" in needs and ">Forum</a>" in needs
    assert "Can my deputy come instead of me?" in needs and "quoted invitation" not in needs
    recent = listing.body.split("All recent messages")[1]
    assert "Leaders of Networks Forum" in recent and "not understood" in recent
    for internal in ("triage:", ">forum<", ">unclear<", ">triage<"):
        assert internal not in listing.body
    page = client.get(f"/panel/inbound/{inbound_id}")
    assert re.search(r'id="new-text">Can my deputy come instead of me\?', page.body)
    assert "quoted invitation" in page.body  # the whole message is there too
    done = client.post(
        f"/panel/inbound/{inbound_id}/answer",
        {
            "csrf_token": client.csrf_token(page.body),
            "meeting_id": str(meeting.id),
            "answer": "remote",
        },
    )
    assert "Recorded, and kim@example.org has been emailed" in done.body
    with database.sessions() as s:
        assert s.scalars(select(Rsvp)).one().mode.value == "remote"
        row = s.get(InboundMessage, inbound_id)
        assert row.status is InboundStatus.DONE and "by an organiser" in row.outcome


def test_reply_remove_and_handled(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    make_organiser(database.sessions)
    with database.sessions() as s:
        add_member(s, slug="forum", email="kim@example.org", actor="test")
    first = queued(database, web_service)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    page = client.get(f"/panel/inbound/{first}")
    token = client.csrf_token(page.body)
    assert (
        "Write a reply first"
        in client.post(f"/panel/inbound/{first}/reply", {"csrf_token": token, "text": ""}).body
    )
    client.post(
        f"/panel/inbound/{first}/reply",
        {"csrf_token": token, "text": "Yes, your deputy is welcome."},
    )
    with database.sessions() as s:
        reply = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "organiser_reply")
        ).one()
    assert (
        reply.recipient == "kim@example.org" and reply.headers["In-Reply-To"] == "<k1@example.org>"
    )
    assert "Yes, your deputy is welcome." in reply.body_text
    with database.sessions() as s, s.begin():
        s.get(InboundMessage, first).status = InboundStatus.TRIAGE
    removed = client.post(
        f"/panel/inbound/{first}/resolve", {"csrf_token": token, "action": "remove"}
    )
    assert "Removed kim@example.org" in removed.body
    with database.sessions() as s:
        assert s.scalars(select(Subscription)).one().status is SubscriptionStatus.REMOVED
    with database.sessions() as s, s.begin():
        s.get(InboundMessage, first).status = InboundStatus.TRIAGE
    assert (
        client.post(
            f"/panel/inbound/{first}/resolve", {"csrf_token": token, "action": "drop-table"}
        ).status
        == 400
    )
    handled = client.post(
        f"/panel/inbound/{first}/resolve", {"csrf_token": token, "action": "handled"}
    )
    assert "Marked as handled" in handled.body


def test_the_inbound_log_is_searched_by_sender_or_subject_and_filtered_by_what_happened(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    make_organiser(database.sessions)
    question = queued(database, web_service)  # Kim's question, left for an organiser
    with database.sessions() as s:
        other = store_inbound(
            s,
            mail_from="lee@example.org",
            rcpt_to=["forum@lists.test"],
            raw=b"From: lee@example.org\r\nSubject: Parking_100%\r\nAuto-Submitted: auto-replied"
            b"\r\n\r\nI am away.\r\n",  # an automatic reply: nothing to do
        )
    process_inbound(database.sessions, build_services(web_service.config), other)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    kim = client.get("/panel/inbound?q=KIM")
    log = kim.body.split('id="inbound-log"')[1]
    assert f"/panel/inbound/{question}" in log and f"/panel/inbound/{other}" not in log
    by_subject = client.get("/panel/inbound?q=parking_100%25").body.split('id="inbound-log"')[1]
    assert (
        f"/panel/inbound/{other}" in by_subject and f"/panel/inbound/{question}" not in by_subject
    )
    assert "No messages match." in client.get("/panel/inbound?q=parking_1000").body
    waiting = client.get("/panel/inbound?status=triage").body.split('id="inbound-log"')[1]
    assert f"/panel/inbound/{question}" in waiting and f"/panel/inbound/{other}" not in waiting
    assert client.get("/panel/inbound?status=nonsense").status == 200
