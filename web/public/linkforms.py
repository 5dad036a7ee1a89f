"""Forms on the pages signed links open: protected without a cookie.

The public pages set no cookie (opening a link from an email leaves nothing
in the browser, and a forwarded link shares nothing), so their forms cannot
use a session-bound CSRF token. Instead the hidden token is signed for the
link the page was shown for (:meth:`LinkSigner.form_token`) and expires. The
link itself is the capability: whoever holds it can answer, which is why the
links carry no personal data and can be revoked.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms.csrf.core import CSRF, CSRFTokenField
from wtforms.validators import ValidationError

from web.db import get_services
from web.errors import LinkFormExpired


class LinkBoundCSRF(CSRF):
    """The form token of one signed link (``meta.csrf_context`` is the link's token)."""

    def setup_form(self, form: Any) -> Any:
        self.link_token = str(form.meta.csrf_context)
        return super().setup_form(form)

    def generate_csrf_token(self, csrf_token_field: CSRFTokenField) -> str:
        return get_services().links.form_token(self.link_token)

    def validate_csrf_token(self, form: Any, field: CSRFTokenField) -> None:
        if not get_services().links.check_form_token(self.link_token, field.data or ""):
            raise ValidationError("The form has expired or was not sent from this page.")


class LinkForm(FlaskForm):
    """Base of the forms on signed-link pages: build it with ``meta={"csrf_context": token}``."""

    class Meta:
        csrf_class = LinkBoundCSRF


def link_form(form_class: type[LinkForm], token: str) -> Any:
    """An instance of ``form_class`` bound to the signed link ``token`` (and to the request's
    data on a POST)."""
    return form_class(meta={"csrf_context": token})


def submitted_link_form(form_class: type[LinkForm], token: str) -> Any:
    """The form POSTed from the page of the signed link ``token``, validated.

    Raises :class:`LinkFormExpired` when its token is not good for this link.
    Other field errors stay on the form, for the view to show next to their fields.
    """
    form = link_form(form_class, token)
    if not form.validate() and "csrf_token" in form.errors:
        raise LinkFormExpired()
    return form
