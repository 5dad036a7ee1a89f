"""Meeting files go with the invitation (and the agenda), checked for type and size."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailer.domain.attachments import add_attachment, list_attachments
from mailer.domain.errors import InvalidInput
from mailer.domain.invitations import send_invitations
from mailer.domain.lists import add_member
from mailer.domain.services import build_services
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.delivery import deliver_once
from tests.support.factories import make_list, make_meeting
from tests.support.servers import SmtpSink

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_invitation_carries_the_file_and_the_calendar(
    database: TestDatabase, tmp_path: Path
) -> None:
    with SmtpSink() as sink:
        config = make_test_config(tmp_path, database.url, delivery=sink.smarthost_settings())
        services = build_services(config)
        make_list(database.sessions)
        meeting = make_meeting(database.sessions)
        with database.sessions() as s:
            add_member(s, slug="forum", email="ana@example.org", actor="test")
        with database.sessions() as s:
            info = add_attachment(
                s, meeting.id, filename="../../Terms of reference.pdf", data=PDF, actor="test"
            )
        assert info.filename == "Terms of reference.pdf" and info.content_type == "application/pdf"
        with database.sessions() as s:
            send_invitations(s, services, meeting.id, actor="test")
        deliver_once(database, config)
        [got] = sink.wait_for_count(1)
    msg = got.message
    assert msg.get_content_type() == "multipart/mixed"
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == "Terms of reference.pdf" and attachment.get_content() == PDF
    assert any(p.get_content_type() == "text/calendar" for p in msg.walk())
    assert msg.get_body(preferencelist=("plain",)) is not None


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("virus.exe", b"MZ", "Attach a PDF"),
        ("empty.pdf", b"", "empty"),
        ("huge.pdf", b"x" * (10 * 1024 * 1024 + 1), "at most 10 MB"),
    ],
)
def test_files_are_checked(database: TestDatabase, name: str, data: bytes, message: str) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    with database.sessions() as s, pytest.raises(InvalidInput, match=message):
        add_attachment(s, meeting.id, filename=name, data=data, actor="test")
    with database.sessions() as s:
        assert list_attachments(s, meeting.id) == []
