"""Public pages reached from signed links. A GET never changes anything:
mail scanners open every link. The change happens on the page's one POST.

A bad or expired link, or a form that came back without its token, is an
error the views let rise: ``web.errors`` gives each its friendly page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from mailer.domain.consultations import volunteer_by_link, volunteer_page
from mailer.domain.errors import InvalidInput, NotFound, RsvpClosed
from mailer.domain.invitations import public_meeting, send_links
from mailer.domain.links import RSVP_CHOICES
from mailer.domain.lists import leave_by_token, rejoin_by_token, unsubscribe_state
from mailer.domain.membership import confirm_join, confirm_state
from mailer.domain.rsvp import record_rsvp_from_link, rsvp_page
from web import csrf
from web.db import get_config, get_services, get_session
from web.errors import refusal_on_form
from web.public.linkforms import LinkForm, link_form, submitted_link_form

bp = Blueprint("public", __name__)


class ConfirmForm(LinkForm):
    """No fields: the signed URL says who and what; the form carries the link-bound token."""


class RsvpForm(LinkForm):
    access_needs = TextAreaField(
        "Anything we should know to make the meeting accessible for you? (optional)",
        validators=[Optional(), Length(max=1000, message="Please keep it to 1,000 characters.")],
        description="For example step-free access, a hearing loop, a quiet space or dietary "
        "needs. Only the "
        "organisers see it, and it is deleted after the meeting.",
    )


@bp.get("/")
def index() -> Any:
    return redirect(url_for("panel.dashboard"))


@bp.get("/rsvp/<token>/<choice>")
def rsvp(token: str, choice: str) -> Any:
    page = rsvp_page(get_session(), get_services(), token, choice)
    return render_template(
        "public/rsvp.html",
        page=page,
        form=link_form(RsvpForm, token),
        token=token,
        choices=RSVP_CHOICES,
    )


@bp.post("/rsvp/<token>/<choice>")
@csrf.exempt  # the form's own token is bound to the link (web.public.linkforms): no cookie needed
def rsvp_confirm(token: str, choice: str) -> Any:
    form = submitted_link_form(RsvpForm, token)
    if form.errors:
        page = rsvp_page(get_session(), get_services(), token, choice)
        return render_template(
            "public/rsvp.html", page=page, form=form, token=token, choices=RSVP_CHOICES
        ), 400
    outcome = record_rsvp_from_link(
        get_session(), get_services(), token, choice, access_needs=form.access_needs.data or None
    )
    # What this POST did, shown to this request only: not at an address that would keep saying it.
    page = rsvp_page(get_session(), get_services(), token, choice)
    return render_template(
        "public/rsvp_done.html", page=page, outcome=outcome, token=token, choices=RSVP_CHOICES
    )


@bp.get("/rsvp/<token>/<choice>/done")
def rsvp_done(token: str, choice: str) -> Any:
    """Where earlier versions sent the browser after a press: the link's own page, which says
    nothing about anyone."""
    return redirect(url_for("public.rsvp", token=token, choice=choice))


@bp.get("/volunteer/<token>")
def volunteer(token: str) -> Any:
    """The role and one button; opening the link records nothing."""
    page = volunteer_page(get_session(), get_services(), token)
    return render_template(
        "public/volunteer.html", page=page, token=token, form=link_form(ConfirmForm, token)
    )


@bp.post("/volunteer/<token>")
@csrf.exempt  # link-bound form token
def volunteer_confirm(token: str) -> Any:
    submitted_link_form(ConfirmForm, token)
    page = volunteer_by_link(get_session(), get_services(), token)
    return render_template("public/volunteered.html", page=page)


SAMPLE_TOKENS = {"preview", "test"}


@bp.get("/u/<token>")
def unsubscribe(token: str) -> Any:
    """Shows the list and one button; opening the link changes nothing."""
    if token in SAMPLE_TOKENS:
        return render_template("public/unsubscribe_sample.html")
    state = unsubscribe_state(get_session(), get_services(), token)
    return render_template(
        "public/unsubscribe.html", state=state, token=token, form=link_form(ConfirmForm, token)
    )


@bp.post("/u/<token>")
# RFC 8058: mail providers POST "List-Unsubscribe=One-Click" with no session; the token is the proof
@csrf.exempt
def unsubscribe_confirm(token: str) -> Any:
    if token in SAMPLE_TOKENS:
        return render_template("public/unsubscribe_sample.html")
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    state = leave_by_token(
        get_session(), get_services(), token, source="one-click" if one_click else "page"
    )
    if one_click and "text/html" not in request.headers.get("Accept", ""):
        return "Unsubscribed.\n", 200, {"Content-Type": "text/plain; charset=utf-8"}
    return render_template(
        "public/unsubscribed.html", state=state, token=token, form=link_form(ConfirmForm, token)
    )


@bp.post("/u/<token>/rejoin")
@csrf.exempt  # link-bound form token
def unsubscribe_undo(token: str) -> Any:
    submitted_link_form(ConfirmForm, token)
    state = rejoin_by_token(get_session(), get_services(), token)
    return render_template("public/rejoined.html", state=state)


@bp.get("/confirm/<token>")
def confirm(token: str) -> Any:
    """A request to join, confirmed by the address owner. The GET only shows the button."""
    state = confirm_state(get_session(), get_services(), token)
    return render_template(
        "public/confirm.html", state=state, token=token, form=link_form(ConfirmForm, token)
    )


@bp.post("/confirm/<token>")
@csrf.exempt  # link-bound form token
def confirm_post(token: str) -> Any:
    submitted_link_form(ConfirmForm, token)
    state = confirm_join(get_session(), get_services(), token, source="link")
    return render_template("public/confirmed.html", state=state)


class LinksForm(FlaskForm):
    email = EmailField(
        "Your email address", validators=[DataRequired("Enter your email address"), Length(max=320)]
    )


@bp.route("/meetings/<int:meeting_id>", methods=["GET", "POST"])
def meeting_page(meeting_id: int) -> Any:
    """A meeting's public page: what, when, places left; and a form to get your own links by
    email."""
    page = public_meeting(get_session(), meeting_id)
    form = LinksForm()
    sent = False
    if form.validate_on_submit():
        with refusal_on_form(form, "email", (InvalidInput, RsvpClosed, NotFound)):
            send_links(
                get_session(),
                get_services(),
                meeting_id,
                email=form.email.data or "",
                client=request.remote_addr or "",
            )
            sent = True
    status = 400 if form.errors else 200
    return render_template(
        "public/meeting.html",
        page=page,
        form=form,
        sent=sent,
        list_address=get_config().addresses.list_address(page.meeting.mailing_list.slug),
    ), status


@bp.get("/privacy")
def privacy() -> Any:
    return render_template("public/privacy.html", contact=get_config().mail.privacy_contact)
