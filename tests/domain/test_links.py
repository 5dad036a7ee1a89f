"""Signed links carry ids only, one salt per purpose, and expire."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from mailer.domain.errors import ExpiredLink, InvalidLink
from mailer.domain.links import LINK_FORM_MAX_AGE, LinkSigner

PERSON = SimpleNamespace(id=7, link_version=1, email="sam@example.org", display_name="Sam")
MEETING = SimpleNamespace(id=3)


def signer(**kw: object) -> LinkSigner:
    return LinkSigner("k" * 48, "https://lists.example.org/", kw.get("max_age", timedelta(days=1)))  # type: ignore[arg-type]


def test_url_has_no_personal_data_and_round_trips() -> None:
    s = signer()
    url = s.rsvp_url(PERSON, MEETING, "remote")  # type: ignore[arg-type]
    assert url.startswith("https://lists.example.org/rsvp/") and url.endswith("/remote")
    token = url.split("/")[-2]
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert payload == [7, 3, 1]
    assert "sam" not in url.lower()
    claim = s.load_rsvp(token)
    assert (claim.person_id, claim.meeting_id, claim.link_version) == (7, 3, 1)


def test_other_secret_or_salt_is_refused() -> None:
    forged = URLSafeTimedSerializer("k" * 48, salt="another.purpose").dumps([7, 3, 1])
    with pytest.raises(InvalidLink):
        signer().load_rsvp(forged)
    with pytest.raises(InvalidLink):
        LinkSigner("z" * 48, "https://x", timedelta(days=1)).load_rsvp(
            signer().rsvp_token(PERSON, MEETING)
        )  # type: ignore[arg-type]


def test_expired_token() -> None:
    token = signer().rsvp_token(PERSON, MEETING)  # type: ignore[arg-type]
    with pytest.raises(ExpiredLink):
        signer(max_age=timedelta(seconds=-1)).load_rsvp(token)


@pytest.mark.parametrize("payload", [[1, 2], ["1", 2, 3], {"p": 1}, [True, 2, 3]])
def test_well_signed_but_malformed_payload_is_invalid(payload: object) -> None:
    token = URLSafeTimedSerializer("k" * 48, salt="convene.rsvp.v1").dumps(payload)
    with pytest.raises(InvalidLink):
        signer().load_rsvp(token)


def test_form_token_is_bound_to_its_link_and_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    s = signer()
    link = s.rsvp_token(PERSON, MEETING)  # type: ignore[arg-type]
    other = s.rsvp_token(SimpleNamespace(id=8, link_version=1), MEETING)  # type: ignore[arg-type]
    token = s.form_token(link)
    assert s.check_form_token(link, token)
    assert link.split(".")[0] not in token  # a digest of the link, not its ids
    assert not s.check_form_token(other, token)
    assert not s.check_form_token(link, token[:-2] + "xx")
    assert not s.check_form_token(link, "")
    assert not LinkSigner("z" * 48, "https://x", timedelta(days=1)).check_form_token(link, token)
    later = int(time.time() + LINK_FORM_MAX_AGE.total_seconds()) + 5
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    assert not s.check_form_token(link, token)
