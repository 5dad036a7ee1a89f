"""Panel: messages the service did not act on, with one-click actions for a person."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from mailer.domain.meetings import list_meetings
from mailer.domain.membership import remove_from_list
from mailer.domain.models import AttendanceMode, MeetingStatus, RsvpResponse, utcnow
from mailer.domain.rsvp import record_rsvp
from mailer.domain.triage import reply_to_inbound, resolve_triage, triage_item
from web.db import get_services, get_session
from web.errors import flash_refusal
from web.panel import bp
from web.panel.actions import current_actor, flash_outcome

ANSWERS = {
    "in_person": (RsvpResponse.ATTENDING, AttendanceMode.IN_PERSON),
    "remote": (RsvpResponse.ATTENDING, AttendanceMode.REMOTE),
    "registered": (RsvpResponse.ATTENDING, None),
    "declined": (RsvpResponse.DECLINED, None),
}


class AnswerForm(FlaskForm):
    meeting_id = SelectField("Meeting", coerce=int)
    answer = SelectField(
        "Answer",
        choices=[
            SelectChoice("in_person", "Attending in person"),
            SelectChoice("remote", "Joining remotely"),
            SelectChoice("registered", "Registered, mode not known"),
            SelectChoice("declined", "Can't attend"),
        ],
    )


class ReplyForm(FlaskForm):
    text = TextAreaField(
        "Your reply", validators=[DataRequired("Write a reply"), Length(max=20000)]
    )


class SimpleForm(FlaskForm):
    action = HiddenField()


def _upcoming(list_slug: str | None) -> list[SelectChoice]:
    if not list_slug:
        return []
    now = utcnow()
    return [
        SelectChoice(m.id, f"{m.title} ({m.starts_at:%d %b %Y})")
        for m in reversed(list_meetings(get_session(), list_slug))
        if m.status is MeetingStatus.PUBLISHED and m.ends_at > now
    ]


@bp.get("/inbound/<int:inbound_id>")
def triage_detail(inbound_id: int) -> Any:
    item = triage_item(get_session(), inbound_id)
    answer = AnswerForm()
    answer.meeting_id.choices = _upcoming(item.message.list_slug)
    return render_template(
        "panel/triage_detail.html", item=item, answer=answer, reply=ReplyForm(), simple=SimpleForm()
    )


@bp.post("/inbound/<int:inbound_id>/answer")
def triage_answer(inbound_id: int) -> Any:
    item = triage_item(get_session(), inbound_id)
    form = AnswerForm()
    form.meeting_id.choices = _upcoming(item.message.list_slug)
    sender = item.sender
    if not form.validate_on_submit() or not sender:
        flash_refusal("Choose a meeting and an answer.")
        return redirect(url_for("panel.triage_detail", inbound_id=inbound_id))
    response, mode = ANSWERS[form.answer.data]
    if not flash_outcome(
        lambda: record_rsvp(
            get_session(),
            get_services(),
            meeting_id=form.meeting_id.data,
            email=sender,
            response=response,
            mode=mode,
            source="panel",
        ),
        None,
        refused="Not recorded",
        missing_is_refused=True,
    ):
        return redirect(url_for("panel.triage_detail", inbound_id=inbound_id))
    resolve_triage(
        get_session(),
        inbound_id,
        outcome=f"answer recorded: {form.answer.data}",
        actor=current_actor(),
    )
    flash(f"Recorded, and {sender} has been emailed a confirmation.")
    return redirect(url_for("panel.inbound"))


@bp.post("/inbound/<int:inbound_id>/reply")
def triage_reply(inbound_id: int) -> Any:
    form = ReplyForm()
    if not form.validate_on_submit():
        flash_refusal("Write a reply first.")
        return redirect(url_for("panel.triage_detail", inbound_id=inbound_id))
    if not flash_outcome(
        lambda: reply_to_inbound(
            get_session(), get_services(), inbound_id, text=form.text.data, actor=current_actor()
        ),
        lambda _: "Reply sent.",
        refused="Not sent",
    ):
        return redirect(url_for("panel.triage_detail", inbound_id=inbound_id))
    return redirect(url_for("panel.inbound"))


@bp.post("/inbound/<int:inbound_id>/resolve")
def triage_resolve(inbound_id: int) -> Any:
    item = triage_item(get_session(), inbound_id)
    form = SimpleForm()
    if not form.validate_on_submit() or form.action.data not in ("remove", "handled"):
        abort(400)
    actor = current_actor()
    if form.action.data == "remove":
        if not flash_outcome(
            lambda: remove_from_list(
                get_session(),
                get_services(),
                slug=item.message.list_slug or "",
                email=item.sender or "",
                actor=actor,
            ),
            None,
            refused="Not removed",
            missing_is_refused=True,
        ):
            return redirect(url_for("panel.triage_detail", inbound_id=inbound_id))
        resolve_triage(get_session(), inbound_id, outcome="removed from the list", actor=actor)
        flash(f"Removed {item.sender} from the list.")
    else:
        resolve_triage(get_session(), inbound_id, outcome="handled", actor=actor)
        flash("Marked as handled.")
    return redirect(url_for("panel.inbound"))
