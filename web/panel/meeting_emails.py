"""Panel: a meeting's agenda, sending it now, and every email of the meeting previewed as members get it."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for

from mailer.domain.errors import DomainError, NotFound
from mailer.domain.schedules import PREVIEWS, preview_meeting_email, send_agenda_now, set_agenda
from web.auth import login_required
from web.db import get_services, get_session
from web.panel import AgendaForm, bp
from web.panel.actions import current_actor, email_html_response, run_action


@bp.post("/meetings/<int:meeting_id>/agenda")
@login_required
def meeting_agenda(meeting_id: int) -> Any:
    form = AgendaForm()
    if not form.validate_on_submit():
        flash("Not saved: " + "; ".join(e for errors in form.errors.values() for e in errors))
    else:
        try:
            set_agenda(get_session(), meeting_id, agenda=form.agenda.data or "", days_before=form.days_before.data,
                       actor=current_actor())
        except NotFound:
            abort(404)
        except DomainError as exc:
            flash(f"Not saved: {exc}")
        else:
            flash("Agenda saved.")
    return redirect(url_for("panel.meeting", meeting_id=meeting_id) + "#agenda")


@bp.post("/meetings/<int:meeting_id>/agenda/send")
@login_required
def meeting_agenda_send(meeting_id: int) -> Any:
    return run_action(lambda: send_agenda_now(get_session(), get_services(), meeting_id, actor=current_actor()),
                      "The agenda is on its way to {result} delegate(s), each with their own details.",
                      url_for("panel.meeting", meeting_id=meeting_id) + "#agenda")


def _preview(meeting_id: int, which: str):  # type: ignore[no-untyped-def]
    try:
        return preview_meeting_email(get_session(), get_services(), meeting_id, which)
    except NotFound:
        abort(404)


@bp.get("/meetings/<int:meeting_id>/emails/<which>")
@login_required
def meeting_email_preview(meeting_id: int, which: str) -> Any:
    return render_template("panel/meeting_email.html", meeting_id=meeting_id, which=which, label=PREVIEWS.get(which),
                           rendered=_preview(meeting_id, which))


@bp.get("/meetings/<int:meeting_id>/emails/<which>/html")
@login_required
def meeting_email_preview_html(meeting_id: int, which: str) -> Any:
    rendered = _preview(meeting_id, which)
    if not rendered.html:
        abort(404)
    return email_html_response(rendered.html)
