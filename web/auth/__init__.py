"""Organiser log in and log out, and the ``login_required`` guard for the panel."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from mailer.domain.errors import AuthenticationFailed
from mailer.domain.organisers import authenticate, get_organiser
from web.db import get_session

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])


class LoginForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired("Enter your email address"), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password"), Length(max=1024)])


def login_required(view: F) -> F:
    """Panel and API views: redirect to log in (or 401 for JSON) without a valid session."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        organiser_id = session.get("organiser_id")
        organiser = get_organiser(get_session(), organiser_id) if isinstance(organiser_id, int) else None
        if organiser is None:
            session.pop("organiser_id", None)
            if request.blueprint == "api":
                return jsonify(error="authentication required"), 401
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        g.organiser = organiser
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def admin_required(view: F) -> F:
    """Admin-only views (data protection requests): organisers get a clear 403 page."""

    @functools.wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.organiser.role.value != "admin":
            return render_template("error.html", title="Admins only",
                                   message="Only an admin can do this. Ask an admin of your network."), 403
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("panel.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            organiser = authenticate(get_session(), email=form.email.data or "", password=form.password.data or "")
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
