"""Consultations over real sockets: sent through the worker to an SMTP sink, answered over SMTP in
the shapes Outlook, Gmail and Apple Mail produce, stored as the clean new text, acknowledged in
thread."""

from __future__ import annotations

import csv
import io
import smtplib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import func, select, update

from mailer.domain.consultations import (
    REPLY_SEPARATOR,
    RoleSpec,
    accept_offer,
    answers_csv,
    create_consultation,
    find_answers,
    get_consultation,
    send_consultation,
    volunteers_by_role,
)
from mailer.domain.lists import add_member
from mailer.domain.models import (
    AuditEntry,
    Consultation,
    ConsultationAnswer,
    ConsultationKind,
    InboundIntent,
    InboundMessage,
    InboundStatus,
    OutboxMessage,
    Person,
)
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import make_list
from tests.support.inbound import processed
from tests.support.net import wait_for
from tests.support.servers import Received, RunningService, SmtpSink, runtime_for

QUESTION = "What would you like to gain from this year's **conference**?"
OUTLOOK_DISCLAIMER = (
    "This email and any attachments are confidential and intended solely for the addressee. "
    "If you have received it in error, please tell the sender."
)


def members(database: TestDatabase, *names: str) -> None:
    for name in names:
        with database.sessions() as s:
            add_member(
                s,
                slug="forum",
                email=f"{name}@dept.gov.uk",
                display_name=name.title(),
                actor="test",
            )


def reply(
    sender: str,
    to: str,
    question: Received,
    body: str | None = None,
    *,
    html: str | None = None,
    headers: dict[str, str] | None = None,
    cte: str | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"{sender.split('@')[0].title()} <{sender}>"
    msg["To"] = to
    msg["Subject"] = "RE: " + question.message["Subject"]
    msg["Message-ID"] = f"<{sender.split('@')[0]}-{abs(hash(body or html))}@client.example>"
    msg["In-Reply-To"] = question.message["Message-ID"]
    msg["References"] = question.message["Message-ID"]
    for key, value in (headers or {}).items():
        msg[key] = value
    if body is not None:
        msg.set_content(body, cte=cte) if cte else msg.set_content(body)
    if html is not None:
        if body is None:
            msg.set_content(html, subtype="html", cte=cte) if cte else msg.set_content(
                html, subtype="html"
            )
        else:
            msg.add_alternative(html, subtype="html")
    return msg


def send(config, *messages: EmailMessage) -> None:  # type: ignore[no-untyped-def]
    with smtplib.SMTP(config.inbound.host, config.inbound.port, timeout=10) as client:
        for message in messages:
            client.send_message(message)


def answers(database: TestDatabase) -> list[ConsultationAnswer]:
    with database.sessions() as s:
        return list(s.scalars(select(ConsultationAnswer)))


def test_answers_from_outlook_gmail_and_apple_mail_are_stored_clean(
    database: TestDatabase, tmp_path: Path
) -> None:
    with SmtpSink() as sink:
        config = make_test_config(tmp_path, database.url, delivery=sink.smarthost_settings())
        make_list(database.sessions)
        members(database, "ana", "ben", "cy", "dee")
        with database.sessions() as s:
            c = create_consultation(
                s,
                list_slug="forum",
                title="Conference 2027: your views",
                question_markdown=QUESTION,
                closes_at=datetime.now(UTC) + timedelta(days=7),
                actor="test",
            )
        runtime = runtime_for(config, database)
        with database.sessions() as s:
            assert send_consultation(s, runtime.services, c.id, actor="test") == 4
        with RunningService(runtime, web=False):
            sent = {r.rcpt_tos[0]: r for r in sink.wait_for_count(4)}
            assert all(len(r.rcpt_tos) == 1 for r in sent.values())
            ana_q, ben_q, cy_q, dee_q = (
                sent[f"{n}@dept.gov.uk"] for n in ("ana", "ben", "cy", "dee")
            )
            reply_to = {who: r.message["Reply-To"] for who, r in sent.items()}
            assert len(set(reply_to.values())) == 4  # one reply address each
            assert all(
                a.startswith("forum-answer+") and a.endswith("@lists.test")
                for a in reply_to.values()
            )
            assert not any(who.split("@")[0] in address for who, address in reply_to.items())
            assert "conference" in ana_q.text and "Reply to this email" in ana_q.text

            outlook = reply(
                "ana@dept.gov.uk",
                reply_to["ana@dept.gov.uk"],
                ana_q,
                "I'd like more time for networking between sessions.\r\n\r\nAna\r\n\r\n"
                f"{OUTLOOK_DISCLAIMER}\r\n\r\n________________________________\r\n"
                "From: Leaders of Networks Forum <forum@lists.test>\r\nSent: 24 November 2026 "
                "10:00\r\n"
                "To: Ana <ana@dept.gov.uk>\r\nSubject: Conference 2027: your views\r\n\r\n"
                "What would you like to gain from this year's conference?\r\n",
            )
            # Gmail: multipart/alternative, quote under "On ... wrote:", sent to the list address
            # itself,
            # so only its threading headers say which consultation it answers.
            gmail = reply(
                "ben@dept.gov.uk",
                "forum@lists.test",
                ben_q,
                "Practical sessions on allyship for line managers.\r\n\r\n"
                "On Tue, 24 Nov 2026 at 10:00, Leaders of Networks Forum <forum@lists.test> "
                "wrote:\r\n"
                "> What would you like to gain from this year's conference?\r\n",
                html='<div dir="ltr">Practical sessions on allyship for line managers.</div><br>'
                '<div class="gmail_quote"><div class="gmail_attr">On Tue, 24 Nov 2026 wrote:</div>'
                '<blockquote class="gmail_quote">What would you like to gain?</blockquote></div>',
            )
            # Apple Mail on a phone: HTML only, base64, quoted original in a blockquote.
            apple = reply(
                "cy@dept.gov.uk",
                reply_to["cy@dept.gov.uk"],
                cy_q,
                html="<html><body><div>A session on trans inclusion at work, please.</div>"
                '<div><br></div><div>Sent from my iPhone</div><div><br><blockquote type="cite">'
                "On 24 Nov 2026, at 10:00, Forum wrote:<br>What would you like to "
                "gain?</blockquote>"
                "</div></body></html>",
                cte="base64",
            )
            out_of_office = reply(
                "dee@dept.gov.uk",
                reply_to["dee@dept.gov.uk"],
                dee_q,
                "I am out of the office until Monday.",
                headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
            )
            send(config, outlook, gmail, apple, out_of_office)
            wait_for(lambda: processed(database, 4), message="four replies processed")
            # A second reply from Ben, written below the quoted question, adds to his answer.
            second = reply(
                "ben@dept.gov.uk",
                reply_to["ben@dept.gov.uk"],
                ben_q,
                "> What would you like to gain from this year's conference?\r\n\r\n"
                "Also: a quiet room.\r\n",
            )
            send(config, second)
            wait_for(lambda: processed(database, 5), message="the second reply processed")
            acks = sink.wait_for_count(4 + 4)[4:]

        with database.sessions() as s:
            stored = {a.person.email if a.person else None: a for a in find_answers(s, c.id)}
        assert set(stored) == {"ana@dept.gov.uk", "ben@dept.gov.uk", "cy@dept.gov.uk"}
        # Her sign-off, her own name alone under the answer, is a signature: not part of it.
        assert (
            stored["ana@dept.gov.uk"].text == "I'd like more time for networking between sessions."
        )
        assert stored["ben@dept.gov.uk"].text == (
            "Practical sessions on allyship for line managers."
            + REPLY_SEPARATOR
            + "Also: a quiet room."
        )
        assert stored["ben@dept.gov.uk"].replies == 2
        assert stored["cy@dept.gov.uk"].text == "A session on trans inclusion at work, please."
        assert not any(a.late for a in stored.values())

        # The out-of-office reply is neither stored nor answered; everyone else got a threaded
        # acknowledgement.
        assert sorted(a.rcpt_tos[0] for a in acks) == [
            "ana@dept.gov.uk",
            "ben@dept.gov.uk",
            "ben@dept.gov.uk",
            "cy@dept.gov.uk",
        ]
        ana_ack = next(a for a in acks if a.rcpt_tos == ["ana@dept.gov.uk"]).message
        assert ana_ack["In-Reply-To"] == outlook["Message-ID"]
        assert ana_ack["Auto-Submitted"] == "auto-replied"
        assert ana_ack["Subject"] == "RE: Conference 2027: your views"
        assert "we have your answer" in ana_ack.get_body(("plain",)).get_content()
        with database.sessions() as s:
            ooo = s.scalar(
                select(InboundMessage).where(InboundMessage.mail_from == "dee@dept.gov.uk")
            )
            assert ooo.status is InboundStatus.IGNORED and ooo.intent == "automated"


def test_anonymous_answers_have_no_link_to_the_person_and_late_ones_are_kept(
    database: TestDatabase, tmp_path: Path
) -> None:
    with SmtpSink() as sink:
        config = make_test_config(tmp_path, database.url, delivery=sink.smarthost_settings())
        make_list(database.sessions)
        members(database, "ana", "ben")
        with database.sessions() as s:
            c = create_consultation(
                s,
                list_slug="forum",
                title="Staff survey follow-up",
                anonymous=True,
                question_markdown="What should the network change?",
                closes_at=datetime.now(UTC) + timedelta(days=7),
                actor="test",
            )
        runtime = runtime_for(config, database)
        with database.sessions() as s:
            send_consultation(s, runtime.services, c.id, actor="test")
        with RunningService(runtime, web=False):
            sent = {r.rcpt_tos[0]: r for r in sink.wait_for_count(2)}
            ana_q = sent["ana@dept.gov.uk"]
            assert "Your answer is anonymous" in ana_q.text
            address = ana_q.message["Reply-To"]
            ben_q = sent["ben@dept.gov.uk"]
            ben_address = ben_q.message["Reply-To"]
            assert address != ben_address  # each reply address is its recipient's
            send(
                config,
                reply("ana@dept.gov.uk", address, ana_q, "More visible senior allies."),
                reply("ben@dept.gov.uk", ben_address, ben_q, "Better trans inclusion guidance."),
                reply("ana@dept.gov.uk", address, ana_q, "And a mentoring scheme."),
            )
            wait_for(lambda: processed(database, 3), message="three anonymous replies processed")
            # A second copy of a reply (a client sending again) is still known for one, though
            # its row keeps no Message-ID that could be matched with the acknowledgement's.
            send(config, reply("ana@dept.gov.uk", address, ana_q, "More visible senior allies."))
            wait_for(lambda: processed(database, 4), message="the copy processed")
            with database.sessions() as s:
                copy = s.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
                assert copy.intent is InboundIntent.DUPLICATE
            # Closing: a late reply is kept, marked late, and answered "closed".
            with database.sessions() as s, s.begin():
                s.execute(
                    update(Consultation)
                    .where(Consultation.id == c.id)
                    .values(closes_at=datetime.now(UTC) - timedelta(minutes=1))
                )
            send(
                config,
                reply("ben@dept.gov.uk", ben_address, ben_q, "Sorry, one more: pronouns."),
            )
            wait_for(lambda: processed(database, 5), message="the late reply processed")
            acks = sink.wait_for_count(2 + 4)[2:]

        stored = answers(database)
        # One answer per person, as in a named consultation, but linked to nobody.
        assert sorted(a.text for a in stored) == [
            "Better trans inclusion guidance.\n\n---\n\nSorry, one more: pronouns.",
            "More visible senior allies.\n\n---\n\nAnd a mentoring scheme.",
        ]
        assert all(a.person_id is None for a in stored)
        assert len({a.respondent for a in stored}) == 2
        with database.sessions() as s:
            assert not any(
                a.respondent in (p.email, str(p.id))
                for a in stored
                for p in s.scalars(select(Person))
            )
        # No time of arrival: every answer carries the day the consultation was sent, so answers
        # cannot be lined up with the acknowledgements (which do name their recipient) by time.
        assert len({a.received_at for a in stored}) == 1
        assert (stored[0].received_at.hour, stored[0].received_at.minute) == (0, 0)
        assert [a.late for a in stored if "pronouns" in a.text] == [True]
        with database.sessions() as s:
            # The raw messages the answers came in are gone, and no audit entry names who answered.
            inbound = s.scalars(select(InboundMessage)).all()
            assert all(m.raw == b"" and m.mail_from == "" for m in inbound)
            # Nor their Message-ID (in the acknowledgement's In-Reply-To) or time of arrival.
            acked = {ack.message["In-Reply-To"] for ack in acks}
            assert all(m.message_id not in acked for m in inbound)
            assert all(m.message_id.endswith("@forgotten.invalid>") for m in inbound)
            assert {(m.received_at.hour, m.received_at.minute) for m in inbound} == {(0, 0)}
            assert {(m.processed_at.hour, m.processed_at.second) for m in inbound} == {(0, 0)}
            assert (
                s.scalar(
                    select(func.count())
                    .select_from(AuditEntry)
                    .where(AuditEntry.action == "consultation.answer")
                )
                == 0
            )
        with database.sessions() as s:  # the organisers see the text only
            export = answers_csv(get_consultation(s, c.id), find_answers(s, c.id)).decode(
                "utf-8-sig"
            )
        assert "dept.gov.uk" not in export and "Ana" not in export
        late_ack = next(a for a in acks if "pronouns" not in a.text and "closed" in a.text)
        assert late_ack.rcpt_tos == ["ben@dept.gov.uk"]
        assert "stored without your name" in late_ack.text


def test_a_volunteer_naming_two_roles_is_recorded_under_both(
    database: TestDatabase, tmp_path: Path
) -> None:
    with SmtpSink() as sink:
        config = make_test_config(tmp_path, database.url, delivery=sink.smarthost_settings())
        make_list(database.sessions)
        members(database, "ana", "ben")
        roles = [
            RoleSpec("Project delivery"),
            RoleSpec("Communications", aliases="comms"),
            RoleSpec("Administrative support", aliases="admin"),
            RoleSpec("Policy"),
        ]
        with database.sessions() as s:
            c = create_consultation(
                s,
                list_slug="forum",
                title="Volunteers for the conference",
                kind=ConsultationKind.VOLUNTEERS,
                question_markdown="Can you help?",
                roles=roles,
                actor="test",
            )
        runtime = runtime_for(config, database)
        with database.sessions() as s:
            send_consultation(s, runtime.services, c.id, actor="test")
        with RunningService(runtime, web=False):
            sent = {r.rcpt_tos[0]: r for r in sink.wait_for_count(2)}
            ana_q = sent["ana@dept.gov.uk"]
            assert "/volunteer/" in ana_q.text and "Project delivery" in ana_q.text
            send(
                config,
                reply(
                    "ana@dept.gov.uk",
                    ana_q.message["Reply-To"],
                    ana_q,
                    "Happy to help with comms and with policy work.\r\n\r\n"
                    '=HYPERLINK("http://evil.example")\r\n',
                ),
                reply(
                    "ben@dept.gov.uk",
                    sent["ben@dept.gov.uk"].message["Reply-To"],
                    sent["ben@dept.gov.uk"],
                    "+44 I can help on the day.",
                ),
            )
            wait_for(lambda: processed(database, 2), message="two volunteer replies processed")
            with database.sessions() as s:
                by_role = {
                    rv.role.name: [o.person.email for o in rv.offers]
                    for rv in volunteers_by_role(s, c.id)
                }
            assert by_role == {
                "Project delivery": [],
                "Communications": ["ana@dept.gov.uk"],
                "Administrative support": [],
                "Policy": ["ana@dept.gov.uk"],
            }
            with database.sessions() as s:
                offer = next(o for rv in volunteers_by_role(s, c.id) for o in rv.offers)
            with database.sessions() as s:
                accept_offer(s, runtime.services, offer.id, actor="organiser:1")
            with database.sessions() as s:
                accept_offer(s, runtime.services, offer.id, actor="organiser:1")  # twice: one email
            wait_for(
                lambda: [
                    r for r in sink.received if "You're on the team" in (r.message["Subject"] or "")
                ],
                message="the acceptance email",
            )
        with database.sessions() as s:
            assert (
                s.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.kind == "volunteer_accepted")
                )
                == 1
            )
            ben_ack = s.scalar(
                select(OutboxMessage).where(
                    OutboxMessage.kind == "consultation_ack",
                    OutboxMessage.recipient == "ben@dept.gov.uk",
                )
            )
            assert "could not tell which role" in ben_ack.body_text
        with database.sessions() as s:
            export = answers_csv(get_consultation(s, c.id), find_answers(s, c.id))
        assert export.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(export.decode("utf-8-sig"))))
        assert rows[0] == ["Name", "Email", "Received (UTC)", "Late", "Replies", "Tags", "Answer"]
        cells = [cell for row in rows[1:] for cell in row]
        assert "'+44 I can help on the day." in cells
        assert not any(cell[:1] in "=+-@" for cell in cells if cell)
