"""Importing members from a CSV file: every row checked first, then the valid ones added in one go."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.domain import audit
from mailer.domain.errors import InvalidInput
from mailer.domain.lists import get_list
from mailer.domain.models import Subscription, SubscriptionStatus
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


def preview_import(data: bytes) -> ImportPreview:
    """Read a CSV with an email column (and optionally a name column); nothing is stored."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("windows-1252", "replace")  # Excel's default on Windows
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise InvalidInput("The file is empty.", field="file")
    header = [h.strip().lower() for h in rows[0]]
    if "email" in header or "email address" in header:
        email_col = header.index("email") if "email" in header else header.index("email address")
        name_col = next((header.index(h) for h in ("name", "full name", "display name") if h in header), None)
        body, first_line = rows[1:], 2
    else:
        email_col, name_col, body, first_line = 0, 1 if len(rows[0]) > 1 else None, rows, 1
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
    #: People who left the list themselves are never put back by an import.
    left_earlier: int


def import_members(session: Session, *, slug: str, rows: list[ImportRow], actor: str) -> ImportResult:
    """Add the rows as active members."""
    added = already = left = 0
    with session.begin():
        mailing_list = get_list(session, slug)
        for row in rows:
            person = get_or_create_person(session, row.email, row.name or None)
            sub = session.scalar(select(Subscription).where(Subscription.person_id == person.id,
                                                            Subscription.list_id == mailing_list.id))
            if sub is not None and sub.status is SubscriptionStatus.ACTIVE:
                already += 1
                continue
            if sub is not None and sub.status is SubscriptionStatus.UNSUBSCRIBED:
                left += 1
                continue
            if sub is None:
                session.add(Subscription(person=person, mailing_list=mailing_list, status=SubscriptionStatus.ACTIVE))
            else:
                sub.status = SubscriptionStatus.ACTIVE
            added += 1
        audit.record(session, actor=actor, action="member.import", target=f"list:{mailing_list.id}",
                     added=added, already=already, left_earlier=left)
    return ImportResult(added, already, left)
