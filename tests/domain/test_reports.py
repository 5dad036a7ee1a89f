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


def test_replies_are_found_by_name_address_or_organisation_and_by_answer_a_page_at_a_time() -> None:
    from datetime import UTC, datetime

    from mailer.domain.meetings import Attendee, AttendeeReport
    from mailer.domain.models import Meeting
    from mailer.domain.places import Status
    from mailer.domain.reports import find_attendees

    at = datetime(2026, 3, 1, tzinfo=UTC)
    attending, declined = RsvpResponse.ATTENDING, RsvpResponse.DECLINED
    people = [
        Attendee("jo.smith@hmrc.gov.uk", "Jo Smith", attending, AttendanceMode.IN_PERSON, "e", at),
        Attendee("pat@dwp.gov.uk", None, attending, AttendanceMode.IN_PERSON, "e", at, at),
        Attendee("sam@dwp.gov.uk", "Sam", declined, None, "e", at),
    ] + [
        Attendee(f"m{n:02}@cabinetoffice.gov.uk", None, attending, AttendanceMode.REMOTE, "e", at)
        for n in range(12)
    ]
    report = AttendeeReport(Meeting(title="Forum"), people)
    organisations = {"hmrc.gov.uk": "HM Revenue & Customs", "dwp.gov.uk": "DWP"}

    def emails(**kwargs) -> list[str]:  # type: ignore[no-untyped-def]
        found = find_attendees(report, organisations=organisations, **kwargs)
        return [a.email for a in found.attendees]

    assert emails(search="  jo   SMITH ") == ["jo.smith@hmrc.gov.uk"]
    assert emails(search="revenue") == ["jo.smith@hmrc.gov.uk"]  # by organisation name
    assert emails(search="dwp", status=Status.WAITING_LIST) == ["pat@dwp.gov.uk"]
    assert emails(status=Status.DECLINED) == ["sam@dwp.gov.uk"]
    assert emails(search="nobody") == []
    second = find_attendees(report, page=2, per_page=10)
    assert (second.paging.page, second.paging.pages, second.paging.first) == (2, 2, 11)
    assert len(second.attendees) == 5
    assert find_attendees(report, page=99, per_page=10).paging.page == 2  # the last page
