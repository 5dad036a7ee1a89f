"""Runs a labelled corpus (tests/corpus/dev, tests/corpus/frozen) through the real service and
scores what it did against the labels.

The environment is the one ``tests/corpus/frozen/README.md`` describes: the
list *Leaders of Networks Forum* (``forum@lists.test``), a March and a June
meeting (hybrid, 14:00-16:00 London time), and one member per message with
the answer its label gives as ``before``. Each member is sent the messages
the corpus answers (both invitations, the March agenda, a confirmation) and
the placeholders in the raw bytes are replaced with their real Message-IDs
and return path. The meetings are on the corpus's days and months in the
next year in which both are still to come, so that dates written in the
messages ("11 June") name them; their capacity is large enough that no
registration in the corpus meets a full meeting (places are tested
elsewhere). Fresh messages (replying to nothing of ours) carry our MTA's
``Authentication-Results:`` with an aligned DMARC pass, as the README
allows, so that a service which asks for proof of the mailbox can act on
them.

Every message is sent over real SMTP to ``convene smtp`` and handled by a
real worker; then the database and the outbox say what happened.
"""

from __future__ import annotations

import re
import smtplib
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.utils import getaddresses
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from mailer.config import Config
from mailer.domain.invitations import send_invitations
from mailer.domain.lists import add_member, create_list
from mailer.domain.meetings import create_meeting
from mailer.domain.models import (
    AttendanceMode,
    BounceEvent,
    InboundMessage,
    InboundStatus,
    Meeting,
    OutboxMessage,
    Person,
    Rsvp,
    RsvpResponse,
    Subscription,
    SubscriptionStatus,
)
from mailer.domain.outbox import enqueue, list_envelope
from mailer.domain.rsvp import record_rsvp
from mailer.domain.schedules import send_details
from mailer.domain.services import Services
from tests.support.databases import TestDatabase
from tests.support.net import wait_for

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
AUTHSERV_ID = "mx.lists.test"
#: ``[inbound] reply_languages`` of the environment: English and Welsh, as a UK public body reads,
#: and the two languages of European colleagues' clients met most.
REPLY_LANGUAGES = "en,cy,fr,de"


def corpus_inbound_settings() -> dict[str, str]:
    """The ``[inbound]`` settings a corpus run uses."""
    return {"authserv_id": AUTHSERV_ID, "reply_languages": REPLY_LANGUAGES}


#: Labels whose messages change a member's record when understood as labelled.
CHANGES_STATE = {
    "register",
    "decline",
    "change-mode",
    "leave",
    "join",
    "calendar-accept",
    "calendar-decline",
}


@dataclass(frozen=True)
class Label:
    name: str
    client: str
    expect: str
    mode: str
    meeting: int
    before: str
    question: bool
    new_text: str
    phenomena: tuple[str, ...]
    #: The member the message concerns: its From:, or the one a report names.
    email: str
    raw: bytes


def load_labels(part: str) -> list[Label]:
    """The labels of ``tests/corpus/<part>``, by message name."""
    labels = tomllib.loads((CORPUS / part / "labels.toml").read_text())
    result = []
    for name, v in sorted(labels.items()):
        raw = (CORPUS / part / f"{name}.eml").read_bytes()
        member = _MEMBER.search(raw) or _MEMBER.search(_decoded(raw))
        assert member is not None, f"{part}/{name} names no member"
        result.append(
            Label(
                name,
                v["client"],
                v["expect"],
                v["mode"],
                v["meeting"],
                v["before"],
                v["question"],
                v["new_text"],
                tuple(v["phenomena"]),
                member.group(0).decode().lower(),
                raw,
            )
        )
    return result


def _decoded(raw: bytes) -> bytes:
    """Every part of a message decoded (base64, quoted-printable), for finding an address in."""
    message = message_from_bytes(raw, policy=policy.compat32)
    return b"\n".join(
        part.get_payload(decode=True) or b"" for part in message.walk() if not part.is_multipart()
    )


_MEMBER = re.compile(rb"alex\.[a-z0-9.-]+@dept\.example\.org", re.IGNORECASE)


@dataclass
class Result:
    label: Label
    right: bool
    wrong_change: bool
    got: str
    new_text_right: bool
    new_text: str


@dataclass
class Score:
    results: list[Result] = field(default_factory=list)

    @property
    def right(self) -> int:
        return sum(r.right for r in self.results)

    @property
    def wrong_changes(self) -> list[Result]:
        return [r for r in self.results if r.wrong_change]

    @property
    def new_text_right(self) -> int:
        return sum(r.new_text_right for r in self.results)

    def share(self) -> float:
        return self.right / len(self.results) if self.results else 0.0

    def report(self, title: str) -> str:
        wrong = [r for r in self.results if not r.right]
        lines = [
            f"[{title}] {self.right}/{len(self.results)} as labelled ({self.share():.1%}); "
            f"wrong state changes: {len(self.wrong_changes)}; new text as labelled: "
            f"{self.new_text_right}/{len(self.results)}",
            "by expectation: "
            + ", ".join(
                f"{k} {v}/{n}"
                for k, n in sorted(Counter(r.label.expect for r in self.results).items())
                for v in [sum(r.right for r in self.results if r.label.expect == k)]
            ),
        ]
        lines += [
            f"  wrong: {r.label.name}: expected {_expected(r.label)}, got {r.got}" for r in wrong
        ]
        return "\n".join(lines)


def _expected(label: Label) -> str:
    parts = [label.expect]
    if label.mode:
        parts.append(label.mode)
    if label.meeting:
        parts.append(f"meeting {label.meeting}")
    if label.question:
        parts.append("question")
    return " ".join(parts)


def _next_year_with_both(now: datetime) -> int:
    year = now.year + 1 if now.month >= 3 else now.year
    while datetime(year, 3, 12, tzinfo=UTC) <= now:
        year += 1
    return year


def set_up(database: TestDatabase, services: Services, labels: list[Label]) -> tuple[int, int]:
    """The list, the two meetings and one member per label; returns the meetings' ids."""
    london = ZoneInfo("Europe/London")
    year = _next_year_with_both(datetime.now(UTC))
    with database.sessions() as s:
        create_list(s, slug="forum", name="Leaders of Networks Forum", actor="corpus")
    ids = []
    for month, day, title in ((3, 12, "March"), (6, 11, "June")):
        with database.sessions() as s:
            meeting = create_meeting(
                s,
                list_slug="forum",
                title=f"Leaders of Networks Forum – {title}",
                starts_at=datetime(year, month, day, 14, tzinfo=london).astimezone(UTC),
                ends_at=datetime(year, month, day, 16, tzinfo=london).astimezone(UTC),
                format="hybrid",
                venue="Room 4.12, 10 Example Square, London",
                dial_in="https://teams.example.invalid/forum",
                capacity=10_000,
                rsvp_deadline=None,
                status="published",
                actor="corpus",
            )
            ids.append(meeting.id)
    with database.sessions() as s:
        for label in labels:
            add_member(s, slug="forum", email=label.email, actor="corpus")
        for meeting_id in ids:
            send_invitations(s, services, meeting_id, actor="corpus")
    for label in labels:
        if label.before:
            meeting_id = ids[(label.meeting or 1) - 1]
            with database.sessions() as s:
                _answer(s, services, meeting_id, label.email, label.before)
    return ids[0], ids[1]


def _answer(s, services: Services, meeting_id: int, email: str, answer: str) -> None:  # type: ignore[no-untyped-def]
    record_rsvp(
        s,
        services,
        meeting_id=meeting_id,
        email=email,
        response=RsvpResponse.DECLINED if answer == "declined" else RsvpResponse.ATTENDING,
        mode=None if answer == "declined" else AttendanceMode(answer),
        source="panel",
    )


def prepared(
    database: TestDatabase, services: Services, label: Label, raw: bytes, meetings: tuple[int, int]
) -> tuple[bytes, str, str]:
    """The message as it would reach us for this member (placeholders replaced): raw bytes,
    envelope sender and recipient."""
    ours: dict[bytes, str] = {}
    with database.sessions() as s:
        person = s.scalar(select(Person).where(Person.email == label.email))
        assert person is not None
        for number, meeting_id in enumerate(meetings, start=1):
            ours[f"<invitation-{number}@lists.test>".encode()] = _sent(
                s, person.id, "invitation", meeting_id
            )
        if b"<agenda-1@lists.test>" in raw:
            meeting = s.get(Meeting, meetings[0])
            rsvp = s.scalar(
                select(Rsvp).where(Rsvp.person_id == person.id, Rsvp.meeting_id == meetings[0])
            ) or Rsvp(meeting_id=meetings[0], person_id=person.id, mode=AttendanceMode.IN_PERSON)
            send_details(s, services, meeting, person, rsvp)  # type: ignore[arg-type]
            s.commit()
            ours[b"<agenda-1@lists.test>"] = _sent(s, person.id, "meeting_details", meetings[0])
    if b"<confirmation-1@lists.test>" in raw:  # sent as it was, without changing the answer
        with database.sessions() as s, s.begin():
            meeting = s.get(Meeting, meetings[0])
            person = s.get(Person, person.id)
            enqueue(
                s,
                services,
                kind="rsvp_confirmation",
                person=person,  # type: ignore[arg-type]
                sender=list_envelope(services, meeting.mailing_list),  # type: ignore[union-attr]
                context={
                    "meeting": meeting,
                    "response": "attending",
                    "mode": "in_person",
                    "links": services.links.rsvp_urls(person, meeting),  # type: ignore[arg-type]
                    "previous": None,
                    "waitlisted": False,
                },
            )
        with database.sessions() as s:
            ours[b"<confirmation-1@lists.test>"] = _sent(
                s, person.id, "rsvp_confirmation", meetings[0]
            )
    with database.sessions() as s:
        return_path = s.scalar(
            select(OutboxMessage.sender).where(
                OutboxMessage.message_id == ours[b"<invitation-1@lists.test>"]
            )
        )
    for placeholder, message_id in ours.items():
        raw = raw.replace(placeholder, message_id.encode())
        raw = raw.replace(placeholder[1:-1], message_id[1:-1].encode())  # cite="mid:..."
    raw = raw.replace(b"bounces+0@lists.test", return_path.encode())
    message = message_from_bytes(raw, policy=policy.compat32)
    to = [a for _, a in getaddresses(message.get_all("To", [])) if a.endswith("@lists.test")]
    recipient = to[0] if to else "forum@lists.test"
    sender = "" if label.client == "mta" else label.email
    if not message.get("In-Reply-To"):
        raw = (
            f"Authentication-Results: {AUTHSERV_ID}; dkim=pass header.d=dept.example.org; "
            "dmarc=pass (p=none) header.from=dept.example.org\r\n"
        ).encode() + raw
    return raw, sender, recipient


def _sent(s, person_id: int, kind: str, meeting_id: int) -> str:  # type: ignore[no-untyped-def]
    message_id = s.scalar(
        select(OutboxMessage.message_id)
        .where(
            OutboxMessage.person_id == person_id,
            OutboxMessage.kind == kind,
            OutboxMessage.meeting_id == meeting_id,
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    assert message_id, (person_id, kind, meeting_id)
    return message_id


def send_all(config: Config, messages: list[tuple[bytes, str, str]]) -> None:
    with smtplib.SMTP(config.inbound.host, config.inbound.port, timeout=30) as client:
        for raw, sender, recipient in messages:
            client.sendmail(sender, [recipient], raw)


def all_handled(database: TestDatabase, count: int) -> bool:
    finished = [
        InboundStatus.DONE,
        InboundStatus.TRIAGE,
        InboundStatus.IGNORED,
        InboundStatus.FAILED,
    ]
    with database.sessions() as s:
        done = s.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.status.in_(finished))
        )
    return (done or 0) >= count


def run_corpus(database: TestDatabase, services: Services, config: Config, part: str) -> Score:
    """Set up, send every message of ``tests/corpus/<part>`` over SMTP, wait, score."""
    labels = load_labels(part)
    meetings = set_up(database, services, labels)
    before = _states(database, labels, meetings)
    messages = [prepared(database, services, label, label.raw, meetings) for label in labels]
    with database.sessions() as s:
        sent_before = s.scalar(select(func.max(OutboxMessage.id))) or 0
    send_all(config, messages)
    wait_for(lambda: all_handled(database, len(labels)), timeout=600, message="corpus handled")
    after = _states(database, labels, meetings)
    score = Score()
    with database.sessions() as s:
        # Sent one after another on one connection: stored in that order.
        rows = list(s.scalars(select(InboundMessage).order_by(InboundMessage.id)))
        assert len(rows) == len(labels), (len(rows), len(labels))
        for label, inbound in zip(labels, rows, strict=True):
            replies = list(
                s.scalars(
                    select(OutboxMessage.kind).where(
                        OutboxMessage.recipient == label.email, OutboxMessage.id > sent_before
                    )
                )
            )
            score.results.append(
                _judge(label, before[label.name], after[label.name], inbound, replies, meetings)
            )
    return score


@dataclass(frozen=True)
class MemberState:
    answers: dict[int, tuple[str, str]]  # meeting number -> (response, mode)
    subscribed: bool
    bounces: int


def _states(
    database: TestDatabase, labels: list[Label], meetings: tuple[int, int]
) -> dict[str, MemberState]:
    number = {meeting_id: n for n, meeting_id in enumerate(meetings, start=1)}
    states = {}
    with database.sessions() as s:
        for label in labels:
            person = s.scalar(select(Person).where(Person.email == label.email))
            assert person is not None
            answers = {
                number[r.meeting_id]: (r.response.value, r.mode.value if r.mode else "")
                for r in s.scalars(select(Rsvp).where(Rsvp.person_id == person.id))
            }
            subscription = s.scalar(select(Subscription).where(Subscription.person_id == person.id))
            bounces = s.scalar(
                select(func.count())
                .select_from(BounceEvent)
                .where(BounceEvent.person_id == person.id)
            )
            states[label.name] = MemberState(
                answers,
                subscription is not None and subscription.status is SubscriptionStatus.ACTIVE,
                bounces or 0,
            )
    return states


def _normalised(text: str) -> str:
    return " ".join(text.replace("’", "'").split()).strip()


def _judge(
    label: Label,
    before: MemberState,
    after: MemberState,
    inbound: InboundMessage | None,
    replies: list[str],
    meetings: tuple[int, int],
) -> Result:
    """Whether what happened is what the label says, and whether anything changed that it does
    not expect."""
    changed = before != after
    got = _what_happened(before, after, inbound, replies)
    expect = label.expect
    wanted_answer = {
        "register": "attending",
        "change-mode": "attending",
        "calendar-accept": "attending",
        "decline": "declined",
        "calendar-decline": "declined",
    }.get(expect)
    if inbound is None:
        right, wrong_change = False, changed
    elif wanted_answer is not None and (label.meeting or expect.startswith("calendar")):
        meeting = label.meeting or 1
        answer = after.answers.get(meeting)
        state_right = (
            answer is not None
            and answer[0] == wanted_answer
            and (not label.mode or answer[1] == label.mode)
            and {m: a for m, a in after.answers.items() if m != meeting}
            == {m: a for m, a in before.answers.items() if m != meeting}
            and after.subscribed == before.subscribed
        )
        right = state_right
        if expect == "register" and not label.mode:  # asked back how they will attend
            right = right and "registration_reply" in replies
        if label.question:  # and the question left for an organiser
            right = right and inbound.status is InboundStatus.TRIAGE
        wrong_change = changed and not state_right
    elif wanted_answer is not None:  # meeting 0: ask which meeting, change nothing
        right = not changed and "which_meeting" in replies
        wrong_change = changed
    elif expect == "leave":
        left = before.subscribed and not after.subscribed and before.answers == after.answers
        # Or, for a request the service cannot prove came from the mailbox, the owner was sent
        # the link that does it, and nothing changed yet.
        right = left or (not changed and "leave_confirm" in replies)
        wrong_change = changed and not left
    elif expect == "join":
        right = after.subscribed and before.answers == after.answers and (inbound.intent == "join")
        wrong_change = before.answers != after.answers
    elif expect == "triage":
        right = not changed and inbound.status is InboundStatus.TRIAGE
        wrong_change = changed
    elif expect == "ignore":
        right = not changed and not replies and inbound.status is InboundStatus.IGNORED
        wrong_change = changed
    elif expect == "bounce":
        right = after.bounces > before.bounces and before.answers == after.answers
        wrong_change = before.answers != after.answers
    else:
        raise AssertionError(f"unknown label {expect}")
    new_text = inbound.new_text if inbound is not None else ""
    return Result(
        label,
        bool(right),
        bool(wrong_change),
        got,
        _normalised(new_text) == _normalised(label.new_text),
        new_text,
    )


def _what_happened(
    before: MemberState, after: MemberState, inbound: InboundMessage | None, replies: list[str]
) -> str:
    if inbound is None:
        return "no inbound row found"
    parts = [f"{inbound.status.value}/{inbound.intent or '-'}"]
    if before.answers != after.answers:
        parts.append(f"answers {before.answers} -> {after.answers}")
    if before.subscribed != after.subscribed:
        parts.append("left" if before.subscribed else "joined")
    if after.bounces != before.bounces:
        parts.append("bounce recorded")
    if replies:
        parts.append("replied " + ",".join(replies))
    parts.append(f"({inbound.outcome})")
    return " ".join(parts)


def json_summary(score: Score) -> dict[str, Any]:
    return {
        "messages": len(score.results),
        "as_labelled": score.right,
        "share": round(score.share(), 4),
        "wrong_state_changes": len(score.wrong_changes),
        "new_text_as_labelled": score.new_text_right,
        "wrong": [r.label.name for r in score.results if not r.right],
    }
