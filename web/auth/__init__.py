"""Organiser log in and log out, and the guards of the panel: logged in, and admins only."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from mailer.domain.errors import AuthenticationFailed
from mailer.domain.models import Organiser, OrganiserRole
from mailer.domain.organisers import authenticate, get_organiser
from web.db import get_session
from web.errors import AdminsOnly

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])


class LoginForm(FlaskForm):
    email = EmailField(
        "Email address", validators=[DataRequired("Enter your email address"), Length(max=320)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password"), Length(max=1024)]
    )


def signed_in_organiser() -> Organiser | None:
    """The organiser whose session this request carries (also kept as ``g.organiser``), or None.

    A session naming no current organiser (deleted, or the database was reset) is forgotten.
    """
    organiser_id = session.get("organiser_id")
    organiser = (
        get_organiser(get_session(), organiser_id) if isinstance(organiser_id, int) else None
    )
    if organiser is None:
        session.pop("organiser_id", None)
    else:
        g.organiser = organiser
    return organiser


def require_login() -> Any:
    """The panel's ``before_request``: without a signed-in organiser, log in, then come back."""
    if signed_in_organiser() is None:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return None


def admin_required(view: F) -> F:
    """Admin-only panel views (data protection requests); the panel has checked the login."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.organiser.role != OrganiserRole.ADMIN:
            raise AdminsOnly()
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
        ):
            return target
    return url_for("panel.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            organiser = authenticate(
                get_session(), email=form.email.data or "", password=form.password.data or ""
            )
        except AuthenticationFailed as exc:
            error = str(exc)
        else:
            session.clear()
            session["organiser_id"] = organiser.id
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    flash("You have logged out.")
    return redirect(url_for("auth.login"))
