"""Reading only what the person wrote now, from the shapes real clients send."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from mailer.mail.read import clean_subject, names_of, new_text, parse_message


def test_outlook_reply_drops_the_quoted_original_and_the_signature() -> None:
    body = (
        "Please register me.\r\n\r\nKind regards\r\nAlex\r\n\r\n"
        "________________________________\r\n"
        "From: Forum <forum@lists.test>\r\nSent: 02 March 2026 09:00\r\n\r\nReply to "
        "unsubscribe.\r\n"
    )
    assert new_text(body) == "Please register me."


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


# -- Our own text, however the reply quotes it ----------------------------------------------

INVITATION = (
    "Hello Sam,\n\n"
    "You are invited to Leaders of Networks Forum.\n\n"
    "Wednesday 4 March 2026, 10:00 to 12:00 (GMT)\n"
    "In person in London, or online.\n\n"
    "Please reply by Monday 2 March 2026.\n\n"
    "Attend in person:\nhttps://convene.example/r/abc/in-person\n\n"
    "Join remotely:\nhttps://convene.example/r/abc/remote\n\n"
    "Can't attend:\nhttps://convene.example/r/abc/decline\n\n"
    "Or reply to this email in your own words, or use Accept / Decline in your\n"
    "calendar. Venue or joining details are sent to registered delegates only.\n\n"
    "--\n"
    "You get this because you are on Leaders of Networks Forum. Nobody else on\n"
    "the list can see your address.\n"
    "Unsubscribe: https://convene.example/u/xyz\n"
    "How we use your data: https://convene.example/privacy\n"
)
#: The invitation's HTML part as a client turns it into text when quoting it: the buttons'
#: labels on one line, their links gone, a curly apostrophe, the footer shorter.
INVITATION_AS_HTML_TEXT = (
    "Hello Sam,\n"
    "You are invited to Leaders of Networks Forum.\n"
    "Wednesday 4 March 2026, 10:00 to 12:00 (GMT)\n"
    "In person in London, or online.\n"
    "Please reply by Monday 2 March 2026.\n"
    "Attend in person Join remotely Can\u2019t attend\n"
    "Or reply to this email in your own words, or use Accept / Decline in your calendar. "
    "Venue or joining details are sent to registered delegates only.\n"
    "You get this because you are on Leaders of Networks Forum. Unsubscribe\n"
)


def _quoted(text: str, marks: str = "> ") -> str:
    return "\n".join((marks + line).rstrip() for line in text.split("\n"))


def test_our_invitation_leaking_without_any_quote_header_is_removed() -> None:
    """The reply's client quoted our HTML as bare text, under no header we know: without
    ``ours`` the labels leak; with it only the person's "Thanks!" is left."""
    body = "Thanks!\n\n" + INVITATION_AS_HTML_TEXT
    assert "Can\u2019t attend" in new_text(body)
    assert new_text(body, ours=[INVITATION]) == "Thanks!"


def test_our_text_under_a_header_in_an_unknown_language_goes_with_the_header() -> None:
    body = (
        "Thanks!\n\n"
        "От: Leaders of Networks Forum <forum@lists.example>\n"
        "Отправлено: 2 марта 2026 г. 9:00\n"
        "Кому: Sam Jones\n"
        "Тема: Invitation: Leaders of Networks Forum\n\n" + INVITATION_AS_HTML_TEXT
    )
    assert new_text(body, ours=[INVITATION]) == "Thanks!"


@pytest.mark.parametrize("marks", ["> ", ">", "> > ", ">> "])
def test_our_text_quoted_at_any_depth_is_removed(marks: str) -> None:
    body = "Thanks!\n\n" + _quoted(INVITATION, marks) + "\n"
    assert new_text(body, ours=[INVITATION]) == "Thanks!"


def test_our_text_rewrapped_at_another_width_is_removed() -> None:
    import textwrap

    rewrapped = "\n\n".join(
        textwrap.fill(" ".join(paragraph.split()), width=40)
        for paragraph in INVITATION.split("\n\n")
    )
    body = "Thanks!\n\n" + rewrapped.replace("'", "\u2019").replace(" ", "\xa0", 3)
    assert new_text(body, ours=[INVITATION]) == "Thanks!"


def test_our_links_rewritten_by_safe_links_urldefense_and_mimecast_are_still_ours() -> None:
    labels = (
        "Attend in person<https://eur02.safelinks.protection.outlook.com/?url=https%3A%2F%2F"
        "convene.example%2Fr%2Fabc%2Fin-person&data=05%7C02%7C&reserved=0> "
        "Join remotely<https://urldefense.com/v3/__https://convene.example/r/abc/remote__;!!AbC!dE$>"
        " Can\u2019t attend [https://protect-eu.mimecast.com/s/AbCdEf?domain=convene.example]"
    )
    body = "Thanks!\n\n" + INVITATION_AS_HTML_TEXT.replace(
        "Attend in person Join remotely Can\u2019t attend", labels
    )
    assert new_text(body, ours=[INVITATION]) == "Thanks!"


def test_inline_answers_between_pieces_of_our_text_stay() -> None:
    """Outlook answering inline, the original unquoted under its header: the header and our
    text go, what the person wrote between our paragraphs stays."""
    answered = INVITATION.replace(
        "Please reply by Monday 2 March 2026.\n",
        "Please reply by Monday 2 March 2026.\n\n[Sam] I will come in person.\n",
    ).replace("Can't attend:\n", "[Sam] Thanks\n\nCan't attend:\n")
    body = (
        "Hi, answers below.\n\n"
        "From: Leaders of Networks Forum <forum@lists.example>\n"
        "Sent: 02 March 2026 09:00\nTo: Sam Jones\nSubject: Invitation\n\n" + answered
    )
    assert new_text(body, ours=[INVITATION]) == (
        "Hi, answers below.\n\n[Sam] I will come in person.\n\n[Sam] Thanks"
    )


def test_a_persons_short_lines_that_our_text_also_holds_stay() -> None:
    """Runs of our text are at least five words: "Can't attend" or "Thanks" written by the
    person is theirs, although our text holds the same words."""
    assert new_text("Can't attend, sorry.", ours=[INVITATION]) == "Can't attend, sorry."
    ack = "Thanks\n\nThank you for writing to the Forum. An organiser will read your message."
    assert (
        new_text("Thanks\n\n> " + ack.replace("\n", "\n> "), ours=[ack]) == "Thanks"
    )  # "Thanks" is also the first word of our text
    assert new_text("Thanks", ours=[ack]) == "Thanks"


def test_bottom_posted_reply_under_our_quoted_text_stays() -> None:
    body = (
        "On Mon, 2 Mar 2026 at 09:00, Leaders of Networks Forum <forum@lists.example> wrote:\n"
        + _quoted(INVITATION)
        + "\n\nIn person please.\n"
    )
    assert new_text(body, ours=[INVITATION]) == "In person please."


def test_a_piece_of_our_text_cut_off_by_an_inline_answer_is_still_ours() -> None:
    """A label of ours standing alone after an inline answer continues our text where the run
    above it stopped, so it goes; the answer stays."""
    body = (
        "From: Forum <forum@lists.example>\nSent: 02 March 2026 09:00\n\n"
        "Please reply by Monday 2 March 2026.\n\n"
        "Attend in person:\n\n"
        "Yes, this one.\n\n"
        "Join remotely:\n\n"
        "Can't attend:\n"
    )
    assert new_text(body, ours=[INVITATION]) == "Yes, this one."


def test_parse_message_passes_our_texts_on() -> None:
    msg = _message(Subject="RE: Invitation: Leaders of Networks Forum")
    msg.set_content("Thanks!\n\n" + INVITATION_AS_HTML_TEXT)
    parsed = parse_message(msg.as_bytes(), "zoe@example.org", ours=[INVITATION])
    assert parsed.new_text == "Thanks!"


# -- Quote headers -----------------------------------------------------------------------------

#: The original under a header, unquoted as Outlook, GroupWise and forwards leave it: if the
#: header is missed, "Can't attend" leaks into the new text.
ORIGINAL = (
    "Hello Sam,\n\nYou are invited to Leaders of Networks Forum.\n\n"
    "Can't attend:\nhttps://convene.example/r/abc/decline\n"
)
FORUM = "Leaders of Networks Forum <forum@lists.example>"


@pytest.mark.parametrize(
    ("header", "languages"),
    [
        pytest.param(
            f"---- On Wed, 04 Mar 2026 10:02:11 +0000 {FORUM} wrote ----", ("en",), id="zoho"
        ),
        pytest.param("---- Leaders of Networks Forum wrote ----", ("en",), id="android"),
        pytest.param(f"2014-10-17 11:28 GMT+03:00 {FORUM}:", ("en",), id="gmail-numeric-locale"),
        pytest.param(
            "2014-10-17 11:28 GMT+03:00 Leaders of Networks Forum <\nforum@lists.example>:",
            ("en",),
            id="gmail-numeric-locale-wrapped",
        ),
        pytest.param(f"On Wed, 4 Mar 2026 at 10:02, {FORUM} wrote", ("en",), id="wrote-no-colon"),
        pytest.param(
            "On 4 Mar 2026, at 10:02, Leaders of Networks Forum sent:", ("en",), id="on-sent"
        ),
        pytest.param(f"{FORUM} sent:", ("en",), id="address-sent"),
        pytest.param(
            "From:\nLeaders of Networks Forum <forum@lists.example>\n"
            "Sent: 02 March 2026 09:00\nTo: Sam Jones\nSubject: Invitation",
            ("en",),
            id="outlook-html-from-alone",
        ),
        pytest.param(
            f"From: {FORUM}\nSent: Wednesday, March 4, 2026 10:02 AM\nTo: Sam Jones "
            "<sam@dept.example>\nSubject: Invitation: Leaders of Networks Forum",
            ("en",),
            id="outlook-desktop",
        ),
        pytest.param(
            f"From: {FORUM} Sent: 04 March 2026 10:02 To: Sam Jones Subject: Invitation",
            ("en",),
            id="outlook-one-line",
        ),
        pytest.param(
            f"________________________________\nFrom: {FORUM}\n"
            "Sent: 04 March 2026 10:02\nTo: Sam Jones\nSubject: Invitation",
            ("en",),
            id="outlook-web-rule",
        ),
        pytest.param(
            f"From: {FORUM}\nDate: Wednesday, 4 March 2026 at 10:02\nTo: Sam Jones\n"
            "Subject: Invitation",
            ("en",),
            id="outlook-ios",
        ),
        pytest.param(
            f"*From:* {FORUM}\n*Sent:* Wednesday, March 4, 2026 10:02:11 AM\n*To:* Sam Jones",
            ("en",),
            id="outlook-android-bold",
        ),
        pytest.param(f"On Wed, 4 Mar 2026 at 10:02, {FORUM} wrote:", ("en",), id="gmail-web"),
        pytest.param(
            "On Wed, 4 Mar 2026, 10:02 Leaders of Networks Forum, <\nforum@lists.example> wrote:",
            ("en",),
            id="gmail-mobile-wrapped",
        ),
        pytest.param(f"On 4 Mar 2026, at 10:02, {FORUM} wrote:", ("en",), id="apple-mail"),
        pytest.param(
            f"Begin forwarded message:\n\nFrom: {FORUM}\nSubject: Invitation",
            ("en",),
            id="apple-forward",
        ),
        pytest.param(
            "On 04/03/2026 10:02, Leaders of Networks Forum wrote:", ("en",), id="thunderbird"
        ),
        pytest.param(
            "-------- Forwarded Message --------\nSubject: Invitation\nDate: Wed, 4 Mar 2026",
            ("en",),
            id="thunderbird-forward",
        ),
        pytest.param(
            "------- Original Message -------\n"
            f"On Wednesday, March 4th, 2026 at 10:02, {FORUM} wrote:",
            ("en",),
            id="proton",
        ),
        pytest.param(
            "-------- Original message --------\n"
            f"From: {FORUM} Date: 04/03/2026 10:02 (GMT+00:00) To: Sam Jones Subject: Invitation",
            ("en",),
            id="samsung",
        ),
        pytest.param(
            f"On Wednesday, 4 March 2026, 10:02:11 GMT, {FORUM} wrote:", ("en",), id="yahoo"
        ),
        pytest.param(
            '"Leaders of Networks Forum" <forum@lists.example> wrote on 04/03/2026 10:02:11:',
            ("en",),
            id="lotus-notes-wrote-on",
        ),
        pytest.param(
            "From: Leaders Forum/Networks/Org@Org\nTo: Sam Jones/HQ/Org@Org\n"
            "Date: 04/03/2026 10:02\nSubject: Invitation",
            ("en",),
            id="lotus-notes-block",
        ),
        pytest.param(f">>> {FORUM} 04/03/2026 10:02 >>>", ("en",), id="groupwise"),
        pytest.param(f"Am Mi., 4. März 2026 um 10:02 Uhr schrieb {FORUM}:", ("en", "de"), id="de"),
        pytest.param(
            f"Von: {FORUM}\nGesendet: Mittwoch, 4. März 2026 10:02\nAn: Sam Jones\n"
            "Betreff: Einladung",
            ("en", "de"),
            id="de-outlook",
        ),
        pytest.param(f"Le mer. 4 mars 2026 à 10:02, {FORUM} a écrit :", ("en", "fr"), id="fr"),
        pytest.param(
            "De : Leaders of Networks Forum\nEnvoyé : mercredi 4 mars 2026 10:02\nÀ : Sam Jones",
            ("en", "fr"),
            id="fr-outlook",
        ),
        pytest.param(f"El mié, 4 mar 2026 a las 10:02, {FORUM} escribió:", ("en", "es"), id="es"),
        pytest.param(
            "De: Leaders of Networks Forum\nEnviado: miércoles, 4 de marzo de 2026 10:02\n"
            "Para: Sam Jones\nAsunto: Invitación",
            ("en", "es"),
            id="es-outlook",
        ),
        pytest.param(
            f"Il giorno mer 4 mar 2026 alle ore 10:02 {FORUM} ha scritto:", ("en", "it"), id="it"
        ),
        pytest.param(
            "Da: Leaders of Networks Forum\nInviato: mercoledì 4 marzo 2026 10:02\nA: Sam Jones",
            ("en", "it"),
            id="it-outlook",
        ),
        pytest.param(f"Op wo 4 mrt 2026 om 10:02 schreef {FORUM}:", ("en", "nl"), id="nl"),
        pytest.param(
            "Van: Leaders of Networks Forum\nVerzonden: woensdag 4 maart 2026 10:02\n"
            "Aan: Sam Jones",
            ("en", "nl"),
            id="nl-outlook",
        ),
        pytest.param(
            "Od: Leaders of Networks Forum\nWysłano: środa, 4 marca 2026 10:02\n"
            "Do: Sam Jones\nTemat: Zaproszenie",
            ("en", "pl"),
            id="pl-outlook",
        ),
        pytest.param(
            "W dniu śr., 4 mar 2026 o 10:02 Leaders of Networks Forum\nnapisał:",
            ("en", "pl"),
            id="pl",
        ),
        pytest.param(
            "W dniu 4.03.2026 o 10:02, Leaders of Networks Forum pisze:",
            ("en", "pl"),
            id="pl-pisze",
        ),
        pytest.param(
            "Den ons 4 mars 2026 kl 10:02 skrev Leaders of Networks Forum:", ("en", "sv"), id="sv"
        ),
        pytest.param(
            "Från: Leaders of Networks Forum\nSkickat: den 4 mars 2026 10:02\nTill: Sam Jones",
            ("en", "sv"),
            id="sv-outlook",
        ),
        pytest.param(
            "Den 4. mar. 2026 kl. 10.02 skrev Leaders of Networks Forum:", ("en", "da"), id="da"
        ),
        pytest.param(
            "Fra: Leaders of Networks Forum\nSendt: 4. marts 2026 10:02\nTil: Sam Jones",
            ("en", "da"),
            id="da-outlook",
        ),
        pytest.param(
            "Dne st 4. 3. 2026 10:02 uživatel Leaders of Networks Forum napsal:",
            ("en", "cs"),
            id="cs",
        ),
        pytest.param(
            "Od: Leaders of Networks Forum\nOdesláno: středa 4. března 2026 10:02\nKomu: Sam",
            ("en", "cs"),
            id="cs-outlook",
        ),
        pytest.param(f"2026年3月4日(水) 10:02 {FORUM}:", ("en", "ja"), id="ja"),
        pytest.param(f"{FORUM} 于2026年3月4日周三 10:02写道：", ("en", "zh"), id="zh"),
        pytest.param(
            f"2026년 3월 4일 (수) 오전 10:02, {FORUM}님이 작성하였습니다:", ("en", "ko"), id="ko"
        ),
    ],
)
def test_quote_header_shapes_end_the_new_text(header: str, languages: tuple[str, ...]) -> None:
    body = f"Count me in, remotely please.\n\n{header}\n\n{ORIGINAL}"
    assert new_text(body, languages) == "Count me in, remotely please."


@pytest.mark.parametrize(
    "header",
    [
        f"On Wed, 4 Mar 2026 at 10:02, {FORUM} wrote:",
        f"On Wed, 4 Mar 2026 at 10:02, {FORUM} wrote",
        "---- Leaders of Networks Forum wrote ----",
        f"2014-10-17 11:28 GMT+03:00 {FORUM}:",
    ],
)
def test_an_attribution_over_quoted_lines_keeps_the_answers_below_them(header: str) -> None:
    body = f"{header}\n> Hello Sam,\n> Can't attend?\n\nIn person please.\n\n> Unsubscribe\n"
    assert new_text(body) == "In person please."


def test_a_list_footer_under_a_rule_of_underscores_goes() -> None:
    body = (
        "Please register me.\n\n"
        "_______________________________________________\n"
        "Forum mailing list\nforum@lists.example\nhttps://lists.example/listinfo/forum\n"
    )
    assert new_text(body) == "Please register me."


def test_the_text_on_the_same_line_as_an_attribution_is_kept() -> None:
    body = "Register me please On Wed, 4 Mar 2026 at 10:02, forum@lists.example wrote:\n> Hi"
    assert new_text(body) == "Register me please"


def test_a_link_wrapped_out_of_its_quote_marks_stays_in_the_quote() -> None:
    body = (
        "Register me please\n\nOn Wed, 4 Mar 2026 at 10:02, Forum wrote:\n\n"
        "> Post a response by replying to this email\n"
        " (https://convene.example/r/abc) >\n"
        "> View the meeting (https://convene.example/m/1?a=1&\n"
        "b=2)\n>\n"
    )
    assert new_text(body) == "Register me please"


def test_lines_that_only_look_like_headers_stay() -> None:
    """ "On" opening an ordinary sentence, a line ending in a colon and the person's own
    address are not quote headers."""
    body = (
        "On reflection I can come after all.\n"
        "My colleague Jo (jo@dept.example) can come too; her details:\n"
        "Jo Bloggs, Policy Adviser\n"
        "------------------------------------- Agenda -------------------------------------\n"
        "Item 1 is fine."
    )
    assert new_text(body) == body


# -- Signatures, footers, banners ----------------------------------------------------------------

REQUEST = "Please register me for the in-person place on Wednesday."


@pytest.mark.parametrize(
    "signature",
    [
        "Kind regards\nAlex Smith\nPolicy Adviser | Networks Team\nDepartment for Education",
        "Best wishes,\nAlex\n\nAlex Smith (she/her)\nHead of Networks\nTel: 020 7946 0000",
        "Many thanks\nAlex\nWorking pattern: Monday to Thursday",
        "Thanks,\nAlex Smith\nalex.smith@dept.example | www.dept.example",
        "Cheers\nAlex",
        "Regards,\n\nAlex Smith\nSanctuary Buildings, 20 Great Smith Street, London SW1P 3BT",
        "Warm regards\nDr Alex Smith\nPronouns: they/them\nM: +44 (0)7700 900 000",
        "Best\nA",
        "BW\nAlex",
        "KR,\nAlex\nSenior Policy Officer",
        "Thanks and regards\nAlex Smith\nMy working hours may not be yours. Please do not feel "
        "obliged to reply outside of your working hours.",
        "Regards, Alex",
    ],
    ids=lambda s: s.split("\n")[0],
)
def test_a_signature_without_a_delimiter_goes(signature: str) -> None:
    assert new_text(f"{REQUEST}\n\n{signature}\n") == REQUEST


def test_a_valediction_ending_the_last_sentence_goes_with_the_lines_under_it() -> None:
    assert new_text(f"{REQUEST} Many thanks\nAlex Smith\nPolicy Adviser") == REQUEST
    assert new_text(f"{REQUEST} Thanks!") == REQUEST


def test_more_request_after_a_valediction_keeps_it() -> None:
    """A line under the valediction that asks or answers something means the message goes on:
    nothing is cut there (a later valediction may still end it)."""
    body = f"{REQUEST}\nThanks,\nCould you also register my colleague Jo?\nBest,\nAlex"
    assert new_text(body) == f"{REQUEST}\nThanks,\nCould you also register my colleague Jo?"
    body = f"{REQUEST}\n\nKind regards\nAlex\n\nPS: I will join remotely if the room is full."
    assert new_text(body) == body
    body = f"{REQUEST}\n\nCheers\nIn person please\nAlex"
    assert new_text(body) == body


def test_a_valediction_that_is_the_whole_message_stays() -> None:
    assert new_text("Thanks!\nAlex\nPolicy Adviser") == "Thanks!"
    assert new_text("Thanks") == "Thanks"
    assert new_text("Many thanks,\n\nAlex") == "Many thanks,"


def test_a_name_with_contact_lines_is_a_signature_without_a_valediction() -> None:
    body = f"{REQUEST}\n\nAlex Smith\nalex.smith@dept.example\n020 7946 0000\nwww.dept.example"
    assert new_text(body) == REQUEST
    # a name alone is not enough
    assert new_text(f"{REQUEST}\n\nAlex Smith") == f"{REQUEST}\n\nAlex Smith"


@pytest.mark.parametrize(
    "footer",
    [
        "Sent from my iPhone",
        "Sent from Mail for Windows",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        "Get Outlook for Android",
        "Sent from Yahoo Mail for iPhone",
        "Sent from my Galaxy",
        "Sent from Proton Mail mobile",
        "Sent with Proton Mail secure email.",
    ],
)
def test_mobile_and_web_client_footers_go(footer: str) -> None:
    assert new_text(f"{REQUEST}\n\n{footer}\n\n{ORIGINAL}") == REQUEST


@pytest.mark.parametrize(
    "marking",
    [
        "OFFICIAL",
        "OFFICIAL-SENSITIVE",
        "OFFICIAL SENSITIVE",
        "Classification: OFFICIAL",
        "OFFICIAL - SENSITIVE: PERSONAL",
    ],
)
def test_classification_markings_go_at_the_top_and_the_bottom(marking: str) -> None:
    assert new_text(f"{marking}\n\n{REQUEST}\n\n{marking}") == REQUEST
    assert new_text(f"{marking}\n{REQUEST}\n\nKind regards\nAlex\n\n{marking}") == REQUEST


@pytest.mark.parametrize(
    "banner",
    [
        "CAUTION: This email originated from outside of the organisation. Do not click links or "
        "open attachments unless you recognise the sender and know the content is safe.",
        "CAUTION: This email originated from outside of the organization.\nDo not click links "
        "or open attachments unless you recognize the sender and know the content is safe.",
        "[EXTERNAL]",
        "This message originated from outside your organization",
        "External email: use caution with links and attachments.",
        "ZjQcmQRYFpfptBannerStart\nThis Message Is From an External Sender\n"
        "This message came from outside your organization.\nReport Suspicious\n"
        "ZjQcmQRYFpfptBannerEnd",
        "You don't often get email from forum@lists.example. Learn why this is important",
    ],
    ids=lambda b: b[:30],
)
def test_gateway_banners_go_wherever_they_are(banner: str) -> None:
    assert new_text(f"{banner}\n\n{REQUEST}") == REQUEST
    assert new_text(f"{banner}\n{REQUEST}") == REQUEST
    assert new_text(f"Count me in.\n\n{banner}\n\nRemotely please.") == (
        "Count me in.\n\nRemotely please."
    )


def test_a_gateways_tag_in_front_of_the_first_line_goes() -> None:
    assert new_text(f"[EXTERNAL] {REQUEST}") == REQUEST


def test_disclaimers_go() -> None:
    body = (
        f"{REQUEST}\n\nCommunications with the Department may be automatically logged, "
        "monitored and/or recorded for legal purposes.\n"
        "This email and any files transmitted with it are confidential."
    )
    assert new_text(body) == REQUEST


@pytest.mark.parametrize(
    ("subject", "clean"),
    [
        ("Re: Invitation: Forum", "Invitation: Forum"),
        ("RE: RE: Fwd: Please register me", "Please register me"),
        ("AW: WG: Einladung", "Einladung"),
        ("SV: Inbjudan", "Inbjudan"),
        ("Réf : Invitation", "Invitation"),
        ("TR: RE: Invitation", "Invitation"),
        ("Antw: Uitnodiging", "Uitnodiging"),
        ("Re[2]: Forum", "Forum"),
        ("[EXTERNAL] RE: Forum", "Forum"),
        ("EXTERNAL: Re: Forum", "Forum"),
        ("[EXT] Fw: Forum", "Forum"),
        ("*EXTERNAL* Re: Forum", "Forum"),
        ("[SUSPECTED SPAM] Re: Forum", "Forum"),
        ("OFFICIAL: RE: Can't attend", "Can't attend"),
        ("OFFICIAL-SENSITIVE: Re: Forum", "Forum"),
        ("Re: Forum [EXTERNAL]", "Forum"),
        ("Registration for the Forum", "Registration for the Forum"),
        ("Regarding the Forum", "Regarding the Forum"),
    ],
)
def test_clean_subject(subject: str, clean: str) -> None:
    assert clean_subject(subject) == clean


def test_outlook_html_with_from_and_the_sender_on_separate_source_lines() -> None:
    """Outlook's HTML puts "From:" and the sender on separate source lines of one paragraph,
    which is one line of text as a browser shows it; the block under it is the original."""
    msg = _message()
    msg.set_content(
        '<html><body><div class="WordSection1"><p class="MsoNormal">Count me in, remotely.</p>'
        '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">\n'
        '<p class="MsoNormal"><b>From:</b>\nLeaders of Networks Forum\n&lt;forum@lists.example&gt;'
        "<br>\n<b>Sent:</b> 02 March 2026 09:00<br>\n<b>To:</b> Sam Jones<br>\n"
        "<b>Subject:</b> Invitation</p></div>\n"
        '<p class="MsoNormal">Can&#8217;t attend?</p></div></body></html>',
        subtype="html",
    )
    assert parse_message(msg.as_bytes(), "zoe@example.org").new_text == "Count me in, remotely."


def test_a_line_holding_one_of_our_links_under_its_label_is_ours() -> None:
    """Alone, "Unsubscribe" could be the person's request; with our own unsubscribe link on the
    line it is our footer's, wherever the client left it."""
    body = "I will come in person.\n\nUnsubscribe: https://convene.example/u/xyz\n"
    assert new_text(body, ours=[INVITATION]) == "I will come in person."
    assert new_text("Unsubscribe", ours=[INVITATION]) == "Unsubscribe"
    assert new_text("Unsubscribe: https://other.example/u", ours=[INVITATION]) == (
        "Unsubscribe: https://other.example/u"
    )


def test_what_only_looks_like_a_footer_banner_or_signature_stays() -> None:
    """A person's own lines that start like a client footer, a banner or a marking, or that
    stand under a valediction, are theirs."""
    for body in [
        "Sent from the train, sorry. Please register me for the in-person place.",
        "Important: do not book me a hotel, I live nearby.",
        "Caution: the link in your invitation does not work. Please register me.",
        "Sensitivity: I have a nut allergy, please tell the caterers.",
        "Please register me.\n\nThanks,\nSam\n\nP.S. I need step-free access.",
        "Hi,\n\nI'd like to register for the in-person session on 4 March.\n\n"
        "My colleague Jo Bloggs <jo@dept.example> will also attend:\n"
        "she needs step-free access.",
    ]:
        assert new_text(body) == body


# --- a signature that starts with the sender's own name ----------------------------------------


@pytest.mark.parametrize(
    ("text", "display_name", "email", "expected"),
    [
        ("I'm in.\n\nAlex", "Alex Drury", "alex.drury@dept.example.org", "I'm in."),
        ("Please remove me.\nAlex Drury", None, "alex.drury@dept.example.org", "Please remove me."),
        ("In person please.\n\nAlex G", "Alex Grant", "ag@x.example", "In person please."),
        (
            "Yes - in person please.\n\nAlex\nAlex Whitworth | Chair, Social Mobility Network\n"
            "Department for Education",
            "Whitworth, Alex (DfE)",
            "a.w@x.example",
            "Yes - in person please.",
        ),
        (
            "Please register me.\n\nAlex Kamara\nChair, Neurodiversity Network\nTel: 020 7946 0744",
            "Alex Kamara",
            "alex.kamara@x.example",
            "Please register me.",
        ),
    ],
)
def test_a_signature_that_starts_with_the_senders_own_name_is_not_new_text(
    text: str, display_name: str | None, email: str, expected: str
) -> None:
    assert new_text(text, signed_as=names_of(display_name, email)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Alex",  # the whole message
        "Please register me.\n\nAlex will also come along, if that's ok.",
        "Please register me.\n\nAlex\nCould you also send the agenda?",
    ],
)
def test_the_senders_name_in_what_they_wrote_stays(text: str) -> None:
    assert new_text(text, signed_as=names_of("Alex Drury", "alex.drury@x.example")) == text


def test_the_names_a_sender_signs_with() -> None:
    assert names_of("Okafor, Alex (DWP)", "alex.okafor@dept.example.org") == ["alex okafor", "alex"]
    assert names_of(None, "jo.smith-jones@x.example") == ["jo smith jones", "jo"]
    assert names_of(None, None) == []


@pytest.mark.parametrize(
    ("header", "name", "address"),
    [
        (
            "=?utf-8?q?victim@example.org?= <eve@example.org>",
            "victim@example.org",
            "eve@example.org",
        ),
        (
            "=?utf-8?q?Victim_=3Cvictim@x.example=3E?= <eve@example.org>",
            "Victim <victim@x.example>",
            "eve@example.org",
        ),
        (
            "=?utf-8?q?Eve=0D=0AX-Injected:_yes?= <eve@example.org>",
            "Eve X-Injected: yes",
            "eve@example.org",
        ),
        ("=?utf-8?q?M=C3=BCller=2C_J=C3=B6rg?= <j@example.org>", "Müller, Jörg", "j@example.org"),
        (
            "=?utf-8?b?SsO2cmc=?= =?utf-8?b?IE3DvGxsZXI=?= <jm@example.org>",
            "Jörg Müller",
            "jm@example.org",
        ),
    ],
)
def test_an_encoded_display_name_never_splits_from_or_passes_for_its_address(
    header: str, name: str, address: str
) -> None:
    parsed = parse_message(f"From: {header}\r\nSubject: x\r\n\r\nhi\r\n".encode())
    assert (parsed.from_name, parsed.from_email) == (name, address)


def test_inline_answers_marked_with_the_senders_initials_are_kept() -> None:
    text = (
        "Hi,\n\nAnswers below.\n\nFrom: Forum <forum@lists.test>\nSent: 03 March 2026 10:00\n"
        "Subject: Invitation\n\nHow will you attend?\n[AB] In person please.\n"
        "Can't attend: https://example.invalid/x\n[AB] Noted, thanks.\n[CD] Not mine.\n"
    )
    kept = new_text(text, signed_as=names_of("Alex Bell", "alex.bell@x.example"))
    assert kept == "Hi,\n\nAnswers below.\n\nIn person please.\nNoted, thanks."
    assert (
        new_text(text, signed_as=names_of("Sam Jones", "sam@x.example")) == "Hi,\n\nAnswers below."
    )
