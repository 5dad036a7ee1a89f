"""Reading only what the person wrote now, from the shapes real clients send."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from mailer.mail.read import new_text, parse_message

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def test_outlook_reply_drops_the_quoted_original() -> None:
    body = (
        "Please register me.\r\n\r\nKind regards\r\nAlex\r\n\r\n"
        "________________________________\r\n"
        "From: Forum <forum@lists.test>\r\nSent: 02 March 2026 09:00\r\n\r\nReply to "
        "unsubscribe.\r\n"
    )
    assert new_text(body) == "Please register me.\n\nKind regards\nAlex"


def test_gmail_reply_drops_on_wrote_and_quoted_lines() -> None:
    body = (
        "Count me in, remotely please\n\nOn Mon, 2 Mar 2026 at 09:00, Forum <forum@lists.test> "
        "wrote:\n"
        "> Can't attend? Tell us.\n> unsubscribe\n"
    )
    assert new_text(body) == "Count me in, remotely please"


def test_wrapped_gmail_attribution_line_is_dropped() -> None:
    body = (
        "Please register me\n\nOn Mon, 2 Mar 2026 at 09:00, Leaders of Networks Forum "
        "<forum@lists.test>\n"
        "wrote:\n> quoted\n"
    )
    assert new_text(body) == "Please register me"


def test_signature_is_dropped() -> None:
    assert (
        new_text("Please register me\n-- \nAlex | Chair, Dept Network\nCan't attend Fridays")
        == "Please register me"
    )


def test_mobile_footer_is_dropped() -> None:
    assert new_text("Register me please\n\nSent from my iPhone") == "Register me please"


def _message(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Zoë Ångström <zoe@example.org>")
    msg["Subject"] = headers.pop("Subject", "Forum")
    msg["Message-ID"] = "<m@example.org>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    return msg


def test_parses_encoded_names_html_only_and_base64() -> None:
    msg = _message()
    msg.set_content(
        '<html><body><p>Please register me &amp; thanks</p><div class="gmail_quote">'
        "On Mon wrote: <blockquote>unsubscribe</blockquote></div></body></html>",
        subtype="html",
        cte="base64",
    )
    parsed = parse_message(msg.as_bytes(), "zoe@example.org")
    assert parsed.from_name == "Zoë Ångström"
    assert parsed.from_email == "zoe@example.org"
    assert parsed.message_id == "<m@example.org>"
    assert parsed.new_text == "Please register me & thanks"
    assert parsed.automated_reason is None


def test_windows_1252_quoted_printable_body() -> None:
    raw = (
        b"From: Sam <sam@example.org>\r\nSubject: Forum\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: "
        b"quoted-printable\r\n\r\n"
        b"I=92d like to register =96 in person.\r\n"
    )
    assert (
        parse_message(raw, "sam@example.org").new_text
        == "I\u2019d like to register \u2013 in person."
    )


@pytest.mark.parametrize(
    ("headers", "envelope_from", "reason"),
    [
        ({"Auto_Submitted": "auto-replied"}, "sam@example.org", "Auto-Submitted"),
        ({"Precedence": "bulk"}, "sam@example.org", "Precedence"),
        ({"X_Auto_Response_Suppress": "All"}, "sam@example.org", "X-Auto-Response-Suppress"),
        ({"List_Id": "<other.list.example>"}, "sam@example.org", "mailing-list"),
        ({}, "", "null envelope sender"),
        ({}, "MAILER-DAEMON@mx.example.org", "automated sender"),
        ({}, "no-reply@service.example", "automated sender"),
    ],
)
def test_automated_mail_is_recognised(
    headers: dict[str, str], envelope_from: str, reason: str
) -> None:
    msg = _message(**headers)
    msg.set_content("Please register me")
    parsed = parse_message(msg.as_bytes(), envelope_from)
    assert parsed.automated_reason is not None and reason in parsed.automated_reason


def test_auto_submitted_no_is_a_person() -> None:
    msg = _message(Auto_Submitted="no")
    msg.set_content("Please register me")
    assert parse_message(msg.as_bytes(), "sam@example.org").automated_reason is None


def test_garbage_does_not_crash() -> None:
    parsed = parse_message(b"\x00\xff\xfe not an email at all \r\n\r\n\x80", "")
    assert parsed.from_email is None


def test_reply_headers_of_configured_languages_mark_the_quote() -> None:
    french = (
        "Je viendrai en personne.\n\nEnvoyé : lundi 2 mars 2026 09:00\nÀ : Forum\nObjet : Forum\n\n"
        "Can't attend? Tell us.\n"
    )
    assert (
        new_text(french) != "Je viendrai en personne."
    )  # English headers only: the quote is not recognised
    assert new_text(french, ("en", "fr")) == "Je viendrai en personne."
    outlook_fr = (
        "Je viendrai.\n\nDe : Forum <forum@lists.test>\n"
        "Envoyé : lundi 2 mars 2026\n\nCan't attend?\n"
    )
    assert (
        new_text(outlook_fr) == "Je viendrai."
    )  # our own rules know the From: line in French spacing


def test_headers_are_unfolded_and_decoded_as_clients_write_them() -> None:
    """Folded encoded words in two charsets, an encoded name holding a comma, raw UTF-8 (8-bit)
    headers and a broken encoded word, as real clients send them."""
    raw = (
        b"From: =?utf-8?q?Smith=2C_Zo=C3=AB?= <zoe@example.org>\r\n"
        b"Subject: =?windows-1252?q?Caf=E9_forum_?=\r\n =?utf-8?b?4oCTIG5leHQgd2Vlaw==?=\r\n"
        b"Message-ID:\r\n <folded@example.org>\r\n"
        b"References: <a@example.org>\r\n\t<b@example.org>\r\n"
        b"\r\nPlease register me.\r\n"
    )
    parsed = parse_message(raw, "zoe@example.org")
    assert (parsed.from_name, parsed.from_email) == ("Smith, Zoë", "zoe@example.org")
    assert parsed.subject == "Café forum – next week"
    assert parsed.message_id == "<folded@example.org>"
    assert parsed.references == "<a@example.org> <b@example.org>"

    eight_bit = (
        "From: Zoë Ångström <zoe@example.org>\r\nSubject: Réunion\r\n\r\nPlease register me.\r\n"
    ).encode()
    parsed = parse_message(eight_bit, "zoe@example.org")
    assert (parsed.from_name, parsed.from_email, parsed.subject) == (
        "Zoë Ångström",
        "zoe@example.org",
        "Réunion",
    )

    broken = (
        b"From: =?bogus?q?=ZZ?= <sam@example.org>\r\nSubject: =?utf-8?b?####?=\r\n\r\nHello\r\n"
    )
    parsed = parse_message(broken, "sam@example.org")
    assert (parsed.from_name, parsed.from_email) == (
        "=?bogus?q?=ZZ?=",
        "sam@example.org",
    )  # kept as written
    assert parsed.subject == ""  # nothing decodable in it


def test_a_text_without_reply_headers_is_read_whole_and_one_with_them_ends_at_the_first() -> None:
    """What mail-parser-reply splits on, for the configured languages: nothing in a plain text
    (long lines, underscores, another language's words), the first reply header otherwise."""
    plain = "Please register me, I will join remotely.\r\n" + "x" * 76 + "\r\n"
    assert new_text(plain) == plain.replace("\r\n", "\n").strip()
    assert (
        new_text("Je viendrai en personne.\n\nMerci\nSam", ("en", "fr"))
        == "Je viendrai en personne.\n\nMerci\nSam"
    )
    assert (
        new_text("Count me in\n\nSent: Monday\nTo: Forum\nSubject: Forum\n\nunsubscribe\n")
        == "Count me in"
    )
    german = (
        "Ich komme.\n\nAm 2. März 2026 um 09:00 schrieb Forum <forum@lists.test>:\nWer kommt?\n"
    )
    assert new_text(german, ("en", "de")) == "Ich komme."
