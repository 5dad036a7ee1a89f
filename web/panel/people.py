"""Panel (admins only): data protection requests, by email address."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import DataRequired, Length

from mailer.domain.errors import InvalidInput, NotFound
from mailer.domain.privacy import erase_person, export_person
from mailer.rendering import counted
from web.auth import admin_required
from web.db import get_services, get_session
from web.errors import flash_refusal
from web.panel import bp
from web.panel.actions import current_actor

T = TypeVar("T")


class PersonForm(FlaskForm):
    email = EmailField(
        "Email address", validators=[DataRequired("Enter an email address"), Length(max=320)]
    )


def _for_person(action: Callable[[], T]) -> T | None:
    """The action's result; or None, having said why, when the address is malformed or unknown."""
    try:
        return action()
    except (NotFound, InvalidInput) as exc:
        flash_refusal(str(exc))
        return None


@bp.get("/people")
@admin_required
def people() -> Any:
    email = request.args.get("email", "").strip()
    found = _for_person(lambda: export_person(get_session(), email)) if email else None
    return render_template(
        "panel/people.html", email=email, found=found, form=PersonForm(data={"email": email})
    )


@bp.post("/people/export")
@admin_required
def people_export() -> Any:
    form = PersonForm()
    if not form.validate_on_submit():
        return redirect(url_for("panel.people"))
    data = _for_person(lambda: export_person(get_session(), form.email.data))
    if data is None:
        return redirect(url_for("panel.people"))
    return (
        json.dumps(data, indent=2, ensure_ascii=False),
        200,
        {
            "Content-Type": "application/json; charset=utf-8",
            "Cache-Control": "no-store",
            "Content-Disposition": 'attachment; filename="personal-data.json"',
        },
    )


@bp.post("/people/erase")
@admin_required
def people_erase() -> Any:
    form = PersonForm()
    if not form.validate_on_submit() or request.form.get("confirm") != "erase":
        flash_refusal("Tick the box to confirm the erasure.")
        return redirect(url_for("panel.people", email=form.email.data or ""))
    result = _for_person(
        lambda: erase_person(
            get_session(), form.email.data, actor=current_actor(), services=get_services()
        )
    )
    if result is None:
        return redirect(url_for("panel.people"))
    kept = counted(result["rsvps_kept_anonymously"], "answer")
    withdrawn = result["upcoming_answers_withdrawn"]
    flash(
        f"Erased. {kept} kept anonymously for the counts."
        + (
            f" {counted(withdrawn, 'answer')} to meetings still to come withdrawn: any place "
            "they held has gone to the next in line."
            if withdrawn
            else ""
        )
    )
    return redirect(url_for("panel.people"))
