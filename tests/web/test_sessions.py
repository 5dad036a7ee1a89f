"""Panel sessions end when they should, everywhere at once: a copy of the cookie (stolen, or left
on a shared computer) stops working after logging out, a new password, the account disabled or
"log out everywhere"; and no session outlives 12 hours from its login, however busy."""

from __future__ import annotations

import copy
import time

from flask.testing import FlaskClient

from mailer.config import Config
from mailer.domain.organisers import set_disabled, set_password
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_organiser
from tests.support.http import HttpClient
from tests.support.servers import RunningService
from web import create_app
from web.auth import SESSION_MAX_AGE

NEW_PASSWORD = "another long password"


def logged_in_twice(web_service: RunningService, client: HttpClient) -> HttpClient:
    """The organiser logged in with ``client``, and a second client holding a copy of its
    cookie (as a thief would)."""
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    thief = HttpClient(web_service.config.service.base_url)
    for cookie in client.cookies:
        thief.cookies.set_cookie(copy.copy(cookie))
    assert thief.get("/panel/").status == 200 and "Lists and meetings" in thief.get("/panel/").body
    return thief


def refused(client: HttpClient) -> bool:
    return client.get("/panel/").url.endswith("/login?next=/panel/")


def test_a_copied_cookie_stops_working_when_its_owner_logs_out(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_organiser(database.sessions)
    thief = logged_in_twice(web_service, client)
    page = client.get("/panel/")
    client.post("/logout", {"csrf_token": client.csrf_token(page.body)})
    assert refused(client) and refused(thief)


def test_a_new_password_or_disabling_ends_every_session(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    admin = make_organiser(database.sessions)
    sam = make_organiser(database.sessions, email="sam@example.org")
    thief = logged_in_twice(web_service, client)
    with database.sessions() as s:
        set_password(s, email="organiser@example.org", password=NEW_PASSWORD, actor="cli")
    assert refused(client) and refused(thief)
    assert client.login("organiser@example.org", ORGANISER_PASSWORD).status == 400
    assert client.login("organiser@example.org", NEW_PASSWORD).status == 200

    sams = HttpClient(web_service.config.service.base_url)
    sams.login("sam@example.org", ORGANISER_PASSWORD)
    assert not refused(sams)
    with database.sessions() as s:
        set_disabled(s, sam.id, disabled=True, actor_id=admin.id)
    assert refused(sams)


def test_log_out_everywhere_ends_this_and_every_other_session(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_organiser(database.sessions)
    thief = logged_in_twice(web_service, client)
    account = client.get("/panel/account")
    assert "Log out everywhere" in account.body
    assert client.post("/panel/account/logout-everywhere", {}).status == 400  # no CSRF token
    done = client.post(
        "/panel/account/logout-everywhere", {"csrf_token": client.csrf_token(account.body)}
    )
    assert "You are logged out everywhere" in done.body
    assert refused(client) and refused(thief)
    assert (
        "logged out everywhere"
        in (
            client.login("organiser@example.org", ORGANISER_PASSWORD) and client.get("/panel/audit")
        ).body
    )


def test_no_session_outlives_its_absolute_lifetime(
    web_config: Config, database: TestDatabase
) -> None:
    make_organiser(database.sessions)
    app = create_app(web_config, session_factory=database.sessions)
    panel: FlaskClient = app.test_client()
    page = panel.get("/login")
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1]
    panel.post(
        "/login",
        data={
            "csrf_token": token.split('"')[0],
            "email": "organiser@example.org",
            "password": ORGANISER_PASSWORD,
        },
    )
    assert panel.get("/panel/").status_code == 200
    with panel.session_transaction() as session:  # as if logged in 12 hours and a minute ago
        session["began"] = int(time.time() - SESSION_MAX_AGE.total_seconds() - 60)
    gone = panel.get("/panel/")
    assert gone.status_code == 302 and "/login" in gone.headers["Location"]
