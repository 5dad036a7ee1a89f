"""Attendee CSV: opens cleanly in Excel, neutralises formulas; representation by organisation."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from mailer.domain.meetings import attendee_report
from mailer.domain.models import AttendanceMode, Person, RsvpResponse
from mailer.domain.reports import attendees_csv, organisation_of, representation, safe_cell
from mailer.domain.rsvp import record_rsvp
from mailer.domain.services import Services
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting

ORGS = {"dwp.gov.uk": "DWP", "hmrc.gov.uk": "HMRC", "cabinetoffice.gov.uk": "Cabinet Office"}


def test_formulas_are_neutralised() -> None:
    for evil in ('=HYPERLINK("http://x")', "+1", "-1+2", "@SUM(A1)", "\tx"):
        assert safe_cell(evil).startswith("'")
    assert safe_cell("Alex") == "Alex" and safe_cell(None) == ""


def test_organisation_by_domain_or_parent_domain() -> None:
    assert organisation_of("a@dwp.gov.uk", ORGS) == "DWP"
    assert organisation_of("a@digital.dwp.gov.uk", ORGS) == "DWP"
    assert organisation_of("a@example.org", ORGS) == ""


def test_csv_and_representation(database: TestDatabase, services: Services) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    for email, response, mode in (
        ("alex@dwp.gov.uk", RsvpResponse.ATTENDING, AttendanceMode.IN_PERSON),
        ("sam@hmrc.gov.uk", RsvpResponse.DECLINED, None),
        ("kim@example.org", RsvpResponse.ATTENDING, AttendanceMode.REMOTE),
    ):
        with database.sessions() as s:
            record_rsvp(
                s,
                services,
                meeting_id=meeting.id,
                email=email,
                response=response,
                mode=mode,
                source="panel",
            )
    with database.sessions() as s, s.begin():
        s.scalar(
            select(Person).where(Person.email == "kim@example.org")
        ).display_name = "=cmd|' /C calc'!A0"
    with database.sessions() as s:
        report = attendee_report(s, meeting.id)
    data = attendees_csv(report, ORGS)
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))
    assert rows[0][:5] == ["Email", "Name", "Organisation", "Status", "Via"]
    kim = next(r for r in rows if r[0] == "kim@example.org")
    assert kim[1].startswith("'=") and kim[3] == "remote"
    # Each person's status in the one wording of every list of people: never "attending" for
    # someone who is waiting for a place.
    assert next(r for r in rows if r[0] == "sam@hmrc.gov.uk")[3] == "can't attend"
    assert next(r for r in rows if r[0] == "alex@dwp.gov.uk")[2] == "DWP"
    rep = representation(report, ORGS)
    assert rep.registered == {"DWP": 1} and rep.unknown == 1
    assert rep.not_yet == ["Cabinet Office", "HMRC"]
