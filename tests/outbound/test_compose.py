"""Composing outbox rows: the direct writer gives what the standard library's EmailMessage gives.

A fully rendered row (a reply, a confirmation, an invitation) is written
straight to bytes; attachments still go through ``EmailMessage``. Both must
read back the same in any mail client: the same headers (encoded words
decoded), the same parts in the same order, the same text. Every line ends
in CRLF and quoted-printable keeps the text's own line breaks.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from email import message_from_bytes, policy

import pytest

from mailer.domain.models import OutboxMessage
from mailer.outbound.compose import _compose_rendered_row, _qp, compose_message

CALENDAR = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Convene//EN\r\nMETHOD:{method}\r\nBEGIN:VEVENT\r\n"
            "UID:meeting-1@lists.test\r\nSUMMARY:Forum – Café\r\nDTSTART:20270114T140000Z\r\nEND:VEVENT\r\n"
            "END:VCALENDAR\r\n")
AWKWARD_TEXT = ("Hello Zoë,\n\nA line with trailing spaces   \n.a line starting with a dot\nFrom the start of a line\n"
                "equals = signs, tabs\tand an emoji 🎉\r\nWindows line end above. " + "long words " * 30 + "\n")


def _row(**fields) -> OutboxMessage:  # type: ignore[no-untyped-def]
    values = dict(recipient="sam@example.org", sender="bounces@lists.test", message_id="<abc.123@lists.test>",
                  subject="You're registered: Leaders of Networks Forum", body_text="Hello Sam,\n\nYou are registered.\n",
                  body_html=None, body_calendar=None, created_at=datetime(2026, 11, 30, 9, 5, tzinfo=timezone.utc),
                  headers={"From": "Leaders of Networks Forum <forum@lists.test>", "Reply-To": "forum@lists.test"})
    values.update(fields)
    return OutboxMessage(**values)


ROWS = {
    "plain ASCII, text only": _row(),
    "text and HTML, non-ASCII subject and name, long References": _row(
        subject="Réunion du forum – décembre 2026: you’re registered for the Leaders of Networks Forum",
        headers={"From": "Zoë’s Forum <forum@lists.test>", "In-Reply-To": "<m0@example.org>",
                 "References": " ".join(f"<message-{i}.with-a-long-id@mail.example.org>" for i in range(6)),
                 "Auto-Submitted": "auto-replied", "List-Id": "Forum <forum.lists.test>"},
        body_text=AWKWARD_TEXT, body_html="<p>Hello Zoë</p>" + "<p>long paragraph</p>" * 40),
    "calendar request": _row(body_html="<p>Invitation</p>", body_calendar=CALENDAR.format(method="REQUEST")),
    "calendar cancel, no HTML": _row(body_calendar=CALENDAR.format(method="CANCEL")),
    "empty text": _row(body_text=""),
}


def _read(raw: bytes):  # type: ignore[no-untyped-def]
    message = message_from_bytes(raw, policy=policy.default)
    headers = [(name, str(value)) for name, value in message.items()
               if name.lower() not in ("content-type", "mime-version", "content-transfer-encoding")]
    parts = [(part.get_content_type(), {k: v for k, v in part.get_params() or [] if k != "boundary"},
              part.get_content().replace("\r\n", "\n").rstrip("\n"))
             for part in message.walk() if not part.is_multipart()]
    return headers, message.get_content_type(), message["MIME-Version"], parts


@pytest.mark.parametrize("name", ROWS)
def test_a_rendered_row_reads_back_as_the_standard_librarys_message(name: str) -> None:
    row = ROWS[name]
    direct = _compose_rendered_row(row)
    assert _read(direct) == _read(compose_message(row).as_bytes(policy=policy.SMTP))
    assert b"\n" not in direct.replace(b"\r\n", b"")  # CRLF line ends only
    assert all(len(line) <= 78 for line in direct.split(b"\r\n\r\n", 1)[0].split(b"\r\n"))  # headers folded
    assert all(len(line) <= 76 for line in direct.split(b"\r\n\r\n", 1)[1].split(b"\r\n"))
    assert direct.isascii()


def test_quoted_printable_keeps_the_texts_line_breaks() -> None:
    encoded = _qp(AWKWARD_TEXT)
    assert b"=0D=0A" not in encoded and b"=0A" not in encoded
    assert encoded.count(b"\r\n") >= AWKWARD_TEXT.count("\n")
    assert re.search(rb"spaces  =20\r\n", encoded)  # trailing space protected
    assert message_from_bytes(b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
                              b"quoted-printable\r\n\r\n" + encoded, policy=policy.default).get_content(
                              ).replace("\r\n", "\n") == AWKWARD_TEXT.replace("\r\n", "\n")


def test_a_header_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError):
        _compose_rendered_row(_row(subject="Hello\r\nBcc: everyone@example.org"))
