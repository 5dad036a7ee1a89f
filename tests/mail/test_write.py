"""The one MIME writer: headers folded and encoded by the standard library's SMTP policy, and a
template that writes exactly what the writer writes."""

from __future__ import annotations

import re
from email import message_from_string, policy
from email.headerregistry import Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailer.mail.write import (
    Body,
    MessageTemplate,
    folded_header,
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
