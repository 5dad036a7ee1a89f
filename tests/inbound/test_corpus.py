"""The labelled corpus (tests/corpus): at least 95% understood, and no state change on anything
labelled for a person to read. Every message goes through the real worker step."""

from __future__ import annotations

import tomllib
from pathlib import Path

from sqlalchemy import select

from mailer.domain.models import (
    InboundMessage,
    Person,
    Rsvp,
    RsvpResponse,
    Subscription,
)
from mailer.domain.queue import store_inbound
from mailer.domain.services import Services
from mailer.inbound.process import process_inbound
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
LABELS = tomllib.loads((CORPUS / "labels.toml").read_text())


def test_corpus_is_big_and_varied_enough() -> None:
    assert len(LABELS) >= 60
    shapes = {shape for _, _, shape in LABELS.values()}
    assert {
        "outlook",
        "gmail",
        "apple",
        "html-only",
        "base64",
        "mobile",
        "windows-1252",
        "automated",
        "dsn",
        "calendar",
        "malformed",
    } <= shapes


def test_corpus_accuracy_and_no_changes_on_triage(
    database: TestDatabase, services: Services, capsys
) -> None:  # type: ignore[no-untyped-def]
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    assert meeting.id == 1  # the calendar replies in the corpus name meeting-1@lists.test
    wrong: list[str] = []
    triage_changes: list[str] = []
    for name, (intent, mode, shape) in sorted(LABELS.items()):
        raw = (CORPUS / f"{name}.eml").read_bytes()
        recipient = "bounces+0@lists.test" if intent == "bounce" else "forum@lists.test"
        with database.sessions() as s:
            inbound_id = store_inbound(
                s,
                mail_from="" if shape == "dsn" else f"alex.{name}@dept.example.org",
                rcpt_to=[recipient],
                raw=raw,
            )
        process_inbound(database.sessions, services, inbound_id)
        with database.sessions() as s:
            row = s.get(InboundMessage, inbound_id)
            person = s.scalar(select(Person).where(Person.email == f"alex.{name}@dept.example.org"))
            rsvp = s.scalar(select(Rsvp).where(Rsvp.person_id == person.id)) if person else None
            subscribed = (
                s.scalar(select(Subscription).where(Subscription.person_id == person.id))
                if person
                else None
            )
        got = row.intent
        ok = got == intent
        if ok and intent == "register":
            ok = (
                rsvp is not None
                and rsvp.response is RsvpResponse.ATTENDING
                and (rsvp.mode.value if rsvp.mode else "") == mode
            )
        elif ok and intent == "decline":
            ok = rsvp is not None and rsvp.response is RsvpResponse.DECLINED
        elif ok and intent == "calendar":
            expected = RsvpResponse.ATTENDING if mode == "accepted" else RsvpResponse.DECLINED
            ok = rsvp is not None and rsvp.response is expected
        if not ok:
            wrong.append(
                f"{name} ({shape}): expected {intent}/{mode or '-'}, got {got}/"
                f"{(rsvp.mode.value if rsvp and rsvp.mode else '-') if rsvp else 'no rsvp'}: "
                f"{row.outcome}"
            )
        if intent in ("unclear", "automated") and (rsvp is not None or subscribed is not None):
            triage_changes.append(name)
    accuracy = 1 - len(wrong) / len(LABELS)
    with capsys.disabled():
        print(
            f"\n[corpus, {database.backend}] {len(LABELS) - len(wrong)}/{len(LABELS)} right "
            f"({accuracy:.1%})"
        )
        for line in wrong:
            print("   wrong:", line)
    assert triage_changes == [], (
        f"state changed for messages labelled for a person: {triage_changes}"
    )
    assert accuracy >= 0.95, "\n".join(wrong)
