"""Writes the labelled inbound corpus: realistic messages in the shapes mail clients produce.

Run ``python -m tests.corpus.make_corpus`` to regenerate the .eml files and
``labels.toml`` after changing the cases below; the files are committed so the
corpus test reads exactly what is reviewed. Each case is what a member wrote
(the new text), wrapped the way Outlook, Gmail, Apple Mail, a phone or an
HTML-only client sends it, with our own original quoted below it.
"""

from __future__ import annotations

import base64
import quopri
from pathlib import Path

HERE = Path(__file__).parent
LIST = "forum@lists.test"

# (name, new text, expected intent, expected mode)
CASES: list[tuple[str, str, str, str | None]] = [
    ("register-plain", "Please register me for the forum.", "register", None),
    (
        "register-in-person",
        "Hi, please register me - I'll be there in person.",
        "register",
        "in_person",
    ),
    ("register-remote", "Could you register me please? I'll join remotely.", "register", "remote"),
    (
        "register-dial-in-contrast",
        "I'd like to attend, dialling in rather than coming in person.",
        "register",
        "remote",
    ),
    ("register-count-me-in", "Count me in!", "register", None),
    ("register-count-me-in-teams", "Count me in, I'll join on Teams.", "register", "remote"),
    ("register-sign-me-up", "Sign me up please, face to face.", "register", "in_person"),
    ("register-would-like", "I would like to attend the next Leaders Forum.", "register", None),
    ("register-book-me", "Please book me a place, I'll come in.", "register", "in_person"),
    ("register-online", "I'd like to register and join online.", "register", "remote"),
    ("register-plan", "Planning to attend in person, thanks.", "register", "in_person"),
    ("register-put-me-down", "Put me down for the meeting please.", "register", None),
    ("register-hoping", "Hoping to come along - please register me.", "register", None),
    ("register-video", "Please register me, I will join by video.", "register", "remote"),
    (
        "register-not-in-person",
        "Register me please. Not in person this time, I'll dial in.",
        "register",
        "remote",
    ),
    (
        "register-instead",
        "Please sign me up - I'll join remotely instead of in person.",
        "register",
        "remote",
    ),
    ("register-im-coming", "I'm coming! Please register me.", "register", None),
    ("register-reserve", "Please reserve me a place in the room.", "register", "in_person"),
    ("register-will-attend", "I will attend, in person.", "register", "in_person"),
    (
        "register-registration",
        "Registration please for the March forum - remote.",
        "register",
        "remote",
    ),
    ("register-be-there", "Yes - I'll be there. Please register me.", "register", None),
    ("register-virtually", "I'd like to join virtually please.", "register", "remote"),
    ("register-on-site", "Please register me to attend on site.", "register", "in_person"),
    (
        "register-chair",
        "As chair of the DWP network I'd like to register. I'll come in person.",
        "register",
        "in_person",
    ),
    ("register-short", "register me", "register", None),
    (
        "decline-cant-make-it",
        "Sorry, I can't make it this time. Please keep me on the list.",
        "decline",
        None,
    ),
    ("decline-apologies", "Please send my apologies for the next meeting.", "decline", None),
    ("decline-unable", "Unfortunately I'm unable to attend.", "decline", None),
    ("decline-wont", "I won't be able to attend, sorry.", "decline", None),
    (
        "decline-cannot",
        "I cannot attend this one but would like to hear about the next.",
        "decline",
        None,
    ),
    ("decline-not-attending", "Not attending this time, sorry.", "decline", None),
    ("decline-clash", "Sadly I can't come, it clashes with our board.", "decline", None),
    ("decline-have-to", "I have to decline this time, apologies.", "decline", None),
    ("decline-rule-me-out", "Please count me out for March.", "decline", None),
    ("decline-cant-attend", "Can't attend, sorry!", "decline", None),
    ("decline-wont-make", "I won't make it on the day unfortunately.", "decline", None),
    ("decline-apologies-for-absence", "Apologies for absence please.", "decline", None),
    ("leave-unsubscribe", "Please unsubscribe me.", "leave", None),
    ("leave-remove", "Please remove me from the mailing list.", "leave", None),
    ("leave-take-off", "Can you take me off this list? I've moved roles.", "leave", None),
    ("leave-stop", "Please stop sending me these emails.", "leave", None),
    ("leave-network", "I'm leaving the department, please remove me from the list.", "leave", None),
    ("unclear-question-time", "What time does it start?", "unclear", None),
    ("unclear-register-someone", "Can I register someone else from my network?", "unclear", None),
    ("unclear-thanks", "Thanks!", "unclear", None),
    ("unclear-agenda", "Will the agenda be circulated before the meeting?", "unclear", None),
    ("unclear-access", "Is the venue step-free? I use a wheelchair.", "unclear", None),
    ("unclear-mixed", "Please register me. Actually, I can't make it.", "unclear", None),
    ("unclear-deputy", "My deputy will come instead of me, is that ok?", "unclear", None),
    ("unclear-empty", "", "unclear", None),
    ("unclear-forward", "FYI - see below.", "unclear", None),
    (
        "unclear-speaker",
        "I'd be happy to speak about our network's work on pronouns.",
        "unclear",
        None,
    ),
    ("unclear-late", "I might be late, is that a problem?", "unclear", None),
    ("unclear-dietary", "I'm vegan - will there be lunch?", "unclear", None),
    ("unclear-recording", "Will the session be recorded?", "unclear", None),
]

SHAPES = ["outlook", "gmail", "apple", "html-only", "base64", "mobile", "windows-1252"]

QUOTED_ORIGINAL = (
    "Dear network leaders,\n\nThe next Leaders of Networks Forum is on Thursday 12 March.\n"
    "Reply to register, or if you can't attend tell us. To leave the list, unsubscribe here.\n"
)


def _headers(name: str, subject: str, extra: str = "") -> str:
    return (
        f"From: Alex Example <alex.{name}@dept.example.org>\r\nTo: Leaders of Networks Forum "
        f"<{LIST}>\r\n"
        f"Subject: {subject}\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
        f"Message-ID: <{name}@dept.example.org>\r\nMIME-Version: 1.0\r\n{extra}"
    )


def _multipart(text: str, html: str, name: str, subject: str, charset: str = "utf-8") -> bytes:
    boundary = f"_000_{name}_"
    text_qp = quopri.encodestring(text.replace("\n", "\r\n").encode(charset)).decode("ascii")
    html_qp = quopri.encodestring(html.encode(charset)).decode("ascii")
    return (
        _headers(name, subject, f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n')
        + f'\r\n--{boundary}\r\nContent-Type: text/plain; charset="{charset}"\r\n'
        f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{text_qp}\r\n"
        f'--{boundary}\r\nContent-Type: text/html; charset="{charset}"\r\n'
        f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{html_qp}\r\n--{boundary}--\r\n"
    ).encode("ascii")


def shape_message(shape: str, name: str, new_text: str) -> bytes:
    subject = "RE: Leaders of Networks Forum - 12 March"
    if shape == "outlook":
        text = (
            f"{new_text}\n\nKind regards\nAlex\n\n________________________________\n"
            f"From: Leaders of Networks Forum <{LIST}>\nSent: 02 March 2026 09:00\nTo: Alex "
            f"Example\n"
            f"Subject: Leaders of Networks Forum - 12 March\n\n{QUOTED_ORIGINAL}"
        )
        html = (
            f"<html><body><div>{new_text}</div><div>Kind regards<br>Alex</div><div "
            f'id="appendonsend"></div>'
            f'<hr><div id="divRplyFwdMsg"><b>From:</b> Leaders of Networks '
            f"Forum<br>{QUOTED_ORIGINAL}</div>"
            "</body></html>"
        )
        return _multipart(text, html, name, subject)
    if shape == "windows-1252":
        text = (
            f"{new_text}\n\nThanks \u2013 Alex\n\n-----Original Message-----\nFrom: Leaders of "
            f"Networks Forum\n"
            f"\n{QUOTED_ORIGINAL}"
        )
        return _multipart(text, f"<p>{new_text}</p>", name, subject, charset="windows-1252")
    if shape == "gmail":
        text = (
            f"{new_text}\n\nAlex\n\nOn Mon, 2 Mar 2026 at 09:00, Leaders of Networks Forum "
            f"<{LIST}> wrote:\n\n" + "".join(f"> {line}\n" for line in QUOTED_ORIGINAL.splitlines())
        )
        html = (
            f'<div dir="ltr">{new_text}<div><br></div><div>Alex</div></div><br><div '
            f'class="gmail_quote">'
            f'<div class="gmail_attr">On Mon, 2 Mar 2026 at 09:00 Forum wrote:</div><blockquote>'
            f"{QUOTED_ORIGINAL}</blockquote></div>"
        )
        return _multipart(text, html, name, subject)
    if shape == "apple":
        text = (
            f"{new_text}\n\nAlex\n\n> On 2 Mar 2026, at 09:00, Leaders of Networks Forum <{LIST}> "
            f"wrote:\n>\n" + "".join(f"> {line}\n" for line in QUOTED_ORIGINAL.splitlines())
        )
        body = quopri.encodestring(text.replace("\n", "\r\n").encode()).decode("ascii")
        return (
            _headers(
                name,
                "Re: Leaders of Networks Forum - 12 March",
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
                "quoted-printable\r\n",
            )
            + "\r\n"
            + body
        ).encode("ascii")
    if shape == "html-only":
        html = (
            f"<html><head><style>p{{margin:0}}</style></head><body><p>{new_text}</p><p>Alex</p>"
            f'<blockquote type="cite">{QUOTED_ORIGINAL}</blockquote></body></html>'
        )
        return (
            _headers(name, subject, "Content-Type: text/html; charset=utf-8\r\n") + "\r\n" + html
        ).encode()
    if shape == "base64":
        text = (
            f"{new_text}\r\n\r\n--\r\nAlex Example | Chair, DWP LGBT+ Network\r\n"
            "I can't attend Fridays.\r\n"
        )
        body = base64.encodebytes(text.encode()).decode("ascii").replace("\n", "\r\n")
        return (
            _headers(
                name,
                subject,
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n",
            )
            + "\r\n"
            + body
        ).encode("ascii")
    if shape == "mobile":
        text = (
            f"{new_text}\r\n\r\nSent from my iPhone\r\n\r\n"
            "> On 2 Mar 2026, at 09:00, Forum wrote:\r\n> unsubscribe\r\n"
        )
        return (
            _headers(name, "Re: Forum", "Content-Type: text/plain; charset=utf-8\r\n")
            + "\r\n"
            + text
        ).encode()
    raise ValueError(shape)


AUTOMATED: list[tuple[str, str, str]] = [
    (
        "ooo-outlook",
        "automated",
        "Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n"
        "Subject: Automatic reply: Leaders of Networks Forum\r\n",
    ),
    ("ooo-precedence", "automated", "Precedence: bulk\r\nSubject: Out of office\r\n"),
    ("ooo-gmail", "automated", "Auto-Submitted: auto-replied\r\nSubject: Vacation reply\r\n"),
    (
        "list-traffic",
        "automated",
        "List-Id: <other.list.example>\r\nSubject: [Other] newsletter\r\n",
    ),
]


def write() -> None:
    labels: list[str] = ['# name = [expected intent, expected mode or ""]']
    for index, (name, text, intent, mode) in enumerate(CASES):
        shape = SHAPES[index % len(SHAPES)]
        (HERE / f"{name}.eml").write_bytes(shape_message(shape, name, text))
        labels.append(f'"{name}" = ["{intent}", "{mode or ""}", "{shape}"]')
    for name, intent, extra in AUTOMATED:
        raw = (
            f"From: Alex Example <alex.{name}@dept.example.org>\r\nTo: {LIST}\r\n{extra}"
            f"Message-ID: <{name}@dept.example.org>\r\nContent-Type: text/plain; "
            f"charset=utf-8\r\n\r\n"
            "I am out of the office until Monday. Please register me is not what this means.\r\n"
        ).encode()
        (HERE / f"{name}.eml").write_bytes(raw)
        labels.append(f'"{name}" = ["{intent}", "", "automated"]')
    dsn = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.dept.example.org>\r\nTo: "
        "bounces@lists.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: "
        "<dsn-1@mx.dept.example.org>\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nThis is the mail system. Your message could not "
        "be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; "
        "mx.dept.example.org\r\n\r\n"
        "Final-Recipient: rfc822; gone@dept.example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n--B--\r\n"
    )
    (HERE / "dsn-postfix.eml").write_bytes(dsn.encode())
    labels.append('"dsn-postfix" = ["bounce", "", "dsn"]')
    for partstat, intent in (("ACCEPTED", "calendar"), ("DECLINED", "calendar")):
        name = f"calendar-{partstat.lower()}"
        ics = (
            "BEGIN:VCALENDAR\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\n"
            "METHOD:REPLY\r\n"
            "BEGIN:VEVENT\r\nUID:meeting-1@lists.test\r\nSEQUENCE:0\r\nDTSTAMP:20260302T100000Z\r\n"
            f"ATTENDEE;PARTSTAT={partstat};CN=Alex Example:mailto:alex.{name}@dept.example.org\r\n"
            "ORGANIZER:mailto:forum@lists.test\r\nSUMMARY:Leaders of Networks Forum\r\n"
            "END:VEVENT\r\n"
            "END:VCALENDAR\r\n"
        )
        raw = (
            f"From: Alex Example <alex.{name}@dept.example.org>\r\nTo: {LIST}\r\n"
            f"Subject: {'Accepted' if partstat == 'ACCEPTED' else 'Declined'}: Leaders of "
            f"Networks Forum\r\n"
            f"Message-ID: <{name}@dept.example.org>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/alternative; boundary="C"\r\n\r\n'
            "--C\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\r\n"
            f"--C\r\nContent-Type: text/calendar; charset=utf-8; method=REPLY\r\n\r\n{ics}--C--\r\n"
        )
        (HERE / f"{name}.eml").write_bytes(raw.encode())
        labels.append(f'"{name}" = ["{intent}", "{partstat.lower()}", "calendar"]')
    (HERE / "malformed-mime.eml").write_bytes(
        b"From: =?bogus?q?=ZZ?= <alex.malformed@dept.example.org>\r\nTo: forum@lists.test\r\n"
        b"Subject: =?utf-8?b?broken\r\nMessage-ID: <malformed@dept.example.org>\r\n"
        b'Content-Type: multipart/mixed; boundary="never-closed"\r\nContent-Transfer-Encoding: '
        b"base64\r\n\r\n"
        b"--never-closed\r\nContent-Type: text/plain; charset=x-unknown\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"!!!not base64!!!\r\n"
    )
    labels.append('"malformed-mime" = ["unclear", "", "malformed"]')
    (HERE / "labels.toml").write_text("\n".join(labels) + "\n")


if __name__ == "__main__":
    write()
