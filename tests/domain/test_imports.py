"""CSV member import: every row checked first; people who left are never put back."""

from __future__ import annotations

from sqlalchemy import select

from mailer.domain.imports import import_members, preview_import
from mailer.domain.lists import add_member, remove_member
from mailer.domain.models import Person, Subscription, SubscriptionStatus
from tests.support.databases import TestDatabase
from tests.support.factories import make_list

CSV = ("Email,Name\r\nana@example.org,Ana\r\nnot-an-email,Bob\r\nANA@example.org,Ana again\r\n,\r\n"
       "left@example.org,Left\r\nben@dwp.gov.uk,Ben\r\n").encode("utf-8-sig")


def test_preview_then_import(database: TestDatabase) -> None:
    make_list(database.sessions)
    with database.sessions() as s:
        add_member(s, slug="forum", email="ben@dwp.gov.uk", actor="test")
    with database.sessions() as s:
        add_member(s, slug="forum", email="left@example.org", actor="test")
    with database.sessions() as s:
        remove_member(s, slug="forum", email="left@example.org", actor="test")
    preview = preview_import(CSV)
    assert [r.email for r in preview.valid] == ["ana@example.org", "left@example.org", "ben@dwp.gov.uk"]
    assert [(r.line, r.email) for r in preview.invalid] == [(3, "not-an-email")]
    assert preview.duplicates == 1
    with database.sessions() as s:
        result = import_members(s, slug="forum", rows=preview.valid, actor="test")
    assert (result.added, result.already, result.left_earlier) == (1, 1, 1)
    with database.sessions() as s:
        statuses = dict(s.execute(select(Person.email, Subscription.status)
                                  .join(Subscription, Subscription.person_id == Person.id)).all())
    assert statuses["ana@example.org"] is SubscriptionStatus.ACTIVE
    assert statuses["left@example.org"] is SubscriptionStatus.UNSUBSCRIBED


def test_headerless_and_excel_encoded_files() -> None:
    preview = preview_import("zoë@example.org;x\r\nsam@example.org,Sam\r\n".encode("windows-1252", "replace"))
    assert [r.email for r in preview.valid] == ["sam@example.org"]
