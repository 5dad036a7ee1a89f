"""Errors in one place: each error a request can end in, and the page it gets.

Views let domain errors rise; they catch only the ones they turn into
something else: a form error next to its field (:func:`refusal_on_form`), or a
refusal flashed to the next panel page (:func:`flash_refusal`, which
``web.panel.actions.flash_outcome`` uses). The JSON API answers its own errors
in JSON (its blueprint's handlers win over these for its views: see
``web.api``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

from flask import Flask, flash, get_flashed_messages, render_template
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, Forbidden

from mailer.domain.consultations import ConsultationClosed
from mailer.domain.errors import (
    DomainError,
    ExpiredLink,
    InvalidChoice,
    InvalidInput,
    InvalidLink,
    NotFound,
    RsvpClosed,
)

LINK_PAGE = "public/link_error.html"


class LinkFormExpired(BadRequest):
    """A signed-link page's form came back without a good token for its link (expired, or from
    another link's page): the person opens the link from their email again."""


class AdminsOnly(Forbidden):
    """An organiser who is not an admin asked for an admin-only page."""


@contextmanager
def refusal_on_form(
    form: FlaskForm, default: str, refusals: tuple[type[DomainError], ...] = (InvalidInput,)
) -> Iterator[None]:
    """Inside the block, a domain refusal (``InvalidInput`` unless ``refusals`` says otherwise)
    becomes a form error: next to the field it names (``InvalidInput.field``), or else next to
    ``default``, listed by the page's error summary. It goes no further; after the block the view
    shows the form again, with its errors.
    """
    try:
        yield
    except refusals as exc:
        named = getattr(exc, "field", None)
        field = form[named] if named and named in form else form[default]
        field.errors = [*field.errors, str(exc)]


#: The flash category of a refusal: a request the panel did not carry out, and why.
REFUSED = "error"


def flash_refusal(message: str) -> None:
    """Tell the organiser, on the page they see next, that their request was refused and why:
    it is listed in a GOV.UK error summary. Any other flashed message says what was done and is
    shown in a success banner (see :func:`flashed_messages`)."""
    flash(message, REFUSED)


def flashed_messages() -> tuple[list[str], list[str]]:
    """The messages flashed for this page: (what was done, what was refused). ``base.html``
    shows the first in a GOV.UK success notification banner, the second in an error summary."""
    flashed = cast(list[tuple[str, str]], get_flashed_messages(with_categories=True))
    return (
        [message for category, message in flashed if category != REFUSED],
        [message for category, message in flashed if category == REFUSED],
    )


@dataclass(frozen=True)
class ErrorPage:
    """The page one kind of error gets. Without a fixed ``message`` the page shows the error's own
    text: domain errors' text is written to be shown to the person."""

    title: str
    status: int
    message: str | None = None
    template: str = "error.html"

    def __call__(self, error: Exception) -> tuple[str, int]:
        message = self.message or str(error)
        return render_template(self.template, title=self.title, message=message), self.status


NOT_FOUND = ErrorPage("Page not found", 404, "There is nothing at this address.")
ANSWER_REFUSED = ErrorPage("We could not record your answer", 409, template=LINK_PAGE)

#: An HTTP status (werkzeug's own errors, and any exception that is not handled: 500) or an
#: exception class, and its page. A subclass without a page of its own gets its parent's.
ERROR_PAGES: dict[int | type[Exception], ErrorPage] = {
    CSRFError: ErrorPage(
        "Your form expired",
        400,
        "The form was missing its security token or it had expired. "
        "Go back, reload the page and try again.",
    ),
    LinkFormExpired: ErrorPage(
        "Your form expired", 400, "Please open the link from your email again.", LINK_PAGE
    ),
    InvalidLink: ErrorPage("This link is not valid", 400, template=LINK_PAGE),
    ExpiredLink: ErrorPage("This link has expired", 400, template=LINK_PAGE),
    RsvpClosed: ANSWER_REFUSED,
    InvalidChoice: ANSWER_REFUSED,
    ConsultationClosed: ErrorPage("This call for volunteers has closed", 409, template=LINK_PAGE),
    InvalidInput: ErrorPage("There is a problem", 400),
    AdminsOnly: ErrorPage(
        "Admins only", 403, "Only an admin can do this. Ask an admin of your network."
    ),
    NotFound: NOT_FOUND,
    # Any other refusal (a list that already exists, say): its text says why.
    DomainError: ErrorPage("There is a problem", 400),
    404: NOT_FOUND,
    405: ErrorPage("Not allowed", 405, "This page cannot be used that way."),
    500: ErrorPage(
        "Sorry, something went wrong", 500, "The problem has been logged. Please try again later."
    ),
}


def init_app(app: Flask) -> None:
    """Give every error in ``ERROR_PAGES`` its page, for the whole app, and pages their flashed
    messages (``flashed_messages()`` in templates)."""
    for error, page in ERROR_PAGES.items():
        app.register_error_handler(error, page)
    app.jinja_env.globals["flashed_messages"] = flashed_messages
