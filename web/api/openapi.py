"""The JSON API's OpenAPI 3.1 description; the tests check every response against it."""

from __future__ import annotations

from typing import Any

COUNTS = {
    "type": "object",
    "required": ["in_person", "remote", "undecided", "declined", "waitlist"],
    "properties": {
        name: {"type": "integer", "minimum": 0}
        for name in ("in_person", "remote", "undecided", "declined", "waitlist")
    },
    "additionalProperties": False,
}

MEETING = {
    "type": "object",
    "required": [
        "id",
        "title",
        "list",
        "starts_at",
        "ends_at",
        "timezone",
        "format",
        "status",
        "capacity",
        "places_left",
        "rsvp_deadline",
        "counts",
        "url",
    ],
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "list": {"type": "string"},
        "starts_at": {"type": "string", "format": "date-time"},
        "ends_at": {"type": "string", "format": "date-time"},
        "timezone": {"type": "string"},
        "format": {"enum": ["in_person", "remote", "hybrid"]},
        "status": {"enum": ["published", "cancelled"]},
        "capacity": {"type": ["integer", "null"]},
        "places_left": {"type": ["integer", "null"]},
        "rsvp_deadline": {"type": ["string", "null"], "format": "date-time"},
        "counts": {"$ref": "#/components/schemas/Counts"},
        "url": {"type": "string", "description": "The meeting's public page"},
    },
    "additionalProperties": False,
}

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}


def openapi_document(base_url: str) -> dict[str, Any]:
    def json_of(ref: str) -> dict[str, Any]:
        return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}

    unauthorised = {"description": "Missing or invalid token", "content": json_of("Error")}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Convene API",
            "version": "1",
            "description": (
                "Read-only figures for a network's website: upcoming meetings and how many "
                "places are left. Never who is coming."
            ),
        },
        "servers": [{"url": base_url}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/meetings": {
                "get": {
                    "summary": "Published meetings that have not ended, soonest first",
                    "responses": {
                        "200": {
                            "description": "Meetings",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Meeting"},
                                    }
                                }
                            },
                        },
                        "401": unauthorised,
                    },
                }
            },
            "/api/meetings/{meeting_id}": {
                "get": {
                    "summary": "One meeting with its RSVP counts",
                    "parameters": [
                        {
                            "name": "meeting_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "200": {"description": "The meeting", "content": json_of("Meeting")},
                        "401": unauthorised,
                        "404": {"description": "No such meeting", "content": json_of("Error")},
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `convene api-token create NAME`",
                }
            },
            "schemas": {"Meeting": MEETING, "Counts": COUNTS, "Error": ERROR},
        },
    }
