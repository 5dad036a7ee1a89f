"""Organiser accounts from the panel: an admin invites an organiser by email, who chooses a
password from a link that works once; accounts are disabled (logged out at once), enabled and
removed, never the last admin's or one's own."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from mailer.domain.errors import InvalidInput
from mailer.domain.models import Organiser, OrganiserRole, OutboxMessage
from mailer.domain.organisers import set_disabled
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_list, make_organiser
from tests.support.http import HttpClient
from tests.support.servers import RunningService

NEW_PASSWORD = "a long new password for Sam"


def invitation_link(database: TestDatabase, email: str) -> str:
    with database.sessions() as s:
        mail = s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == email, OutboxMessage.kind == "organiser_password")
            .order_by(OutboxMessage.id.desc())
        ).first()
    assert mail is not None and mail.body_text is not None
    return re.search(r"http://\S+/set-password/\S+", mail.body_text).group(0)


def test_an_invited_organiser_chooses_a_password_once_and_runs_only_their_list(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    make_list(database.sessions, slug="other", name="Other Network")
    make_organiser(database.sessions)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    form = client.get("/panel/organisers/invite")
    assert "Leaders of Networks Forum" in form.body and "Other Network" in form.body
    token = client.csrf_token(form.body)
    no_list = client.post(
        "/panel/organisers/invite",
        {"csrf_token": token, "email": "sam@example.org", "role": "organiser"},
    )
    assert no_list.status == 400 and "Choose at least one list for them to run" in no_list.body
    bad = client.post(
        "/panel/organisers/invite",
        {"csrf_token": token, "email": "not an address", "role": "organiser", "lists": "forum"},
    )
    assert bad.status == 400 and "govuk-error-summary" in bad.body
    done = client.post(
        "/panel/organisers/invite",
        {
            "csrf_token": token,
            "email": "Sam@Example.org",
            "name": "Sam",
            "role": "organiser",
            "lists": "forum",
        },
    )
    assert "Invited sam@example.org" in done.body and "Invited</strong>" in done.body
    again = client.post(
        "/panel/organisers/invite",
        {"csrf_token": token, "email": "sam@example.org", "role": "organiser", "lists": "forum"},
    )
    assert again.status == 400 and "already an organiser" in again.body
    link = invitation_link(database, "sam@example.org")
    with database.sessions() as s:
        mail = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "organiser_password")
        ).one()
    assert "running Leaders of Networks Forum" in (mail.body_text or "")
    assert "Other Network" not in (mail.body_text or "")

    sam = HttpClient(web_service.config.service.base_url)
    assert sam.login("sam@example.org", "").status == 400  # no password yet: nothing to log in
    page = sam.get(link)
    assert page.status == 200 and "For sam@example.org" in page.body
    token = sam.csrf_token(page.body)
    short = sam.post(link, {"csrf_token": token, "password": "short", "again": "short"})
    assert short.status == 400 and "Use at least 12 characters" in short.body
    differ = sam.post(
        link, {"csrf_token": token, "password": NEW_PASSWORD, "again": NEW_PASSWORD + "!"}
    )
    assert differ.status == 400 and "not the same" in differ.body
    set_ = sam.post(link, {"csrf_token": token, "password": NEW_PASSWORD, "again": NEW_PASSWORD})
    assert "Your password is set, and you are logged in." in set_.body
    assert "Leaders of Networks Forum" in set_.body and "Other Network" not in set_.body
    assert "New list" not in set_.body and ">Organisers<" not in set_.body
    used = HttpClient(web_service.config.service.base_url).get(link)
    assert used.status == 400 and "has been used or replaced" in used.body
    assert sam.get("/panel/organisers").status == 403


def test_a_disabled_organiser_is_logged_out_at_once_and_cannot_log_in(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    make_organiser(database.sessions)
    sam_account = make_organiser(
        database.sessions,
        email="sam@example.org",
        role=OrganiserRole.ORGANISER,
        lists=("forum",),
    )
    sam = HttpClient(web_service.config.service.base_url)
    sam.login("sam@example.org", ORGANISER_PASSWORD)
    assert sam.get("/panel/").status == 200
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    confirm = client.get(f"/panel/organisers/{sam_account.id}/disable")
    assert "Disable sam@example.org?" in confirm.body and "govuk-button--warning" in confirm.body
    done = client.post(
        f"/panel/organisers/{sam_account.id}/disable",
        {"csrf_token": client.csrf_token(confirm.body)},
    )
    assert "Disabled sam@example.org" in done.body and "Disabled: cannot log in" in done.body
    assert "Log in to the organisers" in sam.get("/panel/").body  # the session has ended
    refused = sam.login("sam@example.org", ORGANISER_PASSWORD)
    assert refused.status == 400 and "This account has been disabled" in refused.body
    enabled = client.post(
        f"/panel/organisers/{sam_account.id}/enable", {"csrf_token": client.csrf_token(done.body)}
    )
    assert "sam@example.org can log in again." in enabled.body
    assert sam.login("sam@example.org", ORGANISER_PASSWORD).status == 200


def test_nobody_disables_or_removes_themselves_or_the_last_admin(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    me = make_organiser(database.sessions)
    other = make_organiser(database.sessions, email="second@example.org")
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    page = client.get(f"/panel/organisers/{me.id}")
    assert "This is you" in page.body and 'id="remove"' not in page.body
    token = client.csrf_token(page.body)
    yourself = client.post(f"/panel/organisers/{me.id}/remove", {"csrf_token": token})
    assert "You cannot remove your own account" in yourself.body
    removed = client.post(f"/panel/organisers/{other.id}/remove", {"csrf_token": token})
    assert "Removed second@example.org." in removed.body
    with database.sessions() as s:
        assert s.scalars(select(Organiser.email)).all() == ["organiser@example.org"]
    audit = client.get("/panel/audit")
    assert "removed an organiser" in audit.body


def test_the_last_admin_cannot_be_disabled_by_anyone(database: TestDatabase) -> None:
    admin = make_organiser(database.sessions)
    plain = make_organiser(
        database.sessions, email="plain@example.org", role=OrganiserRole.ORGANISER
    )
    with database.sessions() as s, pytest.raises(InvalidInput, match="only admin who can log in"):
        set_disabled(s, admin.id, disabled=True, actor_id=plain.id)


def test_a_removed_organisers_id_is_never_given_to_another(database: TestDatabase) -> None:
    """The audit log names organisers by id: a new organiser must never take a removed one's."""
    from mailer.domain.organisers import remove_organiser

    admin = make_organiser(database.sessions)
    adam = make_organiser(database.sessions, email="adam@example.org")
    with database.sessions() as s:
        remove_organiser(s, adam.id, actor_id=admin.id)
    pat = make_organiser(database.sessions, email="pat@example.org")
    assert pat.id != adam.id
