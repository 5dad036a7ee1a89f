"""Form fields that take what organisers type in more than one way, and say plainly what is
wrong when they cannot (WTForms' own messages are "Not a valid integer value.")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wtforms import DateTimeLocalField, IntegerField
from wtforms.validators import InputRequired, Optional, ValidationError

#: A browser's date-and-time control sends the first; typed by hand (or where the browser has no
#: such control), the others are taken too.
LOCAL_TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%d/%m/%Y, %H:%M"]


def local_time_field(
    label: str, *, required: str | None = None, description: str = ""
) -> DateTimeLocalField:
    """A date and time in UK time; ``required`` is the message when it is left empty."""
    return DateTimeLocalField(
        label,
        format=LOCAL_TIME_FORMATS,
        # Not DataRequired: what was typed and could not be read is named as that, not as empty.
        validators=[InputRequired(required)] if required else [Optional()],
        invalid_value_message="Enter a real date and time, for example 12/03/2027 14:00.",
        description=description,
    )


def count_field(label: str, *, largest: int, what: str, example: int) -> IntegerField:
    """An optional whole number from 0 to ``largest`` (``what`` names it in messages)."""
    return IntegerField(
        label,
        validators=[
            Optional(),
            _between_0_and(largest, f"The {what} must be between 0 and {largest:,}."),
        ],
        invalid_value_message=f"Enter the {what} as a whole number, for example {example}.",
    )


def _between_0_and(largest: int, message: str) -> Callable[[Any, Any], None]:
    """A range check that stays quiet when the number could not be read (that message says it)."""

    def check(_form: Any, field: Any) -> None:
        if field.data is not None and not 0 <= field.data <= largest:
            raise ValidationError(message)

    return check
