"""Panel: logging in with a code from an authenticator app as well as the password. An organiser
sets it up, moves it to a new phone or turns it off under *Your account*; an admin turns it off
for someone whose phone is lost (see :mod:`mailer.domain.second_step`)."""

from __future__ import annotations

import secrets
from typing import Any

import segno
from flask import flash, g, redirect, render_template, session, url_for
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from mailer.domain import second_step
from mailer.domain.organisers import get_organiser
from web.auth import start_session
from web.db import get_config, get_services, get_session
from web.errors import refusal_on_form
from web.panel import bp
from web.panel.actions import confirmation, run_action

#: Where a code is typed: numbers on a phone's keyboard, and filled in by a password manager.
CODE_ATTRS = {
    "autocomplete": "one-time-code",
    "inputmode": "numeric",
    "spellcheck": "false",
    "class": "govuk-input--width-10 govuk-input--extra-letter-spacing",
}


class CodeForm(FlaskForm):
    code = StringField(
        "The 6-digit code your app shows",
        validators=[DataRequired("Enter the 6-digit code your app shows"), Length(max=20)],
    )


class SetupForm(CodeForm):
    """Setting up an app; moving to a new one asks for a code from the one in use now too."""

    current_code = StringField(
        "The 6-digit code the app you use now shows",
        validators=[Length(max=20)],
        description="Lost it? Ask an admin to turn your code off, then set up the new app.",
    )


def _restart_session() -> None:
    """Turning the code on or off ends every session of the organiser; this one carries on."""
    organiser = get_organiser(get_session(), g.organiser.id)
    assert organiser is not None
    start_session(organiser)


@bp.route("/account/second-step", methods=["GET", "POST"])
def second_step_setup() -> Any:
    """Set up an authenticator app (or a new one): scan the QR code or type the key, then give
    a code to show the app has it."""
    nonce = session.get("totp_setup")
    if not isinstance(nonce, str):
        nonce = session["totp_setup"] = secrets.token_urlsafe(16)
    secret = second_step.setup_secret(get_services(), g.organiser.id, nonce)
    form = SetupForm()
    if form.validate_on_submit():
        with refusal_on_form(form, "code"):
            second_step.turn_on(
                get_session(),
                get_services(),
                g.organiser.id,
                secret=secret,
                code=form.code.data or "",
                current_code=form.current_code.data or "",
                now=get_services().clock(),
            )
            _restart_session()
            flash(
                "Logging in now asks for your password and a code from your app. You are "
                "logged out everywhere else."
            )
            return redirect(url_for("panel.account"))
    link = second_step.setup_link(
        secret, account=g.organiser.email, issuer=get_config().service.name
    )
    return render_template(
        "panel/second_step_setup.html",
        form=form,
        code_attrs=CODE_ATTRS,
        key=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        qr_code=Markup(segno.make(link, error="m").svg_inline(scale=4, dark="#0b0c0c")),
        replacing=bool(g.organiser.totp_secret),
        required=second_step.required_for(get_config(), g.organiser),
    ), 400 if form.errors else 200


@bp.route("/account/second-step/off", methods=["GET", "POST"])
def second_step_off() -> Any:
    """Turn the code off (with a current code), where the network does not require it."""
    form = CodeForm()
    if form.validate_on_submit():
        with refusal_on_form(form, "code"):
            second_step.turn_off(
                get_session(),
                get_services(),
                g.organiser.id,
                actor_id=g.organiser.id,
                code=form.code.data or "",
                now=get_services().clock(),
            )
            _restart_session()
            flash("Logging in now asks only for your password. You are logged out everywhere else.")
            return redirect(url_for("panel.account"))
    return render_template(
        "panel/second_step_off.html",
        form=form,
        code_attrs=CODE_ATTRS,
        required=second_step.required_for(get_config(), g.organiser),
    ), 400 if form.errors else 200


@bp.get("/organisers/<int:organiser_id>/second-step-off")
def organiser_second_step_off_confirm(organiser_id: int) -> Any:
    organiser = get_organiser(get_session(), organiser_id)
    if organiser is None or not organiser.totp_secret:
        flash("Logging in does not ask them for a code.")
        return redirect(url_for("panel.organiser_detail", organiser_id=organiser_id))
    return confirmation(
        question=f"Turn off the code for {organiser.email}?",
        details=[
            "Do this only when they have lost their phone or app, and you know it is them "
            "asking (speak to them).",
            "They are logged out everywhere, and log in with their password alone"
            + (
                ", then set up a new app before anything else."
                if second_step.required_for(get_config(), organiser)
                else "; they can set up a new app under Your account."
            ),
        ],
        button="Turn off their code",
        action=url_for("panel.organiser_second_step_off", organiser_id=organiser_id),
        back=url_for("panel.organiser_detail", organiser_id=organiser_id),
        warning=True,
    )


@bp.post("/organisers/<int:organiser_id>/second-step-off")
def organiser_second_step_off(organiser_id: int) -> Any:
    return run_action(
        lambda: second_step.turn_off(
            get_session(),
            get_services(),
            organiser_id,
            actor_id=g.organiser.id,
            now=get_services().clock(),
        ),
        lambda organiser: f"Logging in no longer asks {organiser.email} for a code.",
        url_for("panel.organiser_detail", organiser_id=organiser_id),
    )
