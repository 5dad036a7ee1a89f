"""An organiser chooses, in the panel, when to be emailed about what needs them."""

from __future__ import annotations

from sqlalchemy import select

from mailer.domain.models import NoticeChoice, Organiser
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_organiser
from tests.support.http import HttpClient
from tests.support.servers import RunningService


def test_choosing_daily_notices(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_organiser(database.sessions)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    page = client.get("/panel/account")
    assert page.status == 200 and "Once a day" in page.body and ">Your account<" in page.body
    saved = client.post(
        "/panel/account", {"csrf_token": client.csrf_token(page.body), "notices": "daily"}
    )
    assert "we will email you once a day" in saved.body
    with database.sessions() as s:
        assert s.scalar(select(Organiser.notices)) is NoticeChoice.DAILY
    bad = client.post(
        "/panel/account", {"csrf_token": client.csrf_token(page.body), "notices": "hourly"}
    )
    assert bad.status == 400
