"""Panel: a meeting's agenda, sending it now, and every email of the meeting previewed as members
get it."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for

from mailer.domain.meetings import attendee_report
from mailer.domain.schedules import PREVIEWS, preview_meeting_email, send_agenda_now, set_agenda
from mailer.rendering import counted
from web.db import get_services, get_session
from web.errors import flash_refusal
from web.panel import AgendaForm, bp
from web.panel.actions import (
    confirmation,
    current_actor,
    email_html_response,
    flash_outcome,
    run_action,
)


@bp.post("/meetings/<int:meeting_id>/agenda")
def meeting_agenda(meeting_id: int) -> Any:
    form = AgendaForm()
    if not form.validate_on_submit():
        flash_refusal(
            "Not saved: " + "; ".join(e for errors in form.errors.values() for e in errors)
        )
    else:
        flash_outcome(
            lambda: set_agenda(
                get_session(),
                meeting_id,
                agenda=form.agenda.data or "",
                days_before=form.days_before.data,
                actor=current_actor(),
            ),
            lambda meeting: (
                "Agenda saved."
                + (
                    " The delegates who had the earlier version are not sent this one unless you "
                    "choose “Send the agenda again”."
                    if meeting.agenda_sent_at
                    else ""
                )
            ),
            refused="Not saved",
        )
    return redirect(url_for("panel.meeting", meeting_id=meeting_id) + "#agenda-heading")


@bp.get("/meetings/<int:meeting_id>/agenda/send")
def meeting_agenda_send_confirm(meeting_id: int) -> Any:
    """Before the agenda goes early: to how many delegates, and who gets which details."""
    report = attendee_report(get_session(), meeting_id)
    count = report.in_person + report.remote + report.undecided
    back = url_for("panel.meeting", meeting_id=meeting_id) + "#agenda-heading"
    again = report.meeting.agenda_sent_at is not None
    if not count:
        return confirmation(
            question="There is no delegate to send the agenda to",
            details=["Nobody is registered yet. People who register later get it when they do."],
            button=None,
            action="",
            back=back,
        )
    return confirmation(
        question=f"Send the agenda again to {counted(count, 'delegate')}?"
        if again
        else f"Send the agenda to {counted(count, 'delegate')} now?",
        details=[
            f"{counted(report.in_person, 'in-person delegate')}: the agenda and the venue.",
            f"{counted(report.remote, 'remote delegate')}: the agenda and the joining details.",
            f"{counted(report.undecided, 'delegate')} yet to say how they will attend: the "
            "agenda, and a request to choose (no venue or joining details yet).",
            "Everyone who had the earlier version gets this one, as it is now."
            if again
            else "It is not sent again on its scheduled day; people who register later get it "
            "when they do.",
        ],
        button=f"Yes, send {counted(count, 'agenda')}",
        action=url_for("panel.meeting_agenda_send", meeting_id=meeting_id),
        back=back,
        fields={"again": "yes"} if again else {},
    )


@bp.post("/meetings/<int:meeting_id>/agenda/send")
def meeting_agenda_send(meeting_id: int) -> Any:
    return run_action(
        lambda: send_agenda_now(
            get_session(),
            get_services(),
            meeting_id,
            actor=current_actor(),
            again=request.form.get("again") == "yes",
        ),
        lambda result: (
            f"The agenda is on its way to {counted(result, 'delegate')}, each with "
            "their own details."
        ),
        url_for("panel.meeting", meeting_id=meeting_id) + "#agenda-heading",
    )


@bp.get("/meetings/<int:meeting_id>/emails/<which>")
def meeting_email_preview(meeting_id: int, which: str) -> Any:
    rendered = preview_meeting_email(get_session(), get_services(), meeting_id, which)
    return render_template(
        "panel/meeting_email.html",
        meeting_id=meeting_id,
        which=which,
        label=PREVIEWS.get(which),
        rendered=rendered,
    )


@bp.get("/meetings/<int:meeting_id>/emails/<which>/html")
def meeting_email_preview_html(meeting_id: int, which: str) -> Any:
    rendered = preview_meeting_email(get_session(), get_services(), meeting_id, which)
    if not rendered.html:
        abort(404)
    return email_html_response(rendered.html)
