"""Form fields that take what organisers type in more than one way, and say plainly what is
wrong when they cannot (WTForms' own messages are "Not a valid integer value.")."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from werkzeug.datastructures import MultiDict
from wtforms import DateField, DateTimeLocalField, IntegerField
from wtforms.utils import unset_value
from wtforms.validators import InputRequired, Optional, ValidationError

#: A browser's date-and-time control sends the first; typed by hand (or where the browser has no
#: such control), the others are taken too.
LOCAL_TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%d/%m/%Y, %H:%M"]


#: The boxes of the GOV.UK date input, and the time after them.
DATE_PARTS = ("day", "month", "year", "time")
_TIME = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?\s*m?\.?", re.IGNORECASE)


def time_of_day(text: str) -> str | None:
    """``14:00`` from what people type for a time: 14:00, 14.00, 2pm, 2:30 p.m., 9am, 14, noon,
    midday; None when it is not a time of day."""
    text = " ".join(text.split()).lower()
    if text in ("noon", "midday", "12 noon", "12 midday"):
        return "12:00"
    match = _TIME.fullmatch(text) or re.fullmatch(r"(\d{1,2})(?:[:.](\d{2}))?", text)
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    half = match.group(3).lower() if match.re is _TIME else None
    if half is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "p" else 0)
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02}:{minute:02}"


class _Boxes:
    """What a GOV.UK date input's boxes share: each box is ``NAME-<part>``; a single value under
    ``NAME`` (from a script) is read as before. Each missing or wrong part is named."""

    PARTS: tuple[str, ...] = DATE_PARTS
    #: What was typed in each box, to show again with the error.
    parts: dict[str, str]
    name: str
    label: Any
    data: Any

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        self.parts = {}
        if formdata is not None and self.name not in formdata:
            if any(f"{self.name}-{part}" in formdata for part in self.PARTS):
                self.parts = {
                    part: formdata.get(f"{self.name}-{part}", "").strip() for part in self.PARTS
                }
                typed = "" if not any(self.parts.values()) else "parts"
                formdata = MultiDict({self.name: typed})
        super().process(formdata, data, extra_filters)  # type: ignore[misc]

    def process_formdata(self, valuelist: list[Any]) -> None:
        if self.parts and valuelist == ["parts"]:
            valuelist = [self._from_parts()]
        super().process_formdata(valuelist)  # type: ignore[misc]

    def _from_parts(self) -> str:
        what = self.label.text.split(" (")[0]
        missing = [part for part in self.PARTS if not self.parts[part]]
        if missing:
            named = (
                missing[-1] if len(missing) == 1 else f"{', '.join(missing[:-1])} and {missing[-1]}"
            )
            raise ValueError(f"{what} must include a {named}.")
        day, month, year = self.parts["day"], self.parts["month"], self.parts["year"]
        if not (day.isdigit() and month.isdigit() and year.isdigit()):
            raise ValueError("Enter the day, month and year as numbers, for example 12 3 2027.")
        if len(year) != 4:
            raise ValueError("The year must include 4 numbers, for example 2027.")
        date = f"{int(day):02}/{int(month):02}/{year}"
        if "time" not in self.PARTS:
            return date
        time = time_of_day(self.parts["time"])
        if time is None:
            raise ValueError("Enter the time like 14:00 or 2pm.")
        return f"{date} {time}"

    def shown(self) -> dict[str, str]:
        """What each box shows: what was typed, or the date (and time) the form holds."""
        if self.parts:
            return self.parts
        if isinstance(self.data, date | datetime):
            shown = {
                "day": str(self.data.day),
                "month": str(self.data.month),
                "year": str(self.data.year),
            }
            if isinstance(self.data, datetime):
                shown["time"] = f"{self.data:%H:%M}"
            return shown
        return dict.fromkeys(self.PARTS, "")


class DateAndTimeField(_Boxes, DateTimeLocalField):
    """A date and time as the GOV.UK date input takes it: day, month and year in their own boxes,
    and the time after them as people write it (14:00, 2pm)."""


class DateBoxesField(_Boxes, DateField):
    """A date alone, in the GOV.UK date input's three boxes."""

    PARTS = ("day", "month", "year")


def local_time_field(
    label: str, *, required: str | None = None, description: str = ""
) -> DateAndTimeField:
    """A date and time in UK time (GOV.UK's date input and a time); ``required`` is the message
    when it is left empty."""
    return DateAndTimeField(
        label,
        format=LOCAL_TIME_FORMATS,
        # Not DataRequired: what was typed and could not be read is named as that, not as empty.
        validators=[InputRequired(required)] if required else [Optional()],
        invalid_value_message="Enter a real date and time, for example 12 3 2027 and 14:00.",
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


def local_date_field(label: str, *, description: str = "") -> DateBoxesField:
    """An optional date, in the GOV.UK date input."""
    return DateBoxesField(
        label,
        format=["%Y-%m-%d", "%d/%m/%Y"],
        validators=[Optional()],
        invalid_value_message="Enter a real date, for example 12 3 2027.",
        description=description,
    )
