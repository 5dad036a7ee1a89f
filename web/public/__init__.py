"""Public pages reached from signed links. A GET never changes anything:
mail scanners open every link. The change happens on the page's one POST."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask_wtf import FlaskForm

from mailer.domain.errors import ExpiredLink, InvalidChoice, InvalidLink, RsvpClosed
from mailer.domain.links import RSVP_CHOICES
from mailer.domain.rsvp import record_rsvp_from_link, rsvp_page
from web.db import get_config, get_services, get_session

bp = Blueprint("public", __name__)


class ConfirmForm(FlaskForm):
    """No fields: the signed URL says who and what; the form carries the CSRF token."""


def _link_error(exc: Exception) -> Any:
    title = "This link has expired" if isinstance(exc, ExpiredLink) else "This link is not valid"
    return render_template("public/link_error.html", title=title, message=str(exc)), 400


@bp.get("/")
def index() -> Any:
    return redirect(url_for("panel.dashboard"))


@bp.get("/rsvp/<token>/<choice>")
def rsvp(token: str, choice: str) -> Any:
    try:
        page = rsvp_page(get_session(), get_services(), token, choice)
    except (InvalidLink, ExpiredLink) as exc:
        return _link_error(exc)
    return render_template("public/rsvp.html", page=page, form=ConfirmForm(), token=token,
                           choices=RSVP_CHOICES)


@bp.post("/rsvp/<token>/<choice>")
def rsvp_confirm(token: str, choice: str) -> Any:
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("public/link_error.html", title="Your form expired",
                               message="Please open the link from your email again."), 400
    try:
        outcome = record_rsvp_from_link(get_session(), get_services(), token, choice)
    except (InvalidLink, ExpiredLink) as exc:
        return _link_error(exc)
    except (RsvpClosed, InvalidChoice) as exc:
        return render_template("public/link_error.html", title="We could not record your answer",
                               message=str(exc)), 409
    return redirect(url_for("public.rsvp_done", token=token, choice=choice,
                            changed=int(outcome.changed)))


@bp.get("/rsvp/<token>/<choice>/done")
def rsvp_done(token: str, choice: str) -> Any:
    try:
        page = rsvp_page(get_session(), get_services(), token, choice)
    except (InvalidLink, ExpiredLink) as exc:
        return _link_error(exc)
    return render_template("public/rsvp_done.html", page=page, token=token, choices=RSVP_CHOICES)


@bp.get("/privacy")
def privacy() -> Any:
    return render_template("public/privacy.html", contact=get_config().mail.privacy_contact)
