"""Importing members from a CSV file: every row checked first, then the valid ones added, at once
for a small file, or by the worker in chunks, with progress to watch, for a large one."""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, defer, joinedload

from mailer.db import read_transaction, transaction
from mailer.domain import audit
from mailer.domain.errors import InvalidInput, NotFound
from mailer.domain.lists import get_list
from mailer.domain.models import (
    ImportJob,
    ImportStatus,
    MailingList,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from mailer.domain.people import get_or_create_person, normalise_email

MAX_ROWS = 20000


@dataclass(frozen=True)
class ImportRow:
    line: int
    email: str
    name: str
    error: str = ""


@dataclass(frozen=True)
class ImportPreview:
    valid: list[ImportRow]
    invalid: list[ImportRow]
    duplicates: int


_EMAIL_HEADERS = ("email", "email address", "e-mail", "e-mail address", "mail")
_NAME_HEADERS = ("name", "full name", "display name")


def _decoded(data: bytes) -> str:
    """A spreadsheet's bytes as text: UTF-16 or UTF-8 by their byte-order mark, UTF-8, else the
    Windows code page Excel writes by default."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("windows-1252", "replace")


def read_spreadsheet(data: bytes) -> list[list[str]]:
    """The rows of a CSV file as spreadsheets save it: any line endings (Excel's "CSV
    (Macintosh)" ends lines with CR alone), commas, semicolons (Excel where the decimal mark is a
    comma) or tabs. Raises InvalidInput for what cannot be read as rows."""
    text = _decoded(data)
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        # newline=None: CR, LF and CRLF all end a line (universal newlines)
        return list(csv.reader(io.StringIO(text, newline=None), dialect))
    except csv.Error as exc:
        raise InvalidInput(f"The file could not be read as CSV: {exc}.", field="file") from None


def _email_column(rows: list[list[str]]) -> int | None:
    """The column most of the first rows have an address in."""
    counts: dict[int, int] = {}
    for row in rows[:50]:
        for index, cell in enumerate(row):
            if "@" in cell:
                counts[index] = counts.get(index, 0) + 1
    return max(counts, key=lambda i: counts[i]) if counts else None


def preview_import(data: bytes) -> ImportPreview:
    """Read a CSV with an email column (and optionally a name column); nothing is stored.

    The columns are found by their headings ("Email", "Name") when the first row has them;
    otherwise the email column is the one with addresses in it, and there is no heading row.
    """
    rows = read_spreadsheet(data)
    if not rows:
        raise InvalidInput("The file is empty.", field="file")
    header = [h.strip().lower() for h in rows[0]]
    email_heading = next((h for h in _EMAIL_HEADERS if h in header), None)
    if email_heading is not None:
        email_col = header.index(email_heading)
        name_col = next((header.index(h) for h in _NAME_HEADERS if h in header), None)
        body, first_line = rows[1:], 2
    else:
        found = _email_column(rows)
        if found is None:
            raise InvalidInput(
                'The file has no column of email addresses. Put them in a column headed "Email".',
                field="file",
            )
        email_col = found
        has_heading = "@" not in "".join(rows[0])
        body, first_line = (rows[1:], 2) if has_heading else (rows, 1)
        name_col = next((i for i in range(len(rows[0])) if i != email_col), None)
        if has_heading:
            name_col = next((header.index(h) for h in _NAME_HEADERS if h in header), name_col)
    if len(body) > MAX_ROWS:
        raise InvalidInput(f"Import at most {MAX_ROWS:,} rows at a time.", field="file")
    valid: list[ImportRow] = []
    invalid: list[ImportRow] = []
    seen: set[str] = set()
    duplicates = 0
    for number, row in enumerate(body, start=first_line):
        if not any(cell.strip() for cell in row):
            continue
        raw = row[email_col].strip() if email_col < len(row) else ""
        name = row[name_col].strip()[:200] if name_col is not None and name_col < len(row) else ""
        try:
            email = normalise_email(raw)
        except InvalidInput as exc:
            invalid.append(ImportRow(number, raw, name, str(exc)))
            continue
        if email in seen:
            duplicates += 1
            continue
        seen.add(email)
        valid.append(ImportRow(number, email, name))
    return ImportPreview(valid, invalid, duplicates)


@dataclass(frozen=True)
class ImportResult:
    added: int
    already: int
    #: People who left the list themselves, or were removed, are never put back by an import.
    left_earlier: int


def _add_rows(
    session: Session, mailing_list: MailingList, rows: list[tuple[str, str]]
) -> tuple[int, int, int]:
    """Within the caller's transaction: (added, already members, left earlier) for these rows."""
    added = already = left = 0
    for email, name in rows:
        person = get_or_create_person(session, email, name or None)
        sub = session.scalar(
            select(Subscription).where(
                Subscription.person_id == person.id, Subscription.list_id == mailing_list.id
            )
        )
        if sub is not None and sub.status is SubscriptionStatus.ACTIVE:
            already += 1
            continue
        if sub is not None and sub.status in (
            SubscriptionStatus.UNSUBSCRIBED,
            SubscriptionStatus.REMOVED,
        ):  # an old spreadsheet never undoes a choice to leave, or an organiser's removal
            left += 1
            continue
        if sub is None:
            session.add(
                Subscription(
                    person=person, mailing_list=mailing_list, status=SubscriptionStatus.ACTIVE
                )
            )
        else:
            sub.status = SubscriptionStatus.ACTIVE
        added += 1
    return added, already, left


def import_members(
    session: Session, *, slug: str, rows: list[ImportRow], actor: str
) -> ImportResult:
    """Add the rows as active members, now, in one transaction (for files of up to
    ``INLINE_ROWS``)."""
    with transaction(session):
        mailing_list = get_list(session, slug)
        added, already, left = _add_rows(session, mailing_list, [(r.email, r.name) for r in rows])
        audit.record(
            session,
            actor=actor,
            action="member.import",
            target=f"list:{mailing_list.id}",
            added=added,
            already=already,
            left_earlier=left,
        )
    return ImportResult(added, already, left)


#: Larger files are imported by the worker, in chunks, with progress shown to the organiser.
INLINE_ROWS = 1000
CHUNK_ROWS = 500


def start_import(session: Session, *, slug: str, rows: list[ImportRow], actor: str) -> ImportJob:
    """Queue a large import for the worker; returns the job whose progress the panel shows."""
    with transaction(session):
        mailing_list = get_list(session, slug)
        job = ImportJob(
            list_id=mailing_list.id,
            actor=actor,
            rows=[[r.email, r.name] for r in rows],
            total=len(rows),
            done=0,
            added=0,
            already=0,
            left_earlier=0,
            status=ImportStatus.QUEUED,
        )
        session.add(job)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="member.import.start",
            target=f"list:{mailing_list.id}",
            rows=len(rows),
            job=job.id,
        )
        return job


def run_import_step(session: Session, *, chunk: int = CHUNK_ROWS) -> ImportJob | None:
    """Import the next chunk of the oldest unfinished job, in one transaction; None when there is
    none.

    The job row is locked for the step (SKIP LOCKED on PostgreSQL), so several
    workers never import the same rows; a crash mid-step loses nothing, since
    the step's rows and its progress commit together.
    """
    with transaction(session):
        job = session.scalar(
            select(ImportJob)
            .where(ImportJob.status == ImportStatus.QUEUED)
            .order_by(ImportJob.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if job is None:
            return None
        rows = [(email, name) for email, name in job.rows[job.done : job.done + chunk]]
        added, already, left = _add_rows(session, job.mailing_list, rows)
        job.done += len(rows)
        job.added, job.already, job.left_earlier = (
            job.added + added,
            job.already + already,
            job.left_earlier + left,
        )
        if job.done >= job.total:
            job.status = ImportStatus.DONE
            job.finished_at = utcnow()
            job.rows = []  # the addresses now live only where they belong
            audit.record(
                session,
                actor=job.actor,
                action="member.import",
                target=f"list:{job.list_id}",
                added=job.added,
                already=job.already,
                left_earlier=job.left_earlier,
                job=job.id,
            )
        return job


def import_progress(session: Session, job_id: int) -> ImportJob:
    with read_transaction(session):
        job = session.scalar(
            select(ImportJob)
            .options(defer(ImportJob.rows), joinedload(ImportJob.mailing_list))
            .where(ImportJob.id == job_id)
        )
        if job is None:
            raise NotFound("There is no such import.")
        return job
