"""Markup written out by hand for speed stays identical to the GOV.UK Design System macros it
replaces.

The busiest pages (opened from emails) render the skip link, the service
name and the access-needs textarea without the govuk-frontend-jinja macros;
these tests render both and compare them, so an upgrade of the components
that changes their markup fails here instead of drifting unnoticed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask, g, render_template, render_template_string

from tests.conftest import make_test_config
from web import create_app
from web.public import RsvpForm


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return create_app(make_test_config(tmp_path, f"sqlite:///{tmp_path / 'unused.db'}"))


def _normalised(html: str) -> str:
    """The same markup whatever its layout: whitespace runs collapsed, none between tags or
    before ``>``."""
    html = re.sub(r"\s+", " ", html)
    return re.sub(r"\s*>\s*", ">", re.sub(r"\s*<", "<", html)).strip()


def test_public_header_is_the_skip_link_and_service_navigation_macros(app: Flask) -> None:
    with app.test_request_context("/privacy"):
        g.organiser = None
        page = render_template("public/privacy.html")
        expected = render_template_string(
            '{% from "govuk_frontend_jinja/components/skip-link/macro.html" import govukSkipLink %}'
            '{% from "govuk_frontend_jinja/components/service-navigation/macro.html" import '
            "govukServiceNavigation %}"
            '{{ govukSkipLink({"href": "#main-content", "text": "Skip to main content"}) }}'
            '{{ govukServiceNavigation({"serviceName": service_name, "navigation": []}) }}'
        )
    header = page[
        page.index('<a href="#main-content"') : page.index("</section>") + len("</section>")
    ]
    assert _normalised(header) == _normalised(expected)


@pytest.mark.parametrize("error", [None, "Please keep it to 1,000 characters."])
def test_textarea_is_the_govuk_textarea_macro(app: Flask, error: str | None) -> None:
    with app.test_request_context("/"):
        form = RsvpForm(meta={"csrf": False}, data={"access_needs": "Step-free <access>"})
        field = form.access_needs
        if error:
            field.errors = [error]
        ours = render_template_string(
            '{% with attrs = {"rows": 3} %}{% include "panel/_field.html" %}{% endwith %}',
            field=field,
        )
        expected = render_template_string(
            '{% from "govuk_frontend_jinja/components/textarea/macro.html" import govukTextarea %}'
            '{{ govukTextarea({"id": field.id, "name": field.name, "rows": 3, "value": '
            "field._value(),"
            ' "label": {"text": field.label.text, "classes": "govuk-label--s"},'
            ' "hint": {"text": field.description}, "errorMessage": {"text": error} if error else '
            "None}) }}",
            field=field,
            error=error,
        )
    assert _normalised(ours) == _normalised(expected)
