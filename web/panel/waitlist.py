"""Panel: a meeting's waiting list in the organiser's hands. Each change that emails someone has
its own page first, saying what will happen and who is told."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm

from mailer.domain.meetings import attendee_report, parse_local_datetime
from mailer.domain.waitlist import (
    give_place,
    move_in_line,
    offer_place,
    place_for_one_plan,
    take_off_waiting_list,
    waiting_list,
)
from mailer.rendering import format_when
from web.db import get_services, get_session
from web.errors import refusal_on_form
from web.panel import bp
from web.panel.actions import confirmation, current_actor, run_action
from web.panel.fields import local_time_field


def _back(meeting_id: int) -> str:
    return url_for("panel.meeting", meeting_id=meeting_id) + "#waiting-list"


def _places_words(capacity: int | None, after: int | None) -> str:
    if capacity == after:
        return "It uses a place that is free."
    return f"No place is free, so this adds one: {after} in-person places instead of {capacity}."


@bp.post("/meetings/<int:meeting_id>/waitlist/<int:person_id>/up")
def waitlist_up(meeting_id: int, person_id: int) -> Any:
    return run_action(
        lambda: move_in_line(
            get_session(), get_services(), meeting_id, person_id, up=True, actor=current_actor()
        ),
        "Moved up: now number {result} in line. The person now behind them has been emailed.",
        _back(meeting_id),
    )


@bp.post("/meetings/<int:meeting_id>/waitlist/<int:person_id>/down")
def waitlist_down(meeting_id: int, person_id: int) -> Any:
    return run_action(
        lambda: move_in_line(
            get_session(), get_services(), meeting_id, person_id, up=False, actor=current_actor()
        ),
        "Moved down: now number {result} in line, and emailed their new place.",
        _back(meeting_id),
    )


@bp.get("/meetings/<int:meeting_id>/waitlist/<int:person_id>/place")
def waitlist_place_confirm(meeting_id: int, person_id: int) -> Any:
    plan = place_for_one_plan(get_session(), meeting_id, person_id)
    return confirmation(
        question=f"Give {plan.name} an in-person place now?",
        details=[
            _places_words(plan.capacity, plan.capacity_after),
            f"{plan.name} is emailed that the place is theirs; the venue goes with the agenda "
            "(at once, if the agenda has already gone).",
            "The others waiting keep their places in line.",
        ],
        button="Give the place",
        action=url_for("panel.waitlist_place", meeting_id=meeting_id, person_id=person_id),
        back=_back(meeting_id),
    )


@bp.post("/meetings/<int:meeting_id>/waitlist/<int:person_id>/place")
def waitlist_place(meeting_id: int, person_id: int) -> Any:
    return run_action(
        lambda: give_place(
            get_session(), get_services(), meeting_id, person_id, actor=current_actor()
        ),
        lambda places: (
            "Place given, and they have been emailed."
            + (f" In-person places: {places}." if places is not None else "")
        ),
        _back(meeting_id),
    )


@bp.get("/meetings/<int:meeting_id>/waitlist/<int:person_id>/remove")
def waitlist_remove_confirm(meeting_id: int, person_id: int) -> Any:
    plan = place_for_one_plan(get_session(), meeting_id, person_id)
    return confirmation(
        question=f"Take {plan.name} off the waiting list?",
        details=[
            "Their answer is withdrawn: they no longer wait for a place.",
            f"{plan.name} is emailed that an organiser took them off, and may ask again (at the "
            "end of the line).",
            "A place held for them goes to the next in line.",
        ],
        button="Take them off the waiting list",
        action=url_for("panel.waitlist_remove", meeting_id=meeting_id, person_id=person_id),
        back=_back(meeting_id),
        warning=True,
    )


@bp.post("/meetings/<int:meeting_id>/waitlist/<int:person_id>/remove")
def waitlist_remove(meeting_id: int, person_id: int) -> Any:
    return run_action(
        lambda: take_off_waiting_list(
            get_session(), get_services(), meeting_id, person_id, actor=current_actor()
        ),
        "Taken off the waiting list, and emailed.",
        _back(meeting_id),
    )


class OfferForm(FlaskForm):
    reply_by = local_time_field(
        "Reply by (UK time)",
        required="Enter when the place stops being held for them",
        description="At least an hour from now, and before replies close.",
    )


@bp.route("/meetings/<int:meeting_id>/waitlist/<int:person_id>/offer", methods=["GET", "POST"])
def waitlist_offer(meeting_id: int, person_id: int) -> Any:
    """Hold a place for one person until a time: the page says what happens then, and the one
    button holds it and emails them."""
    session = get_session()
    meeting = attendee_report(session, meeting_id).meeting
    plan = place_for_one_plan(session, meeting_id, person_id)
    form = OfferForm()
    if form.validate_on_submit():
        with refusal_on_form(form, "reply_by"):
            reply_by = parse_local_datetime(form.reply_by.data, meeting.timezone, "reply_by")
            offer_place(
                session,
                get_services(),
                meeting_id,
                person_id,
                reply_by=reply_by,
                actor=current_actor(),
            )
            flash(
                f"A place is held for {plan.name} until "
                f"{format_when(reply_by, meeting.timezone)}, and they have been emailed."
            )
            return redirect(_back(meeting_id))
    held_until = next(
        (p.offered_until for p in waiting_list(session, meeting_id) if p.person_id == person_id),
        None,
    )
    return render_template(
        "panel/waitlist_offer.html",
        form=form,
        meeting=meeting,
        plan=plan,
        held_until=held_until,
        places_words="The place held for them stays theirs; none is added."
        if held_until
        else _places_words(plan.capacity, plan.capacity_after),
        back=_back(meeting_id),
    ), 400 if form.errors else 200
