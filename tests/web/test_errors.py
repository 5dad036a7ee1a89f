"""Error pages over real HTTP: every route that can end in an error gets that error's one page."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from mailer.domain.consultations import (
    RoleSpec,
    close_consultation,
    create_consultation,
    send_consultation,
)
from mailer.domain.lists import add_member
from mailer.domain.models import (
    ConsultationKind,
    OrganiserRole,
    Person,
    VolunteerOffer,
    VolunteerRole,
)
from mailer.domain.organisers import create_organiser
from mailer.domain.services import build_services
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_list, make_organiser
from tests.support.http import HttpClient
from tests.support.servers import RunningService
from web import create_app

BAD_TOKEN = "WzEsMSwxXQ.not-a-signature"
ONE_CLICK = "public.unsubscribe_confirm"  # RFC 8058: a POST with no form; the link is the proof


def link_routes(service: RunningService, database: TestDatabase) -> list[tuple[str, str, str]]:
    """(endpoint, method, path with a bad token) of every public route that takes a signed link."""
    app = create_app(service.config, session_factory=database.sessions)
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("public.") and "<token>" in rule.rule:
            path = rule.rule.replace("<token>", BAD_TOKEN).replace("<choice>", "remote")
            methods = sorted(rule.methods & {"GET", "POST"})
            routes += [(rule.endpoint, method, path) for method in methods]
    return routes


def test_a_bad_link_on_every_public_link_route_gets_the_friendly_link_page(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    """Each POST carries a form token made for the bad link, so it reaches the link check too."""
    form_token = build_services(web_service.config).links.form_token(BAD_TOKEN)
    routes = link_routes(web_service, database)
    for endpoint, method, path in routes:
        data = {"csrf_token": form_token} if method == "POST" else None
        response = client.request(method, path, data)
        assert response.status == 400, (endpoint, method, response.status)
        assert '<h1 class="govuk-heading-l">This link is not valid</h1>' in response.body, endpoint
        assert "reply to any email from us in your own words" in response.body, endpoint
    assert {method for _, method, _ in routes} == {"GET", "POST"} and len(routes) >= 10


def test_a_link_page_form_back_without_its_token_says_the_form_expired_on_every_link_form(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    posts = [
        (endpoint, path)
        for endpoint, method, path in link_routes(web_service, database)
        if method == "POST" and endpoint != ONE_CLICK
    ]
    for endpoint, path in posts:
        response = client.post(path, {"csrf_token": "from-another-page"})
        assert response.status == 400, endpoint
        assert "Your form expired" in response.body, endpoint
        assert "open the link from your email again" in response.body, endpoint
    assert len(posts) >= 4


def test_a_volunteer_link_after_the_call_has_closed_is_refused_with_its_page(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    services = build_services(web_service.config)
    make_list(database.sessions)
    with database.sessions() as s:
        add_member(s, slug="forum", email="ana@dept.gov.uk", actor="test")
    with database.sessions() as s:
        consultation = create_consultation(
            s,
            list_slug="forum",
            title="Volunteers",
            question_markdown="Can you help?",
            kind=ConsultationKind.VOLUNTEERS,
            roles=[RoleSpec(name="Policy")],
            actor="test",
        )
    with database.sessions() as s:
        send_consultation(s, services, consultation.id, actor="test")
    with database.sessions() as s:
        close_consultation(s, consultation.id, actor="test")
    with database.sessions() as s:
        person = s.scalars(select(Person).where(Person.email == "ana@dept.gov.uk")).one()
        url = services.links.volunteer_url(person, s.scalars(select(VolunteerRole.id)).one())
    opened_before_it_closed = services.links.form_token(url.rsplit("/", 1)[1])
    refused = client.post(url, {"csrf_token": opened_before_it_closed})
    assert refused.status == 409 and "This call for volunteers has closed" in refused.body
    with database.sessions() as s:
        assert s.scalar(select(func.count()).select_from(VolunteerOffer)) == 0


def test_a_panel_address_naming_nothing_is_the_404_page(
    client: HttpClient, database: TestDatabase
) -> None:
    make_organiser(database.sessions)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    for path in (
        "/panel/meetings/999",
        "/panel/meetings/999/attendees.csv",
        "/panel/meetings/999/emails/invitation",
        "/panel/lists/nothing",
        "/panel/lists/nothing/members.csv",
        "/panel/news/999",
        "/panel/news/999/preview.html",
        "/panel/consultations/999",
        "/panel/inbound/999",
    ):
        response = client.get(path)
        assert response.status == 404 and "Page not found" in response.body, path


def test_an_organiser_who_is_not_an_admin_gets_the_admins_only_page(
    client: HttpClient, database: TestDatabase
) -> None:
    with database.sessions() as s:
        create_organiser(
            s,
            email="helper@example.org",
            password=ORGANISER_PASSWORD,
            role=OrganiserRole.ORGANISER,
            actor="test",
        )
    dashboard = client.login("helper@example.org", ORGANISER_PASSWORD)
    form = {
        "csrf_token": client.csrf_token(dashboard.body),
        "email": "ana@example.org",
        "confirm": "erase",
    }
    for method, path in (
        ("GET", "/panel/people"),
        ("POST", "/panel/people/export"),
        ("POST", "/panel/people/erase"),
    ):
        response = client.request(method, path, form if method == "POST" else None)
        assert response.status == 403 and "Admins only" in response.body, path


def test_the_api_answers_a_missing_meeting_in_json_to_organisers_too(
    client: HttpClient, database: TestDatabase
) -> None:
    make_organiser(database.sessions)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    response = client.get("/api/meetings/999/attendees")
    assert response.status == 404 and response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": "There is no such meeting."}


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """``app`` on werkzeug's threaded server on a free 127.0.0.1 port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_an_unexpected_error_in_a_view_is_the_500_page_and_is_logged_not_shown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_test_config(tmp_path, f"sqlite:///{tmp_path / 'unused.db'}"))

    @app.get("/fails")
    def fails() -> str:
        raise RuntimeError("internal detail 7f3a")

    with caplog.at_level(logging.ERROR, logger=app.logger.name), serving(app) as base:
        response = HttpClient(base).get("/fails")
    assert response.status == 500 and "Sorry, something went wrong" in response.body
    assert "7f3a" not in response.body and not re.search(r"Traceback|RuntimeError", response.body)
    assert any(record.exc_info and "7f3a" in str(record.exc_info[1]) for record in caplog.records)


def test_a_refusal_no_view_turns_into_a_form_error_is_a_page_that_says_why(tmp_path: Path) -> None:
    from mailer.domain.errors import AlreadyExists

    app = create_app(make_test_config(tmp_path, f"sqlite:///{tmp_path / 'unused.db'}"))

    @app.get("/refused")
    def refused() -> str:
        raise AlreadyExists("A list with the address 'forum' already exists.")

    with serving(app) as base:
        response = HttpClient(base).get("/refused")
    assert response.status == 400 and "There is a problem" in response.body
    assert "A list with the address &#39;forum&#39; already exists." in response.body


def test_every_error_under_the_api_is_json_in_the_shape_of_its_other_errors(
    tmp_path: Path,
) -> None:
    """Routing's 404 and 405, a 400, a 500: the same ``{"error": "..."}`` as a missing meeting,
    never the HTML pages, which the rest of the site keeps."""
    import jsonschema
    from werkzeug.exceptions import BadRequest

    from web.api.openapi import ERROR

    app = create_app(make_test_config(tmp_path, f"sqlite:///{tmp_path / 'unused.db'}"))

    @app.get("/api/test-fails")
    def fails() -> str:
        raise RuntimeError("internal detail 7f3a")

    @app.get("/api/test-bad-request")
    def bad_request() -> str:
        raise BadRequest()

    client = app.test_client()
    answers = {
        ("GET", "/api/meetings/abc"): 404,
        ("GET", "/api/nothing-here"): 404,
        ("POST", "/api/meetings"): 405,
        ("DELETE", "/api/meetings/1"): 405,
        ("GET", "/api/test-bad-request"): 400,
        ("GET", "/api/test-fails"): 500,
    }
    for (method, path), status in answers.items():
        response = client.open(path, method=method)
        assert (response.status_code, response.mimetype) == (status, "application/json"), path
        jsonschema.validate(response.get_json(), ERROR)
        assert "7f3a" not in response.get_data(as_text=True)
    assert client.post("/api/meetings").headers["Allow"] == "GET, HEAD, OPTIONS"
    assert client.get("/api/meetings/abc").get_json() == {
        "error": "There is nothing at this address."
    }
    page = client.get("/meetings/abc")  # outside the API: the HTML page, as before
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Page not found" in page.get_data(as_text=True)
