"""A list's members in the panel: searched by name, address or organisation, filtered by status,
a page at a time."""

from __future__ import annotations

from mailer.domain.lists import add_member, remove_member
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_list, make_organiser
from tests.support.http import HttpClient
from tests.support.servers import RunningService


def test_search_filter_and_pages(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    make_organiser(database.sessions)
    with database.sessions() as s:
        for n in range(120):
            domain = "hmrc.gov.uk" if n % 3 == 0 else "dwp.gov.uk"
            add_member(s, slug="forum", email=f"member{n:03}@{domain}", actor="test")
        add_member(
            s,
            slug="forum",
            email="jo_50%@cabinetoffice.gov.uk",
            display_name="Jo Smith",
            actor="test",
        )
    with database.sessions() as s:
        remove_member(s, slug="forum", email="member001@dwp.gov.uk", actor="test")
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    first = client.get("/panel/lists/forum")
    assert "Members (120 active)" in first.body and "Showing 1 to 50 of 121 members" in first.body
    assert first.body.count('<tr class="govuk-table__row"><td class="govuk-table__cell">') == 50
    last = client.get("/panel/lists/forum?page=3")
    assert "Showing 101 to 121 of 121 members" in last.body and 'rel="prev"' in last.body
    assert "Showing 101 to 121" in client.get("/panel/lists/forum?page=99").body  # the last page
    by_name = client.get("/panel/lists/forum?q=jo+SMITH")
    assert "1 member found" in by_name.body and "jo_50%@cabinetoffice.gov.uk" in by_name.body
    # The search is for the words typed: "_" and "%" are no wildcards.
    assert "No members match" in client.get("/panel/lists/forum?q=member_0").body
    assert "1 member found" in client.get("/panel/lists/forum?q=50%25").body
    hmrc = client.get("/panel/lists/forum?q=hmrc.gov.uk")
    assert (
        "40 members found" in hmrc.body and "dwp.gov.uk" not in hmrc.body.split("members-shown")[1]
    )
    removed = client.get("/panel/lists/forum?status=removed")
    assert "1 member found" in removed.body and "member001@dwp.gov.uk" in removed.body
    assert client.get("/panel/lists/forum?status=nonsense&page=x").status == 200
