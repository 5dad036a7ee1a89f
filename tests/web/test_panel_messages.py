"""What the panel says on the page after a request: what was done in the GOV.UK success banner
(green), what was refused, and why, in the GOV.UK error summary (red)."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient

from mailer.config import Config
from mailer.domain.lists import add_member
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_list, make_meeting, make_organiser
from tests.support.http import HttpClient
from web import create_app

_SUCCESS = re.compile(
    r'<div class="govuk-notification-banner govuk-notification-banner--success"[^>]*>.*?'
    r'<div class="govuk-notification-banner__content">(.*?)</div>',
    re.S,
)
_ERROR_SUMMARY = re.compile(
    r'<div class="govuk-error-summary"[^>]*>.*?<ul class="govuk-list govuk-error-summary__list">'
    r"(.*?)</ul>",
    re.S,
)


def _texts(found: list[str]) -> list[str]:
    """Each paragraph or list item of the matched blocks, as the organiser reads it."""
    items = [
        item for block in found for item in re.split(r"</?(?:p|li)\b[^>]*>", block) if item.strip()
    ]
    return [html.unescape(" ".join(re.sub(r"<[^>]+>", " ", item).split())) for item in items]


def shown(body: str) -> tuple[list[str], list[str]]:
    """(the messages in success banners, the messages in error summaries) on a page."""
    return _texts(_SUCCESS.findall(body)), _texts(_ERROR_SUMMARY.findall(body))


@pytest.fixture
def panel(web_config: Config, database: TestDatabase) -> FlaskClient:
    """Flask's test client on the whole app, logged in as an admin organiser."""
    make_organiser(database.sessions)
    make_list(database.sessions)
    with database.sessions() as s:
        add_member(s, slug="forum", email="ana@example.org", actor="test")
    client = create_app(web_config, session_factory=database.sessions).test_client()
    page = client.get("/login").get_data(as_text=True)
    client.post(
        "/login",
        data={
            "csrf_token": HttpClient.csrf_token(page),
            "email": "organiser@example.org",
            "password": ORGANISER_PASSWORD,
        },
    )
    return client


def _post(client: FlaskClient, path: str, data: dict[str, str], form_page: str) -> str:
    """POST ``data`` with the CSRF token of ``form_page``; the page it goes back to."""
    token = HttpClient.csrf_token(client.get(form_page).get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token, **data}, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_refusal_is_shown_in_the_error_summary_not_the_success_banner(
    panel: FlaskClient, database: TestDatabase
) -> None:
    meeting = make_meeting(database.sessions)
    refusals = {
        "Nobody@example.org is not on Leaders of Networks Forum.": _post(
            panel,
            "/panel/lists/forum/remove",
            {"email": "Nobody@example.org"},
            "/panel/lists/forum",
        ),
        "Tick the box to confirm the erasure.": _post(
            panel, "/panel/people/erase", {"email": "ana@example.org"}, "/panel/people"
        ),
        "Not saved: The number of days must be between 0 and 60.": _post(
            panel,
            f"/panel/meetings/{meeting.id}/agenda",
            {"agenda": "1. Welcome", "days_before": "99"},
            f"/panel/meetings/{meeting.id}",
        ),
    }
    refusals["Not saved: Enter the number of days as a whole number, for example 7."] = _post(
        panel,
        f"/panel/meetings/{meeting.id}/agenda",
        {"agenda": "1. Welcome", "days_before": "a week"},
        f"/panel/meetings/{meeting.id}",
    )
    looked_up = panel.get("/panel/people?email=not+an+email").get_data(as_text=True)
    for message, page in refusals.items():
        assert shown(page) == ([], [message]), message
    done, refused = shown(looked_up)
    assert done == [] and len(refused) == 1
    assert refused[0].startswith("'not an email' is not a valid email address")


def test_what_was_done_is_shown_in_the_success_banner(panel: FlaskClient) -> None:
    added = _post(panel, "/panel/lists/forum", {"email": "sam@example.org"}, "/panel/lists/forum")
    assert shown(added) == (["Added sam@example.org."], [])
    removed = _post(
        panel, "/panel/lists/forum/remove", {"email": "ana@example.org"}, "/panel/lists/forum"
    )
    assert shown(removed) == (["Removed ana@example.org."], [])
