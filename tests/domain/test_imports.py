"""CSV member import: every row checked first; people who left are never put back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mailer.domain.errors import InvalidInput
from mailer.domain.imports import import_members, preview_import
from mailer.domain.lists import add_member, remove_member
from mailer.domain.models import Person, Subscription, SubscriptionStatus
from tests.support.databases import TestDatabase
from tests.support.factories import make_list

CSV = (
    "Email,Name\r\nana@example.org,Ana\r\nnot-an-email,Bob\r\nANA@example.org,Ana again\r\n,\r\n"
    "left@example.org,Left\r\nben@dwp.gov.uk,Ben\r\n"
).encode("utf-8-sig")


def test_preview_then_import(database: TestDatabase) -> None:
    make_list(database.sessions)
    with database.sessions() as s:
        add_member(s, slug="forum", email="ben@dwp.gov.uk", actor="test")
    with database.sessions() as s:
        add_member(s, slug="forum", email="left@example.org", actor="test")
    with database.sessions() as s:
        remove_member(s, slug="forum", email="left@example.org", actor="test")
    preview = preview_import(CSV)
    assert [r.email for r in preview.valid] == [
        "ana@example.org",
        "left@example.org",
        "ben@dwp.gov.uk",
    ]
    assert [(r.line, r.email) for r in preview.invalid] == [(3, "not-an-email")]
    assert preview.duplicates == 1
    with database.sessions() as s:
        result = import_members(s, slug="forum", rows=preview.valid, actor="test")
    assert (result.added, result.already, result.left_earlier) == (1, 1, 1)
    with database.sessions() as s:
        statuses = dict(
            s.execute(
                select(Person.email, Subscription.status).join(
                    Subscription, Subscription.person_id == Person.id
                )
            ).all()
        )
    assert statuses["ana@example.org"] is SubscriptionStatus.ACTIVE
    assert statuses["left@example.org"] is SubscriptionStatus.REMOVED


def test_headerless_and_excel_encoded_files() -> None:
    preview = preview_import(
        "zoë@example.org;x\r\nsam@example.org,Sam\r\n".encode("windows-1252", "replace")
    )
    assert [r.email for r in preview.valid] == ["sam@example.org"]


def test_large_imports_run_in_chunks_and_forget_the_rows(database: TestDatabase) -> None:
    from mailer.domain.imports import import_progress, run_import_step, start_import
    from mailer.domain.models import ImportJob, ImportStatus

    make_list(database.sessions)
    with database.sessions() as s:
        add_member(s, slug="forum", email="member3@example.org", actor="test")
    with database.sessions() as s:
        remove_member(s, slug="forum", email="member3@example.org", actor="test")
    with database.sessions() as s:
        add_member(s, slug="forum", email="member4@example.org", actor="test")
    csv = ("email\r\n" + "".join(f"member{i}@example.org\r\n" for i in range(1234))).encode()
    with database.sessions() as s:
        job = start_import(s, slug="forum", rows=preview_import(csv).valid, actor="test")
    steps = []
    with database.sessions() as s:
        while (step := run_import_step(s, chunk=500)) is not None:
            steps.append(step.done)
    assert steps == [500, 1000, 1234]
    with database.sessions() as s:
        done = import_progress(s, job.id)
        assert (done.status, done.added, done.already, done.left_earlier) == (
            ImportStatus.DONE,
            1232,
            1,
            1,
        )
    with database.sessions() as s:
        assert s.get(ImportJob, job.id).rows == []  # the addresses are not kept twice
        assert (
            len(
                s.scalars(
                    select(Subscription).where(Subscription.status == SubscriptionStatus.ACTIVE)
                ).all()
            )
            == 1233
        )


@pytest.mark.parametrize(
    "data",
    [
        b"Email,Name\r\nana@dept.gov.uk,Ana\r\nben@dept.gov.uk,Ben\r\n",
        b"Email,Name\rana@dept.gov.uk,Ana\rben@dept.gov.uk,Ben\r",  # Excel "CSV (Macintosh)"
        "Email,Name\r\nana@dept.gov.uk,Ana\r\nben@dept.gov.uk,Ben\r\n".encode("utf-16"),
        b"Email;Name\r\nana@dept.gov.uk;Ana\r\nben@dept.gov.uk;Ben\r\n",  # a comma decimal mark
        b"Email\tName\nana@dept.gov.uk\tAna\nben@dept.gov.uk\tBen\n",
        b"Name,Work email\r\nAna,ana@dept.gov.uk\r\nBen,ben@dept.gov.uk\r\n",  # no "Email" heading
    ],
)
def test_files_as_spreadsheets_save_them_are_read(data: bytes) -> None:
    preview = preview_import(data)
    assert [(r.email, r.name) for r in preview.valid] == [
        ("ana@dept.gov.uk", "Ana"),
        ("ben@dept.gov.uk", "Ben"),
    ]
    assert preview.invalid == []


def test_a_file_without_addresses_says_so() -> None:
    with pytest.raises(InvalidInput, match="no column of email addresses"):
        preview_import(b"Name,Team\r\nAna,Policy\r\nBen,Digital\r\n")
