"""What every panel area shares: who is acting, and one-button actions (a form that is only a
CSRF token)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, flash, g, make_response, redirect, render_template
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from mailer.domain.errors import DomainError, NotFound
from mailer.domain.lists import all_lists
from web.db import get_session
from web.errors import flash_refusal

T = TypeVar("T")


class ActionForm(FlaskForm):
    """No fields: the CSRF token is the point."""


def current_actor() -> str:
    """The audit log's name for the organiser making this request."""
    return f"organiser:{g.organiser.id}"


def list_choices() -> list[SelectChoice]:
    """The lists the organiser runs, for a form's choice of list."""
    return [
        SelectChoice(each.slug, each.name) for each in all_lists(get_session(), g.visible_lists)
    ]


def email_html_response(html: str) -> Any:
    """An email's HTML part on its own, for a preview frame: inline styles allowed, scripts
    never."""
    response = make_response(html)
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; "
        "img-src https: data:; frame-ancestors 'self'"
    )
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def csv_download(data: bytes, filename: str) -> Any:
    """A CSV file to save (personal data: never cached)."""
    response = make_response(data)
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def flash_outcome(
    action: Callable[[], T],
    done: Callable[[T], str] | None,
    *,
    refused: str,
    missing_is_refused: bool = False,
) -> bool:
    """Run a domain action and flash what happened: ``done(result)``, or ``"<refused>: <reason>"``
    when a rule refuses it (a ``DomainError``: shown to the organiser, not raised). Returns whether
    it was done.

    A ``NotFound`` is the 404 page (the address names nothing), unless ``missing_is_refused``: then
    it is flashed like any other refusal (something the page offered is gone).
    """
    try:
        result = action()
    except DomainError as exc:
        if isinstance(exc, NotFound) and not missing_is_refused:
            raise
        flash_refusal(f"{refused}: {exc}")
        return False
    if done is not None:
        flash(done(result))
    return True


def run_action(action: Callable[[], Any], success: str | Callable[[Any], str], back: str) -> Any:
    """Check the CSRF token, run a domain action, flash what happened (``{result}`` in
    ``success``, or what ``success`` makes of the result), go back.

    Any refusal, a missing record too, is shown to the organiser on the page it goes back to.
    """
    if not ActionForm().validate_on_submit():
        abort(400)
    flash_outcome(
        action,
        success if callable(success) else lambda result: success.format(result=result),
        refused="Not done",
        missing_is_refused=True,
    )
    return redirect(back)


def confirmation(
    *,
    question: str,
    details: list[str],
    button: str | None,
    action: str,
    back: str,
    warning: bool = False,
    fields: dict[str, str] | None = None,
) -> Any:
    """The page before a send or a destructive action: what will happen, to how many, and the one
    button that does it (a warning button when it cannot be undone). With no ``button`` there is
    nothing to do, and the page only says why."""
    return render_template(
        "panel/confirm.html",
        question=question,
        details=details,
        button=button,
        action=action,
        back=back,
        warning=warning,
        fields=fields or {},
    )
