"""The least an RSVP link can do on this stack, to measure against: ``gunicorn
'bench.rsvp_floor:app'``.

Same Flask, SQLAlchemy engine (reads take no write lock on SQLite), signed tokens and
Jinja as the real pages, but none of their rules:

- GET checks the link's signature, reads the meeting's title and time in one
  query and fills them into a fixed page as long as the real one;
- POST checks the link and its form token and makes one write transaction of
  two statements (an UPDATE of the person, an INSERT of a ready-written message),
  then redirects.

No revocation, deadline, capacity or waitlist check, no answer read or
written, no audit entry, no email rendered, no security headers: what is left
is the floor under any implementation of these pages with this stack, and
``bench.rsvp`` reports it beside the real pages in the same run. Configured
by ``$CONVENE_CONFIG`` like ``web.wsgi``. A benchmark only: never deploy it.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask, redirect, request
from sqlalchemy import bindparam, insert, select, update

from mailer.config import load_config
from mailer.db import READ_ONLY, make_engine
from mailer.domain.models import Meeting, OutboxMessage, Person
from mailer.domain.services import build_services

_PAGE = (
    """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><main><h1>{{ title }}</h1><p>{{ when }}</p>
<form method="post" action="/rsvp/{{ token }}/{{ choice }}">
<input type="hidden" name="csrf_token" value="{{ form_token }}">
<button type="submit">Confirm</button></form>
"""
    + "<p>"
    + "The page's fixed text and markup. " * 60
    + "</p></main></body></html>\n"
)

_MEETING = select(Meeting.__table__.c.title, Meeting.__table__.c.starts_at).where(
    Meeting.__table__.c.id == bindparam("id")
)
_TOUCH = (
    update(Person.__table__)
    .where(Person.__table__.c.id == bindparam("pid"))
    .values(display_name=bindparam("name"))
)
_QUEUE = insert(OutboxMessage.__table__)


def create_floor_app() -> Flask:
    config = load_config()
    services = build_services(config)
    engine = make_engine(config.database_url)
    app = Flask("rsvp_floor")
    page = app.jinja_env.from_string(_PAGE)

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    @app.get("/rsvp/<token>/<choice>")
    def show(token: str, choice: str) -> Any:
        claim = services.links.load_rsvp(token)
        with engine.connect() as conn, conn.execution_options(**{READ_ONLY: True}).begin():
            meeting = conn.execute(_MEETING, {"id": claim.meeting_id}).one()
        return page.render(
            title=meeting.title,
            when=meeting.starts_at,
            token=token,
            choice=choice,
            form_token=services.links.form_token(token),
        )

    @app.post("/rsvp/<token>/<choice>")
    def answer(token: str, choice: str) -> Any:
        claim = services.links.load_rsvp(token)
        if not services.links.check_form_token(token, request.form.get("csrf_token", "")):
            return "form expired", 400
        with engine.begin() as conn:
            conn.execute(_TOUCH, {"pid": claim.person_id, "name": choice})
            conn.execute(
                _QUEUE,
                {
                    "kind": "rsvp_confirmation",
                    "person_id": claim.person_id,
                    "recipient": "floor@bench.test",
                    "sender": "bounces@bench.test",
                    "message_id": f"<{uuid.uuid4().hex}@bench.test>",
                    "subject": "Your answer",
                    "body_text": _PAGE,
                    "headers": {},
                },
            )
        return redirect(f"/rsvp/{token}/{choice}/done")

    return app


app = create_floor_app()
