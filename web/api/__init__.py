"""JSON API: public figures for a website (bearer token), and attendee lists for organisers
(panel login)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify, request, url_for

from mailer.domain.api_tokens import check_token
from mailer.domain.errors import AuthenticationFailed
from mailer.domain.meetings import attendee_report, meeting_figures, upcoming_meetings
from web import csrf
from web.api.openapi import openapi_document
from web.auth import require_list_access, signed_in_organiser
from web.db import get_config, get_session
from web.errors import API_PREFIX

#: Its errors, a missing meeting or an address that matches nothing alike, are answered in JSON,
#: ``{"error": "..."}``, by ``web.errors``.
bp = Blueprint("api", __name__, url_prefix=API_PREFIX)
csrf.exempt(bp)  # bearer tokens, not cookies: no cross-site request can carry one


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        try:
            if scheme.lower() != "bearer" or not token:
                raise AuthenticationFailed("missing token")
            check_token(get_session(), token.strip())
        except AuthenticationFailed:
            return (
                jsonify(error="authentication required: send 'Authorization: Bearer <token>'"),
                401,
                {"WWW-Authenticate": 'Bearer realm="convene"'},
            )
        return view(*args, **kwargs)

    return wrapped


def organiser_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """API views for organisers: their panel login, or a JSON 401; and, as in the panel, only
    for the lists they run (403)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if signed_in_organiser() is None:
            return jsonify(error="authentication required"), 401
        require_list_access()
        return view(*args, **kwargs)

    return wrapped


def _meeting_json(figures) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    m = figures.meeting
    return {
        "id": m.id,
        "title": m.title,
        "list": m.mailing_list.slug,
        "starts_at": m.starts_at.isoformat(),
        "ends_at": m.ends_at.isoformat(),
        "timezone": m.timezone,
        "format": m.format.value,
        "status": m.status.value,
        "capacity": m.capacity,
        "places_left": figures.places_left,
        "rsvp_deadline": m.rsvp_deadline.isoformat() if m.rsvp_deadline else None,
        "counts": figures.counts,
        "url": url_for("public.meeting_page", meeting_id=m.id, _external=True),
    }


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document(get_config().service.base_url))


@bp.get("/meetings")
@token_required
def meetings() -> Any:
    return jsonify([_meeting_json(f) for f in upcoming_meetings(get_session())])


@bp.get("/meetings/<int:meeting_id>")
@token_required
def meeting(meeting_id: int) -> Any:
    return jsonify(_meeting_json(meeting_figures(get_session(), meeting_id)))


@bp.get("/meetings/<int:meeting_id>/attendees")
@organiser_required
def attendees(meeting_id: int) -> Any:
    """Personal data: organisers only (panel login), never a website token."""
    return jsonify(attendee_report(get_session(), meeting_id).as_dict())
