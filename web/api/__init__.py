"""JSON API for organisers' automation; same session login as the panel."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from mailer.domain.errors import NotFound
from mailer.domain.meetings import attendee_report, list_meetings
from web.auth import login_required
from web.db import get_session

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/meetings")
@login_required
def meetings() -> Any:
    return jsonify([
        {"id": m.id, "title": m.title, "list": m.mailing_list.slug, "starts_at": m.starts_at.isoformat(),
         "ends_at": m.ends_at.isoformat(), "format": m.format.value, "status": m.status.value}
        for m in list_meetings(get_session())
    ])


@bp.get("/meetings/<int:meeting_id>/attendees")
@login_required
def attendees(meeting_id: int) -> Any:
    try:
        return jsonify(attendee_report(get_session(), meeting_id).as_dict())
    except NotFound as exc:
        return jsonify(error=str(exc)), 404
