"""Reports: member and attendee lists as CSV that opens cleanly in Excel, and who is represented."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from mailer.domain.lists import Member
from mailer.domain.meetings import Attendee, AttendeeReport
from mailer.domain.paging import Paging, paging
from mailer.domain.places import STATUS_LABELS, Status

#: A cell starting with one of these is a formula to Excel and LibreOffice (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def organisation_of(email: str, organisations: dict[str, str]) -> str:
    """The organisation an address belongs to, by its domain or a parent domain."""
    domain = email.rpartition("@")[2].lower()
    while domain:
        if domain in organisations:
            return organisations[domain]
        _, _, domain = domain.partition(".")
    return ""


def spreadsheet_csv(header: list[str], rows: Iterable[Iterable[object]]) -> bytes:
    """UTF-8 with a byte-order mark and CRLF line ends, which is what Excel opens without asking;
    every cell is neutralised against formula injection."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def attendees_csv(report: AttendeeReport, organisations: dict[str, str]) -> bytes:
    return spreadsheet_csv(
        [
            "Email",
            "Name",
            "Organisation",
            "Status",
            "Via",
            "Updated (UTC)",
            "Access needs",
        ],
        (
            (
                a.email,
                a.display_name,
                organisation_of(a.email, organisations),
                STATUS_LABELS[a.status],
                a.source,
                a.updated_at.strftime("%Y-%m-%d %H:%M"),
                a.access_needs or "",
            )
            for a in report.attendees
        ),
    )


def members_csv(members: list[Member]) -> bytes:
    """The members of a list as a spreadsheet (Excel-safe), with their bounce history."""
    return spreadsheet_csv(
        [
            "Email",
            "Name",
            "Status",
            "Member since (UTC)",
            "Bounce score",
            "Bounces",
            "Last bounce (UTC)",
            "Last bounce status",
        ],
        (
            (
                m.email,
                m.display_name or "",
                m.status.value,
                m.since.strftime("%Y-%m-%d") if m.since else "",
                m.bounce_score,
                m.bounces,
                m.last_bounce_at.strftime("%Y-%m-%d %H:%M") if m.last_bounce_at else "",
                m.last_bounce_status,
            )
            for m in members
        ),
    )


@dataclass(frozen=True)
class Representation:
    registered: dict[str, int]
    not_yet: list[str]
    unknown: int


def representation(report: AttendeeReport, organisations: dict[str, str]) -> Representation:
    """Registered delegates per organisation, and the mapped organisations with nobody registered
    yet."""
    counts: dict[str, int] = {}
    unknown = 0
    for a in report.attendees:
        if a.response.value != "attending":
            continue
        name = organisation_of(a.email, organisations)
        if name:
            counts[name] = counts.get(name, 0) + 1
        else:
            unknown += 1
    not_yet = sorted(set(organisations.values()) - set(counts))
    return Representation(dict(sorted(counts.items())), not_yet, unknown)


#: Replies shown on one page of a meeting's page.
ATTENDEES_PER_PAGE = 50


@dataclass(frozen=True)
class AttendeePage:
    """The replies to a meeting that match a search, one page of them."""

    attendees: list[Attendee]
    paging: Paging


def find_attendees(
    report: AttendeeReport,
    *,
    search: str = "",
    status: Status | None = None,
    organisations: dict[str, str] | None = None,
    page: int = 1,
    per_page: int = ATTENDEES_PER_PAGE,
) -> AttendeePage:
    """The replies whose address, name or organisation holds ``search`` (any case, spaces
    squeezed) and who stand at ``status``, in the order they last changed; one page of them."""
    term = " ".join(search.split()).lower()
    found = [
        a
        for a in report.attendees
        if (status is None or a.status is status)
        and (
            not term
            or term in a.email.lower()
            or term in (a.display_name or "").lower()
            or term in organisation_of(a.email, organisations or {}).lower()
        )
    ]
    where = paging(len(found), page, per_page)
    return AttendeePage(found[where.offset : where.offset + per_page], where)
