"""Organisers are emailed that something needs them as each chose (at once, daily or never), with
counts and panel addresses only: nothing of who wrote or what they wrote."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from mailer.domain.models import (
    InboundMessage,
    InboundStatus,
    NoticeChoice,
    Organiser,
    OrganiserRole,
    OutboxMessage,
    utcnow,
)
from mailer.domain.organiser_notices import (
    choose_notices,
    send_organiser_notices,
    waiting_since,
)
from mailer.domain.queue import store_inbound
from mailer.domain.services import Services
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_organiser


def needs_a_person(database: TestDatabase, sender: str, at) -> None:  # type: ignore[no-untyped-def]
    with database.sessions() as s:
        inbound_id = store_inbound(
            s,
            mail_from=sender,
            rcpt_to=["forum@lists.test"],
            raw=f"From: {sender}\r\nSubject: My deputy\r\n\r\nCan Sam come instead?\r\n".encode(),
        )
    with database.sessions() as s, s.begin():
        s.execute(
            update(InboundMessage)
            .where(InboundMessage.id == inbound_id)
            .values(status=InboundStatus.TRIAGE, received_at=at)
        )


def notices(database: TestDatabase) -> list[OutboxMessage]:
    with database.sessions() as s:
        return list(
            s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "organiser_notice"))
        )


def test_at_once_daily_or_never_and_never_what_was_written(
    database: TestDatabase, services: Services
) -> None:
    at_once = make_organiser(database.sessions, email="quick@example.org")
    daily = make_organiser(database.sessions, email="daily@example.org")
    make_organiser(database.sessions, email="quiet@example.org")  # never, by default
    start = utcnow()
    with database.sessions() as s:
        choose_notices(s, at_once.id, NoticeChoice.AT_ONCE)
        choose_notices(s, daily.id, NoticeChoice.DAILY)
    with database.sessions() as s, s.begin():  # chosen a while ago
        s.execute(update(Organiser).values(noticed_at=start - timedelta(days=2)))
    needs_a_person(database, "kim@dept.gov.uk", start)
    with database.sessions() as s:
        assert len(send_organiser_notices(s, services, now=start + timedelta(minutes=1))) == 2
    sent = {m.recipient: m for m in notices(database)}
    assert set(sent) == {"quick@example.org", "daily@example.org"}
    text = sent["quick@example.org"].body_text or ""
    assert "1 message waiting for a person" in text and "/panel/inbound" in text
    for private in ("kim@dept.gov.uk", "My deputy", "Sam"):
        assert private not in text and private not in (sent["quick@example.org"].subject or "")
    # Another message soon after: one email per gap for "at once", one a day for "daily".
    needs_a_person(database, "lee@dept.gov.uk", start + timedelta(minutes=2))
    with database.sessions() as s:
        assert send_organiser_notices(s, services, now=start + timedelta(minutes=5)) == []
    with database.sessions() as s:
        [told] = send_organiser_notices(s, services, now=start + timedelta(minutes=12))
    assert told.startswith(f"organiser {at_once.id} ")
    with database.sessions() as s:  # nothing new since: nothing sent
        assert send_organiser_notices(s, services, now=start + timedelta(hours=3)) == []
    with database.sessions() as s:
        assert len(send_organiser_notices(s, services, now=start + timedelta(days=1, hours=1))) == 1
    assert [m.recipient for m in notices(database)].count("daily@example.org") == 2
    assert "quiet@example.org" not in [m.recipient for m in notices(database)]


def test_a_plain_organiser_is_told_only_of_their_own_lists(
    database: TestDatabase, services: Services
) -> None:
    make_list(database.sessions)  # forum
    make_list(database.sessions, slug="other", name="Other Network")
    sam = make_organiser(
        database.sessions, email="sam@example.org", role=OrganiserRole.ORGANISER, lists=("other",)
    )
    start = utcnow()
    with database.sessions() as s:
        choose_notices(s, sam.id, NoticeChoice.AT_ONCE)
    with database.sessions() as s, s.begin():
        s.execute(update(Organiser).values(noticed_at=start - timedelta(days=2)))
    needs_a_person(database, "kim@dept.gov.uk", start)  # to forum, not Sam's
    with database.sessions() as s:
        assert send_organiser_notices(s, services, now=start + timedelta(minutes=1)) == []
    with database.sessions() as s:
        assert waiting_since(s, None, None).messages == 1
        assert not waiting_since(s, None, {sam.id + 1000})
