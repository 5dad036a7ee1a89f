"""Organiser login: hashed passwords, CSRF on every form, every panel route behind login."""

from __future__ import annotations

from sqlalchemy import func, select

from mailer.domain.models import AuditEntry, LimitedRequest, Organiser
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_organiser
from tests.support.http import HttpClient
from tests.support.servers import RunningService
from web.auth import HOLD_SECONDS


def test_password_is_stored_hashed_with_argon2(database: TestDatabase) -> None:
    make_organiser(database.sessions)
    with database.sessions() as s:
        stored = s.scalars(select(Organiser)).one().password_hash
    assert stored.startswith("$argon2id$") and ORGANISER_PASSWORD not in stored


def test_login_with_the_right_password_reaches_the_panel(
    client: HttpClient, database: TestDatabase
) -> None:
    make_organiser(database.sessions)
    response = client.login("Organiser@Example.org", ORGANISER_PASSWORD)
    assert response.status == 200 and "Lists and meetings" in response.body


def test_wrong_password_is_refused_with_a_message_and_audited(
    client: HttpClient, database: TestDatabase
) -> None:
    make_organiser(database.sessions)
    response = client.login("organiser@example.org", "not the password")
    assert response.status == 400
    assert "The email address or password is not right." in response.body
    assert "There is a problem" in response.body
    assert client.get("/panel/").url.endswith("/login?next=/panel/")
    with database.sessions() as s:
        actions = list(s.scalars(select(AuditEntry.action)))
    assert actions.count("organiser.login_failed") == 1


def test_unknown_address_gets_the_same_answer(client: HttpClient, database: TestDatabase) -> None:
    make_organiser(database.sessions)
    response = client.login("nobody@example.org", ORGANISER_PASSWORD)
    assert response.status == 400 and "The email address or password is not right." in response.body


def test_empty_fields_get_inline_errors(client: HttpClient) -> None:
    page = client.get("/login")
    response = client.post(
        "/login", {"csrf_token": client.csrf_token(page.body), "email": "", "password": ""}
    )
    assert response.status == 400
    assert "Enter your email address" in response.body and "Enter your password" in response.body


def test_login_form_without_csrf_token_is_refused(
    client: HttpClient, database: TestDatabase
) -> None:
    make_organiser(database.sessions)
    client.get("/login")
    response = client.post(
        "/login", {"email": "organiser@example.org", "password": ORGANISER_PASSWORD}
    )
    assert response.status == 400 and "security token" in response.body
    assert client.get("/panel/").url.endswith("/login?next=/panel/")


def test_logout_requires_csrf_and_ends_the_session(
    client: HttpClient, database: TestDatabase
) -> None:
    make_organiser(database.sessions)
    dashboard = client.login("organiser@example.org", ORGANISER_PASSWORD)
    assert client.post("/logout", {}).status == 400
    assert client.get("/panel/").status == 200
    client.post("/logout", {"csrf_token": client.csrf_token(dashboard.body)})
    assert client.get("/panel/").url.endswith("/login?next=/panel/")


def test_every_panel_and_api_route_requires_login(
    web_service: RunningService, database: TestDatabase
) -> None:
    """Crawl every registered panel and API route without a session: nothing gets through."""
    import re

    from web import create_app

    app = create_app(web_service.config, session_factory=database.sessions)
    anonymous = HttpClient(web_service.config.service.base_url, follow_redirects=False)
    checked = 0
    for rule in app.url_map.iter_rules():
        if not (rule.endpoint.startswith("panel.") or rule.endpoint.startswith("api.")):
            continue
        if rule.endpoint == "api.openapi":  # the API's description is public by design
            continue
        path = re.sub(r"<int:[^>]+>", "1", re.sub(r"<(?:string:)?[a-z_]+>", "x", rule.rule))
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = anonymous.request(method, path, {} if method == "POST" else None)
            if method == "POST":  # refused before any view runs: no CSRF token, no session
                assert response.status in (302, 400, 401), (method, path, response.status)
            elif rule.endpoint.startswith("api."):
                assert response.status == 401, path
            else:
                assert response.status in (302, 303) and "/login" in response.headers["Location"], (
                    path
                )
            assert "example.org" not in response.body
            checked += 1
    assert checked >= 15


def test_open_redirect_after_login_is_refused(client: HttpClient, database: TestDatabase) -> None:
    make_organiser(database.sessions)
    page = client.get("/login?next=//evil.example/")
    response = client.post(
        "/login?next=//evil.example/",
        {
            "csrf_token": client.csrf_token(page.body),
            "email": "organiser@example.org",
            "password": ORGANISER_PASSWORD,
        },
    )
    assert response.url.startswith(client.base_url) and response.url.endswith("/panel/")


def test_session_cookie_is_httponly_and_samesite(
    web_service: RunningService, database: TestDatabase
) -> None:
    make_organiser(database.sessions)
    client = HttpClient(web_service.config.service.base_url, follow_redirects=False)
    page = client.get("/login")
    response = client.post(
        "/login",
        {
            "csrf_token": client.csrf_token(page.body),
            "email": "organiser@example.org",
            "password": ORGANISER_PASSWORD,
        },
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_login_is_throttled_after_repeated_failures(
    client: HttpClient, database: TestDatabase
) -> None:
    make_organiser(database.sessions)
    for _ in range(10):
        assert client.login("organiser@example.org", "wrong password").status == 400
    held = client.login("organiser@example.org", ORGANISER_PASSWORD)  # the right one, too
    assert held.status == 400 and "Too many attempts to log in from here" in held.body
    with database.sessions() as s:
        assert list(s.scalars(select(AuditEntry.action))).count("organiser.login") == 0
        counted = s.scalar(select(func.count()).select_from(LimitedRequest))
    # Held back now, the client is answered at once, form or no form, and nothing is counted
    # or checked any more: guessing on costs the service next to nothing.
    token = client.csrf_token(held.body)
    form = {"csrf_token": token, "email": "organiser@example.org", "password": ORGANISER_PASSWORD}
    for again in (client.get("/login"), client.post("/login", form)):
        assert again.status == 429 and again.headers["Retry-After"] == str(HOLD_SECONDS)
        assert "Too many attempts to log in from here" in again.body
        assert 'type="password"' not in again.body  # no form to fill in for nothing
    with database.sessions() as s:
        assert s.scalar(select(func.count()).select_from(LimitedRequest)) == counted
