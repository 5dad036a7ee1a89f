"""Errors in one place: each error a request can end in, and the page it gets.

Views let domain errors rise; they catch only the ones they turn into
something else: a form error next to its field (:func:`refusal_on_form`), or a
refusal flashed to the next panel page (:func:`flash_refusal`, which
``web.panel.actions.flash_outcome`` uses). Every error under the JSON API's
address (:data:`API_PREFIX`), its views' and routing's alike (an address that
matches nothing, a method it does not take), is answered in the API's JSON,
``{"error": "..."}``, instead of a page.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

from flask import Flask, flash, get_flashed_messages, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException, MethodNotAllowed

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
#: Where the JSON API lives (``web.api``'s blueprint): every error under it is answered in JSON.
API_PREFIX = "/api"


class LinkFormExpired(BadRequest):
    """A signed-link page's form came back without a good token for its link (expired, or from
    another link's page): the person opens the link from their email again."""


class AdminsOnly(Forbidden):
    """An organiser who is not an admin asked for an admin-only page."""


class NotYourList(Forbidden):
    """An organiser asked for something of a list they do not run."""


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

    def __call__(self, error: Exception) -> ResponseReturnValue:
        if _for_the_api():
            # A domain error's text says what is wrong with this request ("There is no such
            # meeting."); any other error's is the page's fixed message, never its internals.
            text = str(error) if isinstance(error, DomainError) else self.message or str(error)
            return _api_error(text, self.status, error)
        message = self.message or str(error)
        page = render_template(self.template, title=self.title, message=message)
        return page, self.status, _headers_of(error)


def _for_the_api() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def _headers_of(error: Exception) -> dict[str, str]:
    """What an error's response must carry besides its body: the methods a 405 address takes."""
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        return {"Allow": ", ".join(sorted(error.valid_methods))}
    return {}


def _api_error(text: str, status: int, error: Exception) -> ResponseReturnValue:
    """The API's one error shape (``Error`` in its OpenAPI document)."""
    return jsonify(error=text), status, _headers_of(error)


def other_http_error(error: HTTPException) -> ResponseReturnValue:
    """An HTTP error with no page of its own (413, 415, ...): werkzeug's page, or under the API
    its description in JSON."""
    if _for_the_api() and error.code is not None:
        return _api_error(error.description or error.name, error.code, error)
    return error


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
    NotYourList: ErrorPage(
        "Not one of your lists",
        403,
        "This belongs to a list you do not run. An admin can add you to it.",
    ),
    NotFound: NOT_FOUND,
    # Any other refusal (a list that already exists, say): its text says why.
    DomainError: ErrorPage("There is a problem", 400),
    400: ErrorPage(
        "There is a problem", 400, "The request could not be understood. Go back and try again."
    ),
    404: NOT_FOUND,
    405: ErrorPage("Not allowed", 405, "This page cannot be used that way."),
    500: ErrorPage(
        "Sorry, something went wrong", 500, "The problem has been logged. Please try again later."
    ),
}


def init_app(app: Flask) -> None:
    """Give every error in ``ERROR_PAGES`` its page (its JSON under the API), any other HTTP error
    :func:`other_http_error`, for the whole app; and pages their flashed messages
    (``flashed_messages()`` in templates)."""
    for error, page in ERROR_PAGES.items():
        app.register_error_handler(error, page)
    app.register_error_handler(HTTPException, other_http_error)
    app.jinja_env.globals["flashed_messages"] = flashed_messages
