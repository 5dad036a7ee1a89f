"""Composing outbox rows: what a mail client reads back is what the row says.

Every row is written by the one MIME writer (``mailer.mail.write``), from a
template of its body's shape or, with files, as a whole; both must give
the same message: the same headers (encoded words decoded), the same parts
in the same order, the same text. Every line ends in CRLF, quoted-printable
keeps the text's own line breaks, and the calendar comes last with its
method on the Content-Type.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_string, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailer.domain.models import Mailing, MailingList, MeetingAttachment, OutboxMessage
from mailer.domain.news import UNSUBSCRIBE_PLACEHOLDER
from mailer.domain.services import build_services
from mailer.mail.write import write_message
from mailer.outbound.compose import Composer, row_body, row_headers
from tests.conftest import make_test_config

CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Convene//EN\r\nMETHOD:{method}\r\nBEGIN:VEVENT\r\n"
    "UID:meeting-1@lists.test\r\nSUMMARY:Forum – Café\r\nDTSTART:20270114T140000Z\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)
AWKWARD_TEXT = (
    "Hello Zoë,\n\nA line with trailing spaces   \n.a line starting with a dot\nFrom the start of "
    "a line\n"
    "equals = signs, tabs\tand an emoji 🎉\r\nWindows line end above. " + "long words " * 30 + "\n"
)
LONG_REFERENCES = " ".join(f"<message-{i}.with-a-long-id@mail.example.org>" for i in range(6))
UNSUBSCRIBE = (
    "<https://convene.test/u/" + "t" * 90 + ">, "
    "<mailto:forum-leave+" + "t" * 90 + "@lists.test?subject=unsubscribe>"
)


def _row(**fields) -> OutboxMessage:  # type: ignore[no-untyped-def]
    values = dict(
        recipient="sam@example.org",
        sender="bounces@lists.test",
        message_id="<abc.123@lists.test>",
        subject="You're registered: Leaders of Networks Forum",
        body_text="Hello Sam,\n\nYou are registered.\n",
        body_html=None,
        body_calendar=None,
        created_at=datetime(2026, 11, 30, 9, 5, tzinfo=UTC),
        headers={
            "From": "Leaders of Networks Forum <forum@lists.test>",
            "Reply-To": "forum@lists.test",
        },
    )
    values.update(fields)
    return OutboxMessage(**values)


ROWS = {
    "plain ASCII, text only": _row(),
    "text and HTML, non-ASCII subject and name, long References": _row(
        subject="Réunion du forum – décembre 2026: you’re registered for the Leaders of Networks "
        "Forum",
        headers={
            "From": "Zoë’s Forum <forum@lists.test>",
            "In-Reply-To": "<m0@example.org>",
            "References": LONG_REFERENCES,
            "Auto-Submitted": "auto-replied",
            "List-Id": "Forum <forum.lists.test>",
            "List-Unsubscribe": UNSUBSCRIBE,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        body_text=AWKWARD_TEXT,
        body_html="<p>Hello Zoë</p>" + "<p>long paragraph</p>" * 40,
    ),
    "calendar request": _row(
        body_html="<p>Invitation</p>", body_calendar=CALENDAR.format(method="REQUEST")
    ),
    "calendar cancel, no HTML": _row(body_calendar=CALENDAR.format(method="CANCEL")),
    "empty text": _row(body_text=""),
}
FILE = MeetingAttachment(
    filename="agenda – draft.pdf", content_type="application/pdf", data=b"%PDF-1.4 " * 300
)


@pytest.fixture
def composer(tmp_path: Path) -> Composer:
    config = make_test_config(tmp_path, f"sqlite:///{tmp_path / 'unused.db'}")
    return Composer(config, build_services(config).links)


def _read(raw: bytes) -> EmailMessage:
    """As a client reads it (RFC 6532: headers in UTF-8 where an address needs it)."""
    message = message_from_string(raw.decode("utf-8"), policy=policy.default)
    assert isinstance(message, EmailMessage) and not message.defects
    return message


def _leaves(message: EmailMessage) -> list[tuple[str, dict[str, str], str]]:
    return [
        (
            part.get_content_type(),
            {k: v for k, v in (part.get_params() or [])[1:] if k != "boundary"},
            part.get_content().replace("\r\n", "\n").rstrip("\n")
            if part.get_content_maintype() == "text"
            else part.get_content(),
        )
        for part in message.walk()
        if not part.is_multipart()
    ]


def _wire_form(raw: bytes) -> None:
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line ends only
    head, body = raw.split(b"\r\n\r\n", 1)
    for line in head.split(b"\r\n"):
        assert len(line) <= 78 or line.startswith((b"List-Unsubscribe:", b" <")), line  # folded
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))
    assert raw.isascii()


@pytest.mark.parametrize("name", ROWS)
def test_a_rendered_row_reads_back_as_it_was_written(composer: Composer, name: str) -> None:
    row = ROWS[name]
    raw = composer.compose(row)
    _wire_form(raw)
    message = _read(raw)
    for header, value in [
        *row.headers.items(),
        ("To", row.recipient),
        ("Subject", row.subject),
        ("Message-ID", row.message_id),
    ]:
        assert " ".join(str(message[header]).split()) == " ".join(value.split()), header
    assert message["Date"].datetime == row.created_at
    assert message["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    expected = [
        ("text/plain", {"charset": "utf-8"}, row.body_text.replace("\r\n", "\n").rstrip("\n"))
    ]
    if row.body_html:
        expected.append(("text/html", {"charset": "utf-8"}, row.body_html))
    if row.body_calendar:
        method = "CANCEL" if "CANCEL" in row.body_calendar else "REQUEST"
        expected.append(
            (
                "text/calendar",
                {"charset": "utf-8", "method": method},
                row.body_calendar.replace("\r\n", "\n").rstrip("\n"),
            )
        )
    assert _leaves(message) == expected  # text, then HTML, then the calendar, last
    assert message.get_content_type() == (
        "text/plain" if len(expected) == 1 else "multipart/alternative"
    )


def _unboundaried(raw: bytes) -> bytes:
    return re.sub(rb"=_convene_[0-9a-f]+", b"BOUNDARY", raw)


@pytest.mark.parametrize("name", ROWS)
def test_the_template_of_a_shape_writes_the_bytes_the_writer_writes(
    composer: Composer, name: str
) -> None:
    row = ROWS[name]
    composer.compose(
        _row(body_html=row.body_html, body_calendar=row.body_calendar)
    )  # the shape's template
    assert _unboundaried(composer.compose(row)) == _unboundaried(
        write_message(row_headers(row), row_body(row))
    )


def test_list_unsubscribe_is_folded_between_its_urls_never_encoded(composer: Composer) -> None:
    raw = composer.compose(ROWS["text and HTML, non-ASCII subject and name, long References"])
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert re.search(
        rb"\r\nList-Unsubscribe: <https://convene.test/u/t+>,\r\n <mailto:forum-leave\+t+"
        rb"@lists.test\?subject=unsubscribe>\r\n",
        head,
    )
    assert b"=?utf-8?" in head  # the subject and the name are RFC 2047 encoded, in other headers


def test_files_make_a_mixed_message_with_the_alternatives_first(composer: Composer) -> None:
    row = ROWS["calendar request"]
    raw = composer.compose(row, files=[FILE])
    _wire_form(raw)
    message = _read(raw)
    assert message.get_content_type() == "multipart/mixed"
    leaves = _leaves(message)
    assert [kind for kind, _, _ in leaves] == [
        "text/plain",
        "text/html",
        "text/calendar",
        "application/pdf",
    ]
    assert leaves[2][1]["method"] == "REQUEST"
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == FILE.filename and attachment.get_content() == FILE.data


def test_a_non_ascii_address_is_written_in_utf8_and_a_non_ascii_name_encoded(
    composer: Composer,
) -> None:
    raw = composer.compose(_row(recipient="jörg@example.org"))
    assert "\r\nTo: jörg@example.org\r\n".encode() in raw  # RFC 6532: an address cannot be encoded
    assert _read(raw)["To"].addresses[0].addr_spec == "jörg@example.org"
    assert raw.replace("jörg".encode(), b"").isascii()  # nothing else needed UTF-8
    named = composer.compose(_row(headers={"From": "Zoë Ångström <forum@lists.test>"}))
    assert named.isascii() and _read(named)["From"].addresses[0].display_name == "Zoë Ångström"


def test_quoted_printable_keeps_the_texts_line_breaks(composer: Composer) -> None:
    raw = composer.compose(_row(body_text=AWKWARD_TEXT))
    encoded = raw.split(b"\r\n\r\n", 1)[1]
    assert b"=0D=0A" not in encoded and b"=0A" not in encoded
    assert encoded.count(b"\r\n") >= AWKWARD_TEXT.count("\n")
    assert re.search(rb"spaces  =20\r\n", encoded)  # trailing space protected
    assert _read(raw).get_content().replace("\r\n", "\n") == AWKWARD_TEXT.replace("\r\n", "\n")


@pytest.mark.parametrize(
    "fields",
    [
        {"subject": "Hello\r\nBcc: everyone@example.org"},
        {"recipient": "sam@example.org\nBcc: everyone@example.org"},
        {"headers": {"From": "Forum <forum@lists.test>\0"}},
    ],
)
def test_a_header_with_a_line_break_is_refused(
    composer: Composer, fields: dict[str, object]
) -> None:
    with pytest.raises(ValueError):
        composer.compose(_row(**fields))
    with pytest.raises(ValueError):
        composer.compose(_row(**fields), files=[FILE])


def _mailing(**fields) -> Mailing:  # type: ignore[no-untyped-def]
    forum = MailingList(id=3, slug="forum", name="Forum")
    values = dict(
        id=9,
        kind="news",
        list_id=3,
        mailing_list=forum,
        subject="Quarterly news – ünïcode",
        body_text=f"News for you.\n\nUnsubscribe: {UNSUBSCRIBE_PLACEHOLDER}\n",
        body_html=f'<p>News for you.</p><a href="{UNSUBSCRIBE_PLACEHOLDER}">Unsubscribe</a>',
        headers={
            "From": "Forum <forum@lists.test>",
            "Reply-To": "forum@lists.test",
            "List-Id": "Forum <forum.lists.test>",
            "Precedence": "list",
        },
    )
    values.update(fields)
    return Mailing(**values)


def test_each_recipient_of_a_mailing_gets_their_own_headers_and_link(composer: Composer) -> None:
    mailing = _mailing()
    rows = [
        _row(
            recipient=email,
            message_id=f"<{n}@lists.test>",
            person_id=n,
            mailing_id=mailing.id,
            subject=None,
            body_text=None,
            headers=None,
        )
        for n, email in [(1, "ana@example.org"), (2, "jörg@example.org")]
    ]
    messages = [composer.compose(row, mailing, link_version=4) for row in rows]
    for row, raw in zip(rows, messages, strict=True):
        message = _read(raw)
        token = composer.links.unsubscribe_token(row.person_id, mailing.list_id, 4)
        url = composer.links.unsubscribe_url(token)
        assert (message["To"], message["Message-ID"]) == (row.recipient, row.message_id)
        assert (
            message["Subject"] == mailing.subject
            and message["List-Id"] == "Forum <forum.lists.test>"
        )
        assert " ".join(message["List-Unsubscribe"].split()) == (
            f"<{url}>, <mailto:forum-leave+{token}@lists.test?subject=unsubscribe>"
        )
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "X-Template" not in message and UNSUBSCRIBE_PLACEHOLDER not in raw.decode()
        assert _leaves(message) == [
            ("text/plain", {"charset": "utf-8"}, f"News for you.\n\nUnsubscribe: {url}"),
            (
                "text/html",
                {"charset": "utf-8"},
                f'<p>News for you.</p><a href="{url}">Unsubscribe</a>',
            ),
        ]
    assert messages[0].isascii() and "To: jörg@example.org".encode() in messages[1]


def test_a_mailing_row_is_what_the_writer_writes_for_its_headers(composer: Composer) -> None:
    mailing = _mailing(body_html=None)
    row = _row(person_id=None, mailing_id=mailing.id, headers=None)
    raw = composer.compose(row, mailing)
    direct = write_message(
        [
            *mailing.headers.items(),
            ("Subject", mailing.subject),
            ("MIME-Version", "1.0"),
            ("To", row.recipient),
            ("Date", "Mon, 30 Nov 2026 09:05:00 +0000"),
            ("Message-ID", row.message_id),
        ],
        row_body(_row(body_text=mailing.body_text.replace(UNSUBSCRIBE_PLACEHOLDER, ""))),
    )
    assert raw == direct
