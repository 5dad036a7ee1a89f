"""Signed links carry ids only, sealed so that they read as noise; one salt per purpose; they
expire."""

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
    assert "sam" not in url.lower()
    claim = s.load_rsvp(token)
    assert (claim.person_id, claim.meeting_id, claim.link_version) == (7, 3, 1)


def test_a_token_shows_nothing_of_whose_it_is() -> None:
    """Forwarded links must not show ids: not whose they are, not whether two are the same
    person's, not how many people there are."""
    s = signer()
    tokens = [
        s.rsvp_token(PERSON, MEETING),  # type: ignore[arg-type]
        s.rsvp_token(PERSON, SimpleNamespace(id=4)),  # type: ignore[arg-type]
        s.unsubscribe_token(7, 1, 1),
        s.answer_token(2, 7, 1),
        s.volunteer_url(PERSON, 5).split("/")[-1],  # type: ignore[arg-type]
    ]
    for token in tokens:
        raw = base64.urlsafe_b64decode(token.split(".")[0] + "==")
        with pytest.raises(ValueError):  # neither JSON nor text: noise
            json.loads(raw.decode("utf-8"))
    first, second = tokens[0].split(".")[0], tokens[1].split(".")[0]
    assert first[:12] != second[:12]  # the same person's two links share no readable part
    # Derived, not stored: the same member and list always give the same unsubscribe link.
    assert s.unsubscribe_token(7, 1, 1) == tokens[2]
    assert len(tokens[3]) + len("forum-answer+") <= 64  # a reply address's local part (RFC 5321)


def test_links_sent_before_they_were_sealed_still_work() -> None:
    from itsdangerous import URLSafeSerializer

    old = URLSafeSerializer("k" * 48, salt="convene.unsubscribe.v1").dumps([7, 1, 1])
    assert signer().load_unsubscribe(old).person_id == 7
    old_answer = URLSafeSerializer("k" * 48, salt="convene.consultation-answer.v1").dumps([2, 7, 1])
    assert signer().load_answer(old_answer).person_id == 7


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
