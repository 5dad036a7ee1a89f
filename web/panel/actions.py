"""What every panel area shares: who is acting, and one-button actions (a form that is only a CSRF token)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, g, make_response, redirect
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from mailer.domain.errors import DomainError, InvalidInput
from mailer.domain.lists import all_lists
from web.db import get_session


class ActionForm(FlaskForm):
    """No fields: the CSRF token is the point."""


def current_actor() -> str:
    """The audit log's name for the organiser making this request."""
    return f"organiser:{g.organiser.id}"


def attach_error(form: FlaskForm, exc: InvalidInput, default: str) -> None:
    """Show a domain refusal next to the field it names (or ``default``), as a form error."""
    field = getattr(form, exc.field or "", None) or getattr(form, default)
    field.errors = [*field.errors, str(exc)]


def list_choices() -> list[SelectChoice]:
    return [SelectChoice(l.slug, l.name) for l in all_lists(get_session())]


def email_html_response(html: str) -> Any:
    """An email's HTML part on its own, for a preview frame: inline styles allowed, scripts never."""
    response = make_response(html)
    response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'unsafe-inline'; "
                                                   "img-src https: data:; frame-ancestors 'self'")
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def csv_download(data: bytes, filename: str) -> Any:
    """A CSV file to save (personal data: never cached)."""
    response = make_response(data)
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def run_action(action: Callable[[], Any], success: str, back: str) -> Any:
    """Check the CSRF token, run a domain action, flash what happened (``{result}`` in ``success``), go back.

    A refused action (a ``DomainError``) is shown to the organiser, not raised.
    """
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        result = action()
    except DomainError as exc:
        flash(f"Not done: {exc}")
    else:
        flash(success.format(result=result))
    return redirect(back)
