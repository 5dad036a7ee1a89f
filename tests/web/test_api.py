"""The JSON API: bearer tokens, counts only, every response valid against the OpenAPI document."""

from __future__ import annotations

import json
import urllib.request

import jsonschema
from openapi_spec_validator import validate

from mailer.domain.api_tokens import create_token, revoke_token
from mailer.domain.models import AttendanceMode, RsvpResponse
from mailer.domain.rsvp import record_rsvp
from mailer.domain.services import build_services
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting
from tests.support.servers import RunningService


def call(base: str, path: str, token: str | None = None) -> tuple[int, object]:
    request = urllib.request.Request(
        base + path, headers={"Authorization": f"Bearer {token}"} if token else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def response_schema(document: dict, path: str, status: str) -> dict:
    """The schema the document promises for this path and status, resolvable on its own."""
    content = document["paths"][path]["get"]["responses"][status]["content"]["application/json"]
    return {**content["schema"], "components": document["components"]}


def test_api_with_tokens_matches_its_openapi_document(
    web_service: RunningService, database: TestDatabase
) -> None:
    base = web_service.config.service.base_url
    services = build_services(web_service.config)
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, capacity=2)
    for email, mode in (
        ("a@example.org", AttendanceMode.IN_PERSON),
        ("b@example.org", AttendanceMode.REMOTE),
        ("c@example.org", AttendanceMode.IN_PERSON),
        ("d@example.org", AttendanceMode.IN_PERSON),
    ):
        with database.sessions() as s:
            record_rsvp(
                s,
                services,
                meeting_id=meeting.id,
                email=email,
                response=RsvpResponse.ATTENDING,
                mode=mode,
                source="panel",
            )
    with database.sessions() as s:
        token = create_token(s, name="website", actor="test")

    status, document = call(base, "/api/openapi.json")
    assert status == 200
    validate(document)  # a valid OpenAPI 3.1 document

    assert call(base, "/api/meetings")[0] == 401
    assert call(base, "/api/meetings", "cvn_wrong")[0] == 401
    status, listing = call(base, "/api/meetings", token)
    assert status == 200
    jsonschema.validate(listing, response_schema(document, "/api/meetings", "200"))
    [one] = listing
    assert one["counts"] == {
        "in_person": 2,
        "remote": 1,
        "undecided": 0,
        "declined": 0,
        "waitlist": 1,
    }
    assert one["places_left"] == 0 and one["url"].endswith(f"/meetings/{meeting.id}")
    assert "example.org" not in json.dumps(listing)  # counts only, never who

    status, single = call(base, f"/api/meetings/{meeting.id}", token)
    assert status == 200
    jsonschema.validate(single, response_schema(document, "/api/meetings/{meeting_id}", "200"))
    status, missing = call(base, "/api/meetings/999", token)
    assert status == 404
    jsonschema.validate(missing, response_schema(document, "/api/meetings/{meeting_id}", "404"))

    # The attendee list is personal data: a website token never gets it.
    assert call(base, f"/api/meetings/{meeting.id}/attendees", token)[0] == 401

    with database.sessions() as s:
        revoke_token(s, name="website", actor="test")
    assert call(base, "/api/meetings", token)[0] == 401
