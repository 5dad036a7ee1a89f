"""The one MIME writer: headers folded and encoded by the standard library's SMTP policy, and a
template that writes exactly what the writer writes."""

from __future__ import annotations

import re
from email import message_from_string, policy
from email.headerregistry import Address
from email.utils import getaddresses

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mailer.mail.write import (
    Body,
    MessageTemplate,
    folded_header,
    header_bytes,
    needs_smtputf8,
    quoted_printable,
    write_message,
)

SHARED = [
    ("From", "Forum – Ünïcode <forum@lists.test>"),
    ("Subject", "Quarterly news – ünïcode"),
    ("MIME-Version", "1.0"),
]
names = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)
locals_ = st.sampled_from(["sam", "jörg", "zoë.ångström", "o'neil", "a+b"])
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)


def _unboundaried(raw: bytes) -> bytes:
    return re.sub(rb"=_convene_[0-9a-f]+", b"BOUNDARY", raw)


@settings(deadline=None, max_examples=60)
@given(names, locals_, texts, st.booleans())
def test_a_template_writes_the_bytes_the_writer_writes(
    name: str, local: str, text: str, html: bool
) -> None:
    mailbox = Address(display_name=" ".join(name.split()), username=local, domain="example.org")
    own = [("To", str(mailbox)), ("Message-ID", "<1@lists.test>")]
    body = Body(text, f"<p>{text}</p>" if html else None)
    template = MessageTemplate(SHARED, Body("", "" if html else None))
    direct = write_message([*SHARED, *own], body)
    assert _unboundaried(template.render(own, body)) == _unboundaried(direct)
    message = message_from_string(direct.decode("utf-8"), policy=policy.default)
    got = message["To"].addresses[0]
    assert got.addr_spec == mailbox.addr_spec
    # The standard library may fold a long encoded name with a space between two encoded words.
    assert got.display_name.replace(" ", "") == mailbox.display_name.replace(" ", "")
    assert direct.isascii() == (not needs_smtputf8(local))


def test_a_template_takes_only_bodies_of_its_shape() -> None:
    template = MessageTemplate(SHARED, Body("text", "<p>html</p>"))
    with pytest.raises(ValueError):
        template.render([], Body("text only"))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Subject", "Hi\r\nBcc: x@example.org"),
        ("To", "a@b.example\n"),
        ("List-Unsubscribe", "<https://x.test/u>\0"),
        ("Subject", "Hi\x0cBcc: x@example.org"),
        ("Subject", "Hi\x1eBcc: x@example.org"),
    ],
)
def test_a_value_with_a_line_break_or_nul_is_refused(name: str, value: str) -> None:
    with pytest.raises(ValueError):
        folded_header(name, value)


def test_short_plain_values_are_written_as_they_are_and_long_ones_folded() -> None:
    assert folded_header("To", "sam@example.org") == "sam@example.org"
    references = " ".join(f"<message-{i}.with-a-long-id@mail.example.org>" for i in range(3))
    assert folded_header("References", references).split("\r\n ") == references.split()
    unsubscribe = "<https://convene.test/u/" + "t" * 80 + ">, <mailto:forum-leave+t@lists.test>"
    assert folded_header("List-Unsubscribe", unsubscribe) == unsubscribe.replace(", <", ",\r\n <")
    assert folded_header("To", "jörg@example.org") == "jörg@example.org"  # not encodable: UTF-8
    assert folded_header("Subject", "Réunion").startswith("=?utf-8?")


def test_quoted_printable_ends_lines_in_crlf_and_keeps_them_short() -> None:
    encoded = quoted_printable("Zoë  \n" + "x" * 200 + "\r\nend")
    assert encoded.startswith("Zo=C3=AB =20\r\n") and encoded.endswith("\r\nend")
    assert all(len(line) <= 76 for line in encoded.split("\r\n"))


def _lines(name: str, value: str) -> list[str]:
    """The header's lines on the wire, without their CRLF."""
    return header_bytes(name, value).decode("utf-8").removesuffix("\r\n").split("\r\n")


def _read_back(name: str, value: str) -> str:
    """What a reader makes of the header: the standard library's parser, as a member's mail
    program would (folding removed, encoded words decoded)."""
    raw = header_bytes(name, value).decode("utf-8") + "\r\n"
    return str(message_from_string(raw, policy=policy.default)[name])


def _starts_on_the_first_line(name: str, value: str) -> None:
    lines = _lines(name, value)
    assert lines[0].startswith(f"{name}: ") and not lines[0][len(name) + 2 :].isspace(), lines
    assert len(lines[0]) > len(name) + 2, lines  # the value starts right after the colon
    assert all(line.startswith((" ", "\t")) for line in lines[1:]), lines


@pytest.mark.parametrize(
    "subject",
    [
        # Fits on a line of its own but not after "Subject: ": moved down whole, before.
        "Invitation: Leaders of Networks Forum, Thursday 12 March 2026 at 14:00",
        "Invitation: Réunion trimestrielle du réseau des responsables — jeudi 12 mars 2026",
        "Invitation: Réunion " + "trimestrielle" * 6 + " du réseau",
        "Agenda: Zoë's café — Leaders of Networks Forum, Thursday 12 March 2026 at 14:00",
    ],
)
def test_a_long_subject_starts_on_the_first_line_and_reads_back_as_it_was(subject: str) -> None:
    _starts_on_the_first_line("Subject", subject)
    assert _read_back("Subject", subject) == subject
    assert all(len(line) <= 78 for line in _lines("Subject", subject))


def test_a_first_word_too_long_for_the_first_line_stays_on_it() -> None:
    """RFC 5322 asks for lines of 78 characters at most where it can be done, and allows 998."""
    subject = "https://convene.example.org/meetings/" + "x" * 40 + " Forum"
    assert _lines("Subject", subject) == [f"Subject: {subject.split()[0]}", " Forum"]
    assert _read_back("Subject", subject) == subject


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Reply-To", "forum-answer+" + "k3x9" * 17 + "@lists.convene.example.org"),
        ("Reply-To", "Leaders of Networks Forum <forum-answer+" + "k3x9" * 12 + "@lists.test>"),
        ("To", "Zoë Smith <forum-answer+" + "a1b2" * 6 + "@lists.test>"),
        ("From", '"Ångström-Smith, Zoë" <zoe.angstrom-smith@department.example.gov.uk>'),
    ],
)
def test_a_long_address_starts_on_the_first_line_and_reads_back_as_it_was(
    name: str, value: str
) -> None:
    _starts_on_the_first_line(name, value)
    raw = header_bytes(name, value).decode("utf-8") + "\r\n"
    [got] = message_from_string(raw, policy=policy.default)[name].addresses
    [(display_name, addr_spec)] = getaddresses([value])
    assert (got.display_name, got.addr_spec) == (display_name, addr_spec)


subjects = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\r\n\0\v\f\x1c\x1d\x1e"
    ),
    min_size=1,
    max_size=200,
)
words = st.lists(
    st.sampled_from(
        [
            "Invitation:",
            "Forum",
            "Réunion",
            "—",
            "Zoë's",
            "“quoted”",
            "🏳️‍🌈",
            "中文",
            "(hybrid)",
            "2026,",
            "14:00–16:00",
            "x" * 70,
            "=?utf-8?q?not-encoded?=",
            "a\tb",
            "  ",
        ]
    ),
    min_size=1,
    max_size=20,
).map(" ".join)


@settings(deadline=None, max_examples=300)
@given(st.one_of(subjects, words))
def test_any_subject_starts_on_the_first_line_and_reads_back_as_it_was(subject: str) -> None:
    """As it was but for white space at either end, which readers drop and so is not written."""
    assume(subject.strip(" \t"))
    _starts_on_the_first_line("Subject", subject)
    assert _read_back("Subject", subject) == subject.strip(" \t")
    assert all(len(line) <= 998 for line in _lines("Subject", subject))


@settings(deadline=None, max_examples=200)
@given(names, st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=90))
def test_any_address_starts_on_the_first_line_and_reads_back_as_it_was(name: str, tag: str) -> None:
    mailbox = Address(
        display_name=" ".join(name.split()), username=f"forum-answer+{tag}", domain="lists.test"
    )
    for header in ("To", "Reply-To"):
        _starts_on_the_first_line(header, str(mailbox))
        raw = header_bytes(header, str(mailbox)).decode("utf-8") + "\r\n"
        [got] = message_from_string(raw, policy=policy.default)[header].addresses
        assert got.addr_spec == mailbox.addr_spec
        # Python 3.11's parser keeps the space between two encoded words of a display name, which
        # RFC 2047 says a reader ignores: the name is compared without spaces.
        assert got.display_name.replace(" ", "") == mailbox.display_name.replace(" ", "")
