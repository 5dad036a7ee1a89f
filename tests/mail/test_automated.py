"""Recognising automated mail: each rule, and the real people's messages it must leave alone."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from mailer.mail.automated import (
    AWAY_LANGUAGES,
    automated_reason,
    calendar_notification,
    out_of_office,
    strip_prefixes,
)
from mailer.mail.read import parse_message, read_email

#: The subject a person's reply to our invitation has.
REPLY_SUBJECT = "Re: Invitation: Leaders of Networks Forum, Thursday 12 March"
ALL_LANGUAGES = tuple(sorted(AWAY_LANGUAGES))


def message(
    body: str = "Please register me.", subject: str = REPLY_SUBJECT, **headers: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Sam Jones <sam@example.org>")
    msg["To"] = "forum@lists.test"
    msg["Subject"] = subject
    msg["Message-ID"] = "<m@example.org>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def reason(msg: EmailMessage, languages: tuple[str, ...] = ("en",), envelope: str = "") -> str:
    return automated_reason(msg, envelope or "sam@example.org", languages) or ""


# -- headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Auto_Submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
        ({"Auto_Submitted": "auto-generated"}, "Auto-Submitted: auto-generated"),
        ({"Auto_Submitted": "auto-notified"}, "Auto-Submitted: auto-notified"),
        ({"X_Autoreply": "yes"}, "auto-reply header (X-Autoreply)"),
        ({"X_Autorespond": "sam@example.org"}, "auto-reply header (X-Autorespond)"),
        ({"X_Auto_Reply": "true"}, "auto-reply header (X-Auto-Reply)"),
        ({"Precedence": "bulk"}, "Precedence: bulk"),
        ({"Precedence": "junk"}, "Precedence: junk"),
        ({"Precedence": "list"}, "Precedence: list"),
        ({"Precedence": "auto_reply"}, "Precedence: auto_reply"),
        ({"X_Auto_Response_Suppress": "All"}, "X-Auto-Response-Suppress"),
        ({"X_Auto_Response_Suppress": "OOF"}, "X-Auto-Response-Suppress"),
        (
            {"X_MS_Exchange_Inbox_Rules_Loop": "sam@example.org"},
            "sent by a mailbox rule (X-MS-Exchange-Inbox-Rules-Loop)",
        ),
        ({"X_Loop": "sam@example.org"}, "loop marker (X-Loop)"),
        ({"List_Id": "<other.list.example>"}, "mailing-list message"),
    ],
)
def test_headers_that_mark_generated_mail(headers: dict[str, str], expected: str) -> None:
    assert reason(message(**headers)) == expected


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "no"},
        {"X_Autoreply": "no"},
        {"Precedence": "first-class"},
        # a vacation program's name alone proves nothing: people use the same client all year
        {"X_Mailer": "Vacation 1.2.7"},
        # Exchange writes it on mail that people send too, with no documented meaning
        {"X_MS_Exchange_Generated_Message_Source": "Web"},
    ],
)
def test_headers_that_do_not_mark_generated_mail(headers: dict[str, str]) -> None:
    assert automated_reason(message(**headers), "sam@example.org") is None


# -- reports ------------------------------------------------------------------------------------


def report(report_type: str, part_type: str, subject: str, container: str = "report") -> bytes:
    content_type = (
        f'multipart/report; report-type={report_type}; boundary="R"'
        if container == "report"
        else 'multipart/mixed; boundary="R"'
    )
    return (
        f"From: Sam Jones <sam@example.org>\r\nTo: forum@lists.test\r\nSubject: {subject}\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n"
        "--R\r\nContent-Type: text/plain\r\n\r\nYour message was read on 3 March 2026.\r\n"
        f"--R\r\nContent-Type: {part_type}\r\n\r\n"
        "Reporting-UA: mail.example.org; Microsoft Outlook\r\n"
        "Final-Recipient: rfc822;sam@example.org\r\n"
        "Original-Message-ID: <invitation-1@lists.test>\r\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\r\n"
        "\r\n--R--\r\n"
    ).encode()


@pytest.mark.parametrize(
    "raw",
    [
        report("disposition-notification", "message/disposition-notification", "Read: Forum"),
        report("disposition-notification", "message/disposition-notification", "Not read: Forum"),
        # Outlook's non-standard shape: the MDN part inside multipart/mixed
        report("", "message/disposition-notification", "Read: Forum", container="mixed"),
    ],
)
def test_read_receipts(raw: bytes) -> None:
    assert automated_reason(read_email(raw), "sam@example.org") == "read receipt (RFC 8098)"


def test_a_read_subject_alone_is_not_a_receipt() -> None:
    assert automated_reason(message(subject="Read: Forum"), "sam@example.org") is None


@pytest.mark.parametrize(
    "raw",
    [
        report("delivery-status", "message/delivery-status", "Delivery Status Notification"),
        report("", "message/delivery-status", "Returned mail", container="mixed"),
    ],
)
def test_delivery_reports_anywhere(raw: bytes) -> None:
    assert automated_reason(read_email(raw), "sam@example.org") == "delivery report (RFC 3464)"


def test_a_report_forwarded_by_a_person_is_the_person_s_message() -> None:
    msg = message("Why did I get this? Please register me anyway.", "Fwd: Delivery report")
    msg.add_attachment(read_email(report("delivery-status", "message/delivery-status", "DSN")))
    assert automated_reason(msg, "sam@example.org") is None


def test_other_reports_are_automated() -> None:
    raw = report("feedback-report", "message/feedback-report", "Abuse report")
    assert automated_reason(read_email(raw), "sam@example.org") == "feedback report (RFC 5965)"


# -- out of office ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "languages"),
    [
        ("Automatic reply: Leaders of Networks Forum", ("en",)),
        ("Auto-reply: Leaders of Networks Forum", ("en",)),
        ("Autoreply: Leaders of Networks Forum", ("en",)),
        ("Auto Response: Leaders of Networks Forum", ("en",)),
        ("Out of Office: Leaders of Networks Forum", ("en",)),
        ("RE: Automatic reply: Leaders of Networks Forum", ("en",)),
        ("[EXTERNAL] Automatic reply: Leaders of Networks Forum", ("en",)),
        ("Sam Jones is out of the office.", ("en",)),
        ("Sam Jones/Dept/Example is out of the office", ("en",)),
        ("Abwesenheitsnotiz: Leaders of Networks Forum", ("de",)),
        ("AW: Automatische Antwort: Leaders of Networks Forum", ("de",)),
        ("Réponse automatique : Leaders of Networks Forum", ("fr",)),
        ("=?utf-8?q?R=C3=A9ponse_automatique_=3A_Forum?=", ("fr",)),
        ("Respuesta automática: Leaders of Networks Forum", ("es",)),
        ("Risposta automatica: Leaders of Networks Forum", ("it",)),
        ("Automatisch antwoord: Leaders of Networks Forum", ("nl",)),
        ("Ateb awtomatig: Leaders of Networks Forum", ("cy",)),
        ("Resposta automática: Leaders of Networks Forum", ("pt",)),
        ("Autosvar: Leaders of Networks Forum", ("sv",)),
        ("Odpowiedź automatyczna: Leaders of Networks Forum", ("pl",)),
        ("自动回复: Leaders of Networks Forum", ("zh",)),
    ],
)
def test_out_of_office_subjects(subject: str, languages: tuple[str, ...]) -> None:
    msg = message("Thanks for your message.", subject)
    assert reason(msg, languages) == "out-of-office reply (subject)"


def test_subject_rules_read_only_the_configured_languages() -> None:
    msg = message("Danke.", "Abwesenheitsnotiz: Leaders of Networks Forum")
    assert automated_reason(msg, "sam@example.org", ("en",)) is None
    assert automated_reason(msg, "sam@example.org", ("en", "de")) is not None


@pytest.mark.parametrize(
    "subject",
    [
        "Leaders of Networks Forum - automatic reply wanted?",
        "Re: Forum: Sam is out of the office that day",
        "Can the out of office crowd dial in?",
    ],
)
def test_subject_rules_match_only_the_start(subject: str) -> None:
    assert automated_reason(message("Please register me.", subject), "sam@example.org") is None


@pytest.mark.parametrize(
    ("subject", "body", "languages"),
    [
        ("Out of the office", "I am out of the office until Monday 16 March.", ("en",)),
        ("I am on annual leave", "I am on annual leave until 16 March.", ("en",)),
        ("Ich bin bis 16. März nicht im Büro", "Ich bin bis zum 16. März nicht im Büro.", ("de",)),
        ("Absence du bureau", "Je suis absent jusqu'au 16 mars.", ("fr",)),
        ("Fuera de la oficina", "Estoy fuera de la oficina hasta el lunes.", ("es",)),
        ("Fuori sede", "Sono fuori sede fino al 16 marzo.", ("it",)),
        ("Afwezig", "Ik ben tot 16 maart afwezig.", ("nl",)),
        ("Allan o'r swyddfa", "Rydw i allan o'r swyddfa tan 16 Mawrth.", ("cy",)),
        ("Fora do escritório", "Estou fora do escritório até 16 de março.", ("pt",)),
        ("Inte på kontoret", "Jag är på semester till 16 mars.", ("sv",)),
        ("Poza biurem", "Jestem poza biurem do 16 marca.", ("pl",)),
    ],
)
def test_away_subjects_need_a_body_saying_the_sender_is_away(
    subject: str, body: str, languages: tuple[str, ...]
) -> None:
    assert reason(message(body, subject), languages) == "out-of-office reply (subject)"
    assert automated_reason(message("Please register me.", subject), "s@x.org", languages) is None


@pytest.mark.parametrize(
    ("body", "languages"),
    [
        ("Thank you for your email. I am currently out of the office until Monday 16 March.", "en"),
        ("I am currently out of the office with limited access to email.", "en"),
        (
            "I am on annual leave until 16 March and will respond to your email on my return.",
            "en",
        ),
        ("I'm on leave until 16 March. I will reply when I return.", "en"),
        (
            "I am away from the office this week. If your matter is urgent, please contact Kim "
            "Lee on 020 7946 0000.",
            "en",
        ),
        ("I am out of the office and will have limited access to email until 16 March.", "en"),
        (
            "I will be out of the office starting 02/03/2026 and will not return until "
            "16/03/2026.\n\nI will respond to your message when I return.",
            "en",
        ),
        (
            "Ich bin bis zum 16. März nicht im Büro. In dringenden Fällen wenden Sie sich bitte "
            "an Kim Lee.",
            "de",
        ),
        ("Je suis absent jusqu'au 16 mars. Pour toute demande urgente, contactez Kim Lee.", "fr"),
        (
            "Estoy fuera de la oficina hasta el 16 de marzo. Para asuntos urgentes, contacte "
            "con Kim Lee.",
            "es",
        ),
        ("Sono fuori sede fino al 16 marzo. Per questioni urgenti contattare Kim Lee.", "it"),
        ("Ik ben tot 16 maart afwezig. Voor dringende zaken kunt u Kim Lee bellen.", "nl"),
        (
            "Rydw i allan o'r swyddfa tan 16 Mawrth. Os yw'r mater yn un brys, cysylltwch â "
            "Kim Lee.",
            "cy",
        ),
        ("Estou ausente até 16 de março. Para assuntos urgentes, contacte Kim Lee.", "pt"),
        ("Jag är på semester till 16 mars. I brådskande ärenden kontakta Kim Lee.", "sv"),
        ("Jestem na urlopie do 16 marca. W pilnych sprawach proszę pisać do Kim Lee.", "pl"),
    ],
)
def test_out_of_office_bodies_under_an_ordinary_subject(body: str, languages: str) -> None:
    msg = message(body + "\n\nSam Jones\nHead of Networks", REPLY_SUBJECT)
    assert reason(msg, ("en", languages)) == "out-of-office reply (body)"


@pytest.mark.parametrize(
    "body",
    [
        "I'll be out of the office that day, so can't attend. Sorry!",
        "Sorry, I'm on leave that week so can't make it.",
        "Thanks - I'll be away on the 12th, so please send my apologies.",
        "Please register me. I'm out of the office until Monday but will dial in on the day.",
        "I'm on leave on the 12th. In my absence my deputy Kim Lee will attend.",
        "I'm on leave until Friday, but please register me.\n\n"
        "On Mon, 2 Mar 2026 at 09:00, Forum <forum@lists.test> wrote:\n"
        "> I will respond on my return. If your matter is urgent, please contact us.",
    ],
)
def test_a_person_writing_about_being_away_is_a_person(body: str) -> None:
    assert automated_reason(message(body), "sam@example.org", ALL_LANGUAGES) is None


@pytest.mark.parametrize(
    ("body", "language"),
    [
        ("Ich bin an dem Tag leider nicht im Büro und kann nicht teilnehmen.", "de"),
        ("Je serai absent ce jour-là, désolé.", "fr"),
        ("Estaré fuera de la oficina ese día, lo siento.", "es"),
    ],
)
def test_a_person_writing_about_being_away_in_another_language(body: str, language: str) -> None:
    assert automated_reason(message(body), "sam@example.org", ("en", language)) is None


def test_out_of_office_says_where_it_showed() -> None:
    assert out_of_office("Automatic reply: Forum", "") == "subject"
    assert out_of_office("Re: Forum", "I am away, with no access to email.") == "body"
    assert out_of_office("Re: Forum", "Count me in!") is None


def test_prefixes_are_stripped_and_replies_noticed() -> None:
    assert strip_prefixes("RE: AW: [EXTERNAL] Automatic reply: Forum") == (
        "Automatic reply: Forum",
        True,
    )
    assert strip_prefixes("[forum] Weekly digest") == ("Weekly digest", False)


# -- calendars ----------------------------------------------------------------------------------


def calendar_message(subject: str, method: str | None, **headers: str) -> EmailMessage:
    msg = message("Sam Jones has accepted this invitation.", subject, **headers)
    if method:
        msg.add_alternative(
            f"BEGIN:VCALENDAR\r\nMETHOD:{method}\r\nBEGIN:VEVENT\r\nUID:x@example.org\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n",
            subtype="calendar",
        )
    return msg


@pytest.mark.parametrize(
    ("subject", "method", "headers"),
    [
        ("Accepted: Leaders of Networks Forum", None, {}),
        ("Declined: Leaders of Networks Forum", None, {}),
        ("Tentative: Leaders of Networks Forum", None, {}),
        (
            "Updated invitation: Forum @ Thu 12 Mar 2026 2pm - 4pm (GMT) (sam@example.org)",
            None,
            {},
        ),
        ("Invitation: Forum @ Thu 12 Mar 2026 2pm - 4pm (GMT) (sam@example.org)", None, {}),
        ("Invitation: Leaders of Networks Forum", "REQUEST", {}),
        ("Forum", None, {"X_Google_Calendar_Content_Display": "calendar"}),
    ],
)
def test_calendar_notifications_that_are_not_replies(
    subject: str, method: str | None, headers: dict[str, str]
) -> None:
    msg = calendar_message(subject, method, **headers)
    assert reason(msg) == "calendar notification (not a reply)"


def test_a_calendar_reply_is_not_a_notification() -> None:
    msg = calendar_message("Accepted: Leaders of Networks Forum", "REPLY")
    assert automated_reason(msg, "sam@example.org") is None
    assert not calendar_notification("Accepted: Forum", frozenset({"REPLY"}))


def test_a_reply_to_our_invitation_is_not_a_calendar_notification() -> None:
    assert automated_reason(message("Please register me."), "sam@example.org") is None
    assert not calendar_notification("Invitation: Leaders of Networks Forum")


def test_calendar_subjects_in_configured_languages() -> None:
    assert calendar_notification("Angenommen: Forum", languages=("de",))
    assert not calendar_notification("Angenommen: Forum", languages=("en",))


# -- tickets, gateways, digests, delivery subjects ----------------------------------------------


@pytest.mark.parametrize(
    ("subject", "body", "expected"),
    [
        ("Your request has been logged", "We will be in touch.", "ticket acknowledgement"),
        ("[Request ID :##123##] : Re: Forum", "Thank you.", "ticket acknowledgement"),
        ("Ticket #12345 has been created", "Thank you.", "ticket acknowledgement"),
        (
            REPLY_SUBJECT,
            "Thank you for contacting the Service Desk. Your request has been logged with "
            "reference INC0012345.",
            "ticket acknowledgement",
        ),
        (
            REPLY_SUBJECT,
            "Case number: 00123456. We aim to reply in 5 days.",
            "ticket acknowledgement",
        ),
        (
            REPLY_SUBJECT,
            "Your request (71920) has been received and is being reviewed by our support staff.",
            "ticket acknowledgement",
        ),
        (
            "[People Services] Re: Forum",
            "##- Please type your reply above this line -##\n\nWe will get back to you.",
            "ticket acknowledgement",
        ),
        ("Quarantine notification", "1 new message.", "mail gateway notification"),
        (
            REPLY_SUBJECT,
            "A message you sent has been held for review.",
            "mail gateway notification",
        ),
        (
            "Hold for review: Forum",
            "An administrator will look at it.",
            "mail gateway notification",
        ),
        (
            REPLY_SUBJECT,
            "Your message to forum@lists.test was blocked by our policy.",
            "mail gateway notification",
        ),
        ("Forum-announce Digest, Vol 12, Issue 3", "Today's topics:", "digest"),
        ("Daily digest for forum@lists.test", "3 new messages", "digest"),
        ("Undeliverable: Leaders of Networks Forum", "Delivery has failed.", "delivery report"),
        (REPLY_SUBJECT, "This is an automated response. Please do not reply.", "automated message"),
    ],
)
def test_acknowledgements_and_notices(subject: str, body: str, expected: str) -> None:
    assert reason(message(body, subject)).startswith(expected)


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        (REPLY_SUBJECT, "I'm in quarantine that week so I can't attend, sorry."),
        (REPLY_SUBJECT, "I was held up at work last time - please register me."),
        (REPLY_SUBJECT, "The email was blocked by our IT, so I'm writing from home: count me in."),
        ("Re: Weekly digest", "Please take me off the digest."),
        (REPLY_SUBJECT, "What is the case for attending in person?"),
        (REPLY_SUBJECT, "Please register me. Ticket number for the venue would help."),
    ],
)
def test_people_using_the_same_words(subject: str, body: str) -> None:
    assert automated_reason(message(body, subject), "sam@example.org") is None


# -- senders ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "envelope", "expected"),
    [
        ("sam@example.org", "", "null envelope sender"),
        ("sam@example.org", "<>", "null envelope sender"),
        ("sam@example.org", "MAILER-DAEMON@mx.example.org", "automated sender"),
        ("sam@example.org", "bounces+abc@service.example", "automated sender"),
        ("Service <no-reply@service.example>", "sam@example.org", "automated sender"),
        ("noreply@service.example", "sam@example.org", "automated sender"),
        ("donotreply@service.example", "sam@example.org", "automated sender"),
        ("do_not_reply@service.example", "sam@example.org", "automated sender"),
        ("Postmaster <postmaster@example.org>", "sam@example.org", "automated sender"),
        ("Mail Delivery System <MAILER-DAEMON@mx.example.org>", "x@example.org", "automated"),
        ("bounce@service.example", "sam@example.org", "automated sender"),
    ],
)
def test_role_senders(sender: str, envelope: str, expected: str) -> None:
    msg = message(From=sender)
    assert (automated_reason(msg, envelope) or "").startswith(expected)


@pytest.mark.parametrize("sender", ["noreen@example.org", "Bouncer <bouncer@example.org>"])
def test_people_whose_address_looks_similar(sender: str) -> None:
    assert automated_reason(message(From=sender), "sam@example.org") is None


# -- as the worker reads it ---------------------------------------------------------------------


def test_parse_message_passes_the_reply_languages() -> None:
    raw = message("Danke.", "Abwesenheitsnotiz: Leaders of Networks Forum").as_bytes()
    assert parse_message(raw, "sam@example.org").automated_reason is None
    parsed = parse_message(raw, "sam@example.org", reply_languages=("en", "de"))
    assert parsed.automated_reason == "out-of-office reply (subject)"


def test_parse_message_reads_html_only_bodies() -> None:
    msg = message(subject=REPLY_SUBJECT)
    msg.set_content(
        "<html><body><p>I am currently out of the office with no access to email.</p>"
        "</body></html>",
        subtype="html",
    )
    assert parse_message(msg.as_bytes(), "sam@example.org").automated_reason == (
        "out-of-office reply (body)"
    )


def test_welsh_and_portuguese_are_languages_for_out_of_office_only() -> None:
    assert {"cy", "pt"} <= AWAY_LANGUAGES
