"""Panel, admins only: the organisers. An admin invites an organiser by email (they choose their
own password from a link), chooses the lists each plain organiser runs, and disables or removes
accounts. Every view here is refused to plain organisers by its name (see
``web.auth.require_list_access``)."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from mailer.domain.errors import NotFound
from mailer.domain.models import OrganiserRole
from mailer.domain.organisers import (
    all_organisers,
    invite_organiser,
    organiser_lists,
    remove_organiser,
    send_password_link,
    set_disabled,
    set_organiser_lists,
)
from web.db import get_services, get_session
from web.errors import refusal_on_form
from web.panel import bp
from web.panel.actions import confirmation, current_actor, list_choices, run_action

ROLES = [
    SelectChoice(OrganiserRole.ORGANISER.value, "Organiser: runs the lists chosen below"),
    SelectChoice(
        OrganiserRole.ADMIN.value,
        "Admin: runs every list, and handles organisers, data requests and deliveries",
    ),
]


class InviteForm(FlaskForm):
    email = EmailField(
        "Their email address",
        validators=[DataRequired("Enter their email address"), Length(max=320)],
        description="They log in with it, and the invitation goes to it.",
    )
    name = StringField("Their name (optional)", validators=[Length(max=200)])
    role = RadioField("What they can do", choices=ROLES, default=OrganiserRole.ORGANISER.value)
    lists = SelectMultipleField(
        "Lists they run", description="Only these lists' members, meetings, news and mail."
    )


class ListsForm(FlaskForm):
    lists = SelectMultipleField(
        "Lists they run", description="Only these lists' members, meetings, news and mail."
    )


def _row(organiser_id: int) -> Any:
    row = next((o for o in all_organisers(get_session()) if o.id == organiser_id), None)
    if row is None:
        raise NotFound("There is no such organiser.")
    return row


@bp.get("/organisers")
def organisers() -> Any:
    return render_template("panel/organisers.html", organisers=all_organisers(get_session()))


@bp.route("/organisers/invite", methods=["GET", "POST"])
def organiser_invite() -> Any:
    form = InviteForm()
    form.lists.choices = list_choices()
    if form.validate_on_submit():
        role = OrganiserRole(form.role.data)
        with refusal_on_form(form, "email"):
            organiser = invite_organiser(
                get_session(),
                get_services(),
                email=form.email.data or "",
                name=form.name.data or "",
                role=role,
                list_slugs=[] if role is OrganiserRole.ADMIN else list(form.lists.data or []),
                actor=current_actor(),
            )
            flash(
                f"Invited {organiser.email}. They have been emailed a link to choose their "
                "password; it works for 3 days."
            )
            return redirect(url_for("panel.organisers"))
    return render_template("panel/organiser_invite.html", form=form), 400 if form.errors else 200


@bp.route("/organisers/<int:organiser_id>", methods=["GET", "POST"])
def organiser_detail(organiser_id: int) -> Any:
    """One organiser: the lists they run (a plain organiser), and what can be done to the
    account."""
    row = _row(organiser_id)
    form = ListsForm()
    form.lists.choices = list_choices()
    if not form.is_submitted():
        form.lists.data = organiser_lists(get_session(), organiser_id)
    if form.validate_on_submit():
        with refusal_on_form(form, "lists"):
            set_organiser_lists(
                get_session(), organiser_id, list(form.lists.data or []), actor=current_actor()
            )
            flash(f"Saved the lists {row.email} runs.")
            return redirect(url_for("panel.organiser_detail", organiser_id=organiser_id))
    return render_template(
        "panel/organiser_detail.html",
        organiser=row,
        form=form,
        yourself=organiser_id == g.organiser.id,
    ), 400 if form.errors else 200


@bp.post("/organisers/<int:organiser_id>/password-link")
def organiser_password_link(organiser_id: int) -> Any:
    return run_action(
        lambda: send_password_link(
            get_session(), get_services(), organiser_id, actor=current_actor()
        ),
        "Emailed {result} a link to choose a new password; it works for 3 days.",
        url_for("panel.organiser_detail", organiser_id=organiser_id),
    )


@bp.post("/organisers/<int:organiser_id>/enable")
def organiser_enable(organiser_id: int) -> Any:
    return run_action(
        lambda: set_disabled(get_session(), organiser_id, disabled=False, actor_id=g.organiser.id),
        lambda organiser: f"{organiser.email} can log in again.",
        url_for("panel.organiser_detail", organiser_id=organiser_id),
    )


@bp.get("/organisers/<int:organiser_id>/disable")
def organiser_disable_confirm(organiser_id: int) -> Any:
    row = _row(organiser_id)
    return confirmation(
        question=f"Disable {row.email}?",
        details=[
            "They can no longer log in, and are logged out everywhere at once.",
            "Their account, and what they did, stay: you can enable it again.",
        ],
        button="Disable the account",
        action=url_for("panel.organiser_disable", organiser_id=organiser_id),
        back=url_for("panel.organiser_detail", organiser_id=organiser_id),
        warning=True,
    )


@bp.post("/organisers/<int:organiser_id>/disable")
def organiser_disable(organiser_id: int) -> Any:
    return run_action(
        lambda: set_disabled(get_session(), organiser_id, disabled=True, actor_id=g.organiser.id),
        lambda organiser: f"Disabled {organiser.email}: they are logged out and cannot log in.",
        url_for("panel.organiser_detail", organiser_id=organiser_id),
    )


@bp.get("/organisers/<int:organiser_id>/remove")
def organiser_remove_confirm(organiser_id: int) -> Any:
    row = _row(organiser_id)
    return confirmation(
        question=f"Remove {row.email}?",
        details=[
            "Their account is deleted: they can no longer log in.",
            "The audit log keeps what they did.",
            "This cannot be undone; to let them in again, invite them again.",
        ],
        button="Remove the organiser",
        action=url_for("panel.organiser_remove", organiser_id=organiser_id),
        back=url_for("panel.organiser_detail", organiser_id=organiser_id),
        warning=True,
    )


@bp.post("/organisers/<int:organiser_id>/remove")
def organiser_remove(organiser_id: int) -> Any:
    return run_action(
        lambda: remove_organiser(get_session(), organiser_id, actor_id=g.organiser.id),
        "Removed {result}.",
        url_for("panel.organisers"),
    )
