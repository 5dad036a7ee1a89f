"""The name a person is greeted by."""

from __future__ import annotations

import pytest

from mailer.domain.models import first_name_of


@pytest.mark.parametrize(
    ("display_name", "greeted"),
    [
        ("Jo Smith", "Jo"),
        ("Smith, Jo", "Jo"),  # Outlook's "Surname, Forename"
        ("SMITH, Jo (DfE)", "Jo"),
        ('"Okafor, Dr Amara"', "Amara"),
        ("Dr Amara Okafor", "Amara"),
        ("Smith,", "Smith"),
        ("(Cabinet Office) Sam", "Sam"),
        ("Prof", "Prof"),
        ("", None),
        (None, None),
    ],
)
def test_a_person_is_greeted_by_their_forename(display_name: str | None, greeted: str) -> None:
    assert first_name_of(display_name) == greeted
