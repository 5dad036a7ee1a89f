"""The panel's date-and-time field: GOV.UK's date input with a time, read as people type it, and
every missing or wrong part named."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from web.panel.fields import local_time_field, time_of_day


@pytest.mark.parametrize(
    "typed, read",
    [
        ("14:00", "14:00"),
        ("14.30", "14:30"),
        ("2pm", "14:00"),
        ("2 PM", "14:00"),
        ("2:30 p.m.", "14:30"),
        ("9am", "09:00"),
        ("12am", "00:00"),
        ("12pm", "12:00"),
        ("noon", "12:00"),
        ("Midday", "12:00"),
        ("9", "09:00"),
        ("0:05", "00:05"),
    ],
)
def test_a_time_is_read_as_people_write_it(typed: str, read: str) -> None:
    assert time_of_day(typed) == read


@pytest.mark.parametrize("typed", ["teatime", "25:00", "13pm", "14:60", "", "1400h", "0am"])
def test_what_is_not_a_time_is_refused(typed: str) -> None:
    assert time_of_day(typed) is None


class StartForm(FlaskForm):
    class Meta:
        csrf = False

    starts_at = local_time_field("Starts (UK time)", required="Enter when it starts")


def read(data: dict[str, str]) -> StartForm:
    app = Flask(__name__)
    with app.test_request_context():
        form = StartForm(formdata=MultiDict(data))
        form.validate()
        return form


def test_the_boxes_make_one_time_and_what_is_missing_is_named() -> None:
    boxes = {
        "starts_at-day": "5",
        "starts_at-month": "3",
        "starts_at-year": "2027",
        "starts_at-time": "2pm",
    }
    assert read(boxes).starts_at.data == datetime(2027, 3, 5, 14, 0)
    assert read({**boxes, "starts_at-month": ""}).errors == {
        "starts_at": ["Starts must include a month."]
    }
    both = read({**boxes, "starts_at-day": "", "starts_at-time": ""}).errors
    assert both == {"starts_at": ["Starts must include a day and time."]}
    empty = read(dict.fromkeys(boxes, "")).errors
    assert empty == {"starts_at": ["Enter when it starts"]}
    assert read({**boxes, "starts_at-day": "30", "starts_at-month": "2"}).errors == {
        "starts_at": ["Enter a real date and time, for example 12 3 2027 and 14:00."]
    }
    shown = read({**boxes, "starts_at-time": "teatime"}).starts_at.shown()
    assert shown["time"] == "teatime" and shown["day"] == "5"  # shown again as typed


def test_one_value_from_a_script_is_read_as_before() -> None:
    assert read({"starts_at": "2027-03-05 14:00"}).starts_at.data == datetime(2027, 3, 5, 14, 0)
    assert read({"starts_at": "05/03/2027 14:00"}).starts_at.data == datetime(2027, 3, 5, 14, 0)


def test_a_date_alone_takes_three_boxes() -> None:
    from datetime import date

    from web.panel.fields import local_date_field

    class ClosingForm(FlaskForm):
        class Meta:
            csrf = False

        closes_at = local_date_field("Closing date (optional)")

    app = Flask(__name__)
    with app.test_request_context():
        boxes = {"closes_at-day": "1", "closes_at-month": "3", "closes_at-year": "2099"}
        form = ClosingForm(formdata=MultiDict(boxes))
        assert form.validate() and form.closes_at.data == date(2099, 3, 1)
        form = ClosingForm(formdata=MultiDict({**boxes, "closes_at-year": ""}))
        assert not form.validate()
        assert form.errors == {"closes_at": ["Closing date must include a year."]}
        form = ClosingForm(formdata=MultiDict(dict.fromkeys(boxes, "")))
        assert form.validate() and form.closes_at.data is None  # optional
