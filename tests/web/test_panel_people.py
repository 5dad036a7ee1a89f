"""Data protection requests in the panel: admins only; export and erase."""

from __future__ import annotations

import json

from sqlalchemy import select

from mailer.domain.lists import add_member
from mailer.domain.models import OrganiserRole, Person
from mailer.domain.organisers import create_organiser
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_list, make_organiser
from tests.support.http import HttpClient


def test_only_admins_and_export_then_erase(
    client: HttpClient, web_service, database: TestDatabase
) -> None:  # type: ignore[no-untyped-def]
    make_list(database.sessions)
    make_organiser(database.sessions)  # an admin
    with database.sessions() as s:
        create_organiser(
            s,
            email="helper@example.org",
            password=ORGANISER_PASSWORD,
            role=OrganiserRole.ORGANISER,
            actor="test",
        )
    with database.sessions() as s:
        add_member(s, slug="forum", email="ana@example.org", display_name="Ana", actor="test")
    helper = HttpClient(client.base_url)
    helper.login("helper@example.org", ORGANISER_PASSWORD)
    assert helper.get("/panel/people").status == 403

    client.login("organiser@example.org", ORGANISER_PASSWORD)
    page = client.get("/panel/people?email=ana@example.org")
    assert page.status == 200 and 'id="found"' in page.body
    token = client.csrf_token(page.body)
    exported = client.post(
        "/panel/people/export", {"csrf_token": token, "email": "ana@example.org"}
    )
    assert json.loads(exported.body)["person"]["name"] == "Ana"
    unconfirmed = client.post(
        "/panel/people/erase", {"csrf_token": token, "email": "ana@example.org"}
    )
    assert "Tick the box" in unconfirmed.body
    erased = client.post(
        "/panel/people/erase", {"csrf_token": token, "email": "ana@example.org", "confirm": "erase"}
    )
    assert "Erased." in erased.body
    with database.sessions() as s:
        assert s.scalar(select(Person).where(Person.email == "ana@example.org")) is None
