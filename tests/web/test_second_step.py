"""Logging in with a code as well as a password, in the panel: the password alone opens nothing;
an organiser sets the code up from a QR code or key and turns it off with a code; an admin turns
it off for someone whose phone is lost; with ``admins_need_second_step`` an admin sets it up
before any other page. The clock is fixed, so every code is known."""

from __future__ import annotations

import dataclasses
import html
import re
import time
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from mailer.config import Config
from mailer.domain import second_step
from mailer.domain.models import OrganiserRole, OutboxMessage
from mailer.domain.services import build_services
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_organiser
from tests.support.http import HttpClient
from web import create_app

EMAIL = "organiser@example.org"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2027, 3, 11, 9, 30, 10, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self) -> None:
        self.now += timedelta(seconds=30)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def panel_for(config: Config, database: TestDatabase, clock: Clock) -> FlaskClient:
    services = dataclasses.replace(build_services(config), clock=clock)
    return create_app(config, session_factory=database.sessions, services=services).test_client()


def csrf(page: str) -> str:
    return HttpClient.csrf_token(page)


def post_form(panel: FlaskClient, path: str, **fields: str):  # type: ignore[no-untyped-def]
    page = panel.get(path).get_data(as_text=True)
    return panel.post(path, data={"csrf_token": csrf(page), **fields})


def log_in(panel: FlaskClient, email: str = EMAIL):  # type: ignore[no-untyped-def]
    return post_form(panel, "/login", email=email, password=ORGANISER_PASSWORD)


def set_up(panel: FlaskClient, clock: Clock) -> str:
    """Set up the code from the key the page shows; returns the secret."""
    page = panel.get("/panel/account/second-step").get_data(as_text=True)
    assert "<svg" in page and "QR code for your authenticator app" in page
    key = re.search(r'id="setup-key"><code>([A-Z2-7 ]+)</code>', page)
    assert key
    secret = key.group(1).replace(" ", "")
    done = panel.post(
        "/panel/account/second-step",
        data={"csrf_token": csrf(page), "code": pyotp.TOTP(secret).at(clock())},
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/panel/account")
    return secret


def organiser_with_code(
    config: Config, database: TestDatabase, clock: Clock
) -> tuple[FlaskClient, str]:
    """The organiser, logged in, who has just set up a code: their browser, and the secret."""
    make_organiser(database.sessions)
    panel = panel_for(config, database, clock)
    log_in(panel)
    return panel, set_up(panel, clock)


def test_with_a_code_turned_on_the_password_alone_opens_nothing(
    web_config: Config, database: TestDatabase, clock: Clock
) -> None:
    panel, secret = organiser_with_code(web_config, database, clock)
    account = panel.get("/panel/account").get_data(as_text=True)
    assert "With your password and a code from your authenticator app." in account

    other = panel_for(web_config, database, clock)
    step_one = log_in(other)
    assert step_one.status_code == 302 and "/login/code" in step_one.headers["Location"]
    assert other.get("/panel/").status_code == 302  # not in yet
    wrong = post_form(other, "/login/code", code="000000")
    assert wrong.status_code == 400
    assert "That is not the code your app shows" in html.unescape(wrong.get_data(as_text=True))
    clock.tick()
    right = post_form(other, "/login/code", code=pyotp.TOTP(secret).at(clock()))
    assert right.status_code == 302 and right.headers["Location"].endswith("/panel/")
    assert other.get("/panel/").status_code == 200
    # The same code again, from a third browser, is refused.
    third = panel_for(web_config, database, clock)
    log_in(third)
    again = post_form(third, "/login/code", code=pyotp.TOTP(secret).at(clock()))
    assert again.status_code == 400 and "used already" in again.get_data(as_text=True)


def test_the_code_is_asked_for_within_five_minutes_of_the_password(
    web_config: Config, database: TestDatabase, clock: Clock
) -> None:
    panel, secret = organiser_with_code(web_config, database, clock)
    late = panel_for(web_config, database, clock)
    log_in(late)
    with late.session_transaction() as session:  # as if the password was given 6 minutes ago
        organiser_id, version, since = session["code_for"]
        session["code_for"] = [organiser_id, version, time.time() - 6 * 60]
    clock.tick()
    gone = late.get("/login/code")
    assert gone.status_code == 302 and "/login" in gone.headers["Location"]
    assert "Log in again" in late.get("/login").get_data(as_text=True)
    token = csrf(late.get("/login").get_data(as_text=True))
    refused = late.post(
        "/login/code", data={"csrf_token": token, "code": pyotp.TOTP(secret).at(clock())}
    )
    assert refused.status_code == 302 and late.get("/panel/").status_code == 302


def test_turning_it_off_needs_a_code(
    web_config: Config, database: TestDatabase, clock: Clock
) -> None:
    panel, secret = organiser_with_code(web_config, database, clock)
    wrong = post_form(panel, "/panel/account/second-step/off", code="123")
    assert wrong.status_code == 400 and "not the code" in wrong.get_data(as_text=True)
    clock.tick()
    done = post_form(panel, "/panel/account/second-step/off", code=pyotp.TOTP(secret).at(clock()))
    assert done.status_code == 302
    assert "With your password only." in panel.get("/panel/account").get_data(as_text=True)
    fresh = panel_for(web_config, database, clock)
    assert log_in(fresh).headers["Location"].endswith("/panel/")


def test_an_admin_turns_it_off_for_someone_who_lost_their_phone(
    web_config: Config, database: TestDatabase, clock: Clock
) -> None:
    make_organiser(database.sessions, email="admin@example.org")
    sam = make_organiser(database.sessions, email="sam@example.org")
    sams = panel_for(web_config, database, clock)
    log_in(sams, "sam@example.org")
    set_up(sams, clock)
    admin = panel_for(web_config, database, clock)
    log_in(admin, "admin@example.org")
    detail = admin.get(f"/panel/organisers/{sam.id}").get_data(as_text=True)
    assert "Password and a code from an authenticator app" in detail
    confirm = admin.get(f"/panel/organisers/{sam.id}/second-step-off").get_data(as_text=True)
    assert "Turn off the code for sam@example.org?" in confirm
    done = admin.post(
        f"/panel/organisers/{sam.id}/second-step-off", data={"csrf_token": csrf(confirm)}
    )
    assert done.status_code == 302
    assert "Password only" in admin.get(f"/panel/organisers/{sam.id}").get_data(as_text=True)
    assert sams.get("/panel/").status_code == 302  # logged out everywhere
    assert (
        log_in(panel_for(web_config, database, clock), "sam@example.org")
        .headers["Location"]
        .endswith("/panel/")
    )


def test_a_plain_organiser_cannot_turn_off_anyone_elses_code(
    web_config: Config, database: TestDatabase, clock: Clock
) -> None:
    admin = make_organiser(database.sessions, email="admin@example.org")
    admins = panel_for(web_config, database, clock)
    log_in(admins, "admin@example.org")
    set_up(admins, clock)
    make_organiser(database.sessions, email="sam@example.org", role=OrganiserRole.ORGANISER)
    sams = panel_for(web_config, database, clock)
    log_in(sams, "sam@example.org")
    page = sams.get("/panel/account").get_data(as_text=True)
    refused = sams.post(
        f"/panel/organisers/{admin.id}/second-step-off", data={"csrf_token": csrf(page)}
    )
    assert refused.status_code == 403


def test_an_admin_who_must_use_a_code_sets_it_up_before_anything_else(
    web_config: Config, database: TestDatabase, clock: Clock
) -> None:
    strict = web_config.replace(web={"admins_need_second_step": True})
    make_organiser(database.sessions)
    make_organiser(database.sessions, email="sam@example.org", role=OrganiserRole.ORGANISER)
    panel = panel_for(strict, database, clock)
    log_in(panel)
    for page in ("/panel/", "/panel/account", "/panel/organisers", "/panel/audit"):
        moved = panel.get(page)
        assert moved.status_code == 302 and moved.headers["Location"].endswith(
            "/panel/account/second-step"
        ), page
    setup = panel.get("/panel/account/second-step").get_data(as_text=True)
    assert "Your network asks admins to log in with a code" in setup
    set_up(panel, clock)
    assert panel.get("/panel/").status_code == 200
    off = panel.get("/panel/account/second-step/off").get_data(as_text=True)
    assert "so it stays on" in off and 'id="turn-off"' not in off
    # A plain organiser is not asked.
    sams = panel_for(strict, database, clock)
    log_in(sams, "sam@example.org")
    assert sams.get("/panel/").status_code == 200


def test_the_code_is_limited_per_organiser(
    web_config: Config, database: TestDatabase, clock: Clock
) -> None:
    panel, secret = organiser_with_code(web_config, database, clock)
    guesser = panel_for(web_config, database, clock)
    log_in(guesser)
    for _ in range(second_step.CODE_ATTEMPTS):
        assert post_form(guesser, "/login/code", code="000000").status_code == 400
    clock.tick()
    held = post_form(guesser, "/login/code", code=pyotp.TOTP(secret).at(clock()))
    assert held.status_code == 302 and held.headers["Location"].endswith("/login")
    assert "Too many wrong codes" in guesser.get("/login").get_data(as_text=True)


def test_a_new_password_by_email_link_still_asks_for_the_code(
    web_config: Config, database: TestDatabase, clock: Clock
) -> None:
    """Reading someone's email is not enough: setting a password from a link leads to the code."""
    from mailer.domain.organisers import send_password_link

    make_organiser(database.sessions, email="admin@example.org")
    sam = make_organiser(database.sessions, email="sam@example.org")
    sams = panel_for(web_config, database, clock)
    log_in(sams, "sam@example.org")
    secret = set_up(sams, clock)
    services = build_services(web_config)
    with database.sessions() as s:
        send_password_link(s, services, sam.id, actor="test")
    with database.sessions() as s:
        body = s.scalars(
            select(OutboxMessage.body_text).where(OutboxMessage.kind == "organiser_password")
        ).one()
    link = re.search(r"(/set-password/\S+)", body).group(1)
    reader = panel_for(web_config, database, clock)
    done = post_form(reader, link, password="a brand new password", again="a brand new password")
    assert done.status_code == 302 and "/login/code" in done.headers["Location"]
    assert reader.get("/panel/").status_code == 302  # not in
    clock.tick()
    assert post_form(reader, "/login/code", code=pyotp.TOTP(secret).at(clock())).status_code == 302
    assert reader.get("/panel/").status_code == 200
