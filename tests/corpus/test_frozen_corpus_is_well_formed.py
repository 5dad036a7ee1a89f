"""The labelled corpora in tests/corpus/frozen and tests/corpus/dev hold together.

The frozen corpus measures how well the service understands mail and the
development corpus is what rules are built on; both follow the environment and
label schema of frozen/README.md. These tests check the corpora themselves,
never the service: every message has a label and parses as the mail it claims
to be, the labels use the schema, the coverage each corpus promises is there,
and the two corpora share no message name and no member.
"""

import re
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

EXPECTS = {
    "register",
    "decline",
    "change-mode",
    "leave",
    "join",
    "triage",
    "ignore",
    "bounce",
    "calendar-accept",
    "calendar-decline",
}
SILENT = {"ignore", "bounce", "calendar-accept", "calendar-decline"}
NO_MEETING = {"leave", "join", "ignore", "bounce"}
MODES = {"", "in_person", "remote"}
BEFORES = {"", "in_person", "remote", "declined"}
CLIENTS = {
    "outlook-desktop",
    "outlook-web",
    "outlook-ios",
    "outlook-android",
    "windows-mail",
    "gmail-web",
    "gmail-mobile",
    "gmail-locale",
    "apple-mail",
    "iphone",
    "thunderbird",
    "proton",
    "samsung-email",
    "android-mail",
    "yahoo",
    "zoho",
    "lotus-notes",
    "groupwise",
    "plain-text",
    "html-only",
    "exchange",
    "autoresponder",
    "ticketing",
    "gateway",
    "mta",
}
PHENOMENA = {
    "register-no-mode",
    "register-in-person",
    "register-remote",
    "register-fallback",
    "register-with-question",
    "polite-request",
    "change-mode",
    "decline",
    "decline-with-question",
    "question-only",
    "someone-else",
    "negation",
    "conditional",
    "complaint",
    "leave",
    "join",
    "one-word",
    "subject-only",
    "typo",
    "meeting-2",
    "meeting-unnamed",
    "bottom-post",
    "inline-reply",
    "base64-body",
    "gateway",
    "classification",
    "legal-disclaimer",
    "auto-submitted-header",
    "out-of-office-no-header",
    "read-receipt",
    "ticket-ack",
    "quarantine-notice",
    "dsn-not-failed",
    "dsn-failed",
    "calendar-reply",
}
LABEL_KEYS = {
    "client",
    "about",
    "expect",
    "mode",
    "meeting",
    "before",
    "question",
    "new_text",
    "phenomena",
}
PLACEHOLDERS = {
    "<invitation-1@lists.test>",
    "<invitation-2@lists.test>",
    "<agenda-1@lists.test>",
    "<confirmation-1@lists.test>",
}
MEMBER = re.compile(r"alex\.[a-z0-9-]+@dept\.example\.org")
DSN_PARTS = ("message/delivery-status", "message/disposition-notification")
SYSTEM = re.compile(r"[A-Za-z0-9._+-]+@([a-z0-9-]+\.)*dept\.example\.org")


@dataclass(frozen=True)
class Corpus:
    """One labelled corpus and the coverage it promises."""

    name: str
    directory: Path
    min_messages: int
    min_client_shapes: int
    min_per_client: int

    def labels(self) -> dict[str, dict[str, Any]]:
        return tomllib.loads((self.directory / "labels.toml").read_text(encoding="utf-8"))

    def names(self) -> list[str]:
        return sorted(path.stem for path in self.directory.glob("*.eml"))


HERE = Path(__file__).parent
CORPORA = {
    corpus.name: corpus
    for corpus in (
        Corpus("frozen", HERE / "frozen", min_messages=110, min_client_shapes=12, min_per_client=1),
        Corpus(
            "dev", HERE / "dev", min_messages=170, min_client_shapes=len(CLIENTS), min_per_client=3
        ),
    )
}
LABELS = {corpus.name: corpus.labels() for corpus in CORPORA.values()}
NAMES = {corpus.name: corpus.names() for corpus in CORPORA.values()}


def pairs() -> list[tuple[str, str]]:
    """Every (corpus, message name) of both corpora."""
    return [(corpus, name) for corpus, names in NAMES.items() for name in names]


def messages(where: Callable[[dict[str, Any]], bool] | None = None) -> list[Any]:
    """The pairs as parametrize cases, optionally only those whose label passes `where`."""
    return [
        pytest.param(corpus, name, id=f"{corpus}/{name}")
        for corpus, name in pairs()
        if where is None or where(LABELS[corpus][name])
    ]


def raw(corpus: str, name: str) -> bytes:
    return (CORPORA[corpus].directory / f"{name}.eml").read_bytes()


def parsed(corpus: str, name: str) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw(corpus, name))


def sender(message: EmailMessage) -> str:
    return message["From"].addresses[0].addr_spec


def calendar_text(message: EmailMessage) -> str:
    """The first iTIP object in the message, unfolded (RFC 5545 line folding)."""
    for part in message.walk():
        if part.get_content_type() in ("text/calendar", "application/ics"):
            content = part.get_content()
            text = content.decode("utf-8") if isinstance(content, bytes) else content
            return re.sub(r"\r?\n[ \t]", "", text)
    return ""


def readable(message: EmailMessage) -> str:
    """Every header and every decoded text part, as a person reading the message sees them."""
    pieces: list[str] = []
    for part in message.walk():
        pieces.extend(f"{key}: {value}" for key, value in part.items())
        if part.get_content_maintype() == "text":
            pieces.append(part.get_content())
        elif part.get_content_type() in DSN_PARTS:
            pieces.extend(str(block) for block in part.get_payload())
    return "\n".join(pieces)


def members_named(message: EmailMessage) -> set[str]:
    return set(MEMBER.findall(readable(message)))


def report_fields(message: EmailMessage, content_type: str) -> list[dict[str, str]]:
    """The field blocks of the message's parts of one report type, as dicts."""
    blocks: list[dict[str, str]] = []
    for part in message.walk():
        if part.get_content_type() == content_type:
            for block in part.get_payload():
                assert isinstance(block, Message)
                blocks.append({key.lower(): str(value) for key, value in block.items()})
    return blocks


def member(message: EmailMessage) -> str:
    """The member a message concerns: its sender, or the one member a system's report names."""
    address = sender(message)
    if MEMBER.fullmatch(address):
        return address
    (address,) = members_named(message)
    return address


@pytest.mark.parametrize("corpus", CORPORA)
def test_every_message_has_a_label_and_every_label_a_message(corpus: str) -> None:
    assert set(NAMES[corpus]) == set(LABELS[corpus])


@pytest.mark.parametrize("corpus", CORPORA)
def test_the_corpus_holds_the_number_of_messages_it_promises(corpus: str) -> None:
    assert len(NAMES[corpus]) >= CORPORA[corpus].min_messages


@pytest.mark.parametrize(("corpus", "name"), messages())
def test_a_message_is_raw_mail_with_crlf_line_ends_and_ascii_headers(
    corpus: str, name: str
) -> None:
    data = raw(corpus, name)
    assert b"\n" not in data.replace(b"\r\n", b""), "bare LF"
    assert b"\r" not in data.replace(b"\r\n", b""), "bare CR"
    head = data.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))


@pytest.mark.parametrize(("corpus", "name"), messages())
def test_a_message_parses_and_every_text_part_decodes(corpus: str, name: str) -> None:
    message = parsed(corpus, name)
    assert message["Subject"] is not None and message["Date"] is not None
    for part in message.walk():
        if part.get_content_maintype() == "text":
            assert isinstance(part.get_content(), str)


@pytest.mark.parametrize(("corpus", "name"), messages())
def test_a_message_comes_from_the_member_or_from_one_of_the_departments_systems(
    corpus: str, name: str
) -> None:
    message = parsed(corpus, name)
    address = sender(message)
    if MEMBER.fullmatch(address):
        return
    assert SYSTEM.fullmatch(address), address
    assert LABELS[corpus][name]["expect"] in {"ignore", "bounce"}
    named = members_named(message)
    assert len(named) == 1, named


def test_no_two_messages_in_either_corpus_concern_the_same_member() -> None:
    members: Counter[str] = Counter(member(parsed(corpus, name)) for corpus, name in pairs())
    assert [address for address, count in members.items() if count > 1] == []


def test_no_message_name_is_in_both_corpora() -> None:
    names = Counter(name for _, name in pairs())
    assert [name for name, count in names.items() if count > 1] == []


@pytest.mark.parametrize(("corpus", "name"), messages())
def test_a_reply_names_only_our_placeholder_message_ids(corpus: str, name: str) -> None:
    message = parsed(corpus, name)
    for field in ("In-Reply-To", "References"):
        for msgid in re.findall(r"<[^>]+>", str(message[field] or "")):
            if msgid.endswith("@lists.test>"):
                assert msgid in PLACEHOLDERS, msgid


@pytest.mark.parametrize(("corpus", "name"), messages())
def test_a_label_uses_only_the_allowed_keys_and_values(corpus: str, name: str) -> None:
    label = LABELS[corpus][name]
    assert set(label) == LABEL_KEYS
    assert label["client"] in CLIENTS
    assert label["expect"] in EXPECTS
    assert label["mode"] in MODES
    assert label["meeting"] in (0, 1, 2)
    assert label["before"] in BEFORES
    assert isinstance(label["question"], bool)
    assert isinstance(label["about"], str) and label["about"].strip()
    assert isinstance(label["new_text"], str)
    assert label["phenomena"] and set(label["phenomena"]) <= PHENOMENA


@pytest.mark.parametrize(("corpus", "name"), messages())
def test_a_label_agrees_with_itself(corpus: str, name: str) -> None:
    label = LABELS[corpus][name]
    expect = label["expect"]
    if expect not in ("register", "change-mode"):
        assert label["mode"] == ""
    if expect == "change-mode":
        assert label["mode"] and label["before"] in ("in_person", "remote")
        assert label["mode"] != label["before"]
    if expect in NO_MEETING:
        assert label["meeting"] == 0
    if expect.startswith("calendar-") or "calendar-reply" in label["phenomena"]:
        assert label["meeting"] == 1
    if expect in SILENT:
        assert not label["question"]
    text = label["new_text"]
    assert text == " ".join(text.split()), "whitespace is collapsed"
    quiet = expect in SILENT or {"subject-only", "calendar-reply"} & set(label["phenomena"])
    assert (text == "") == bool(quiet)


@pytest.mark.parametrize(("corpus", "name"), messages(lambda label: label["expect"] == "bounce"))
def test_a_bounce_is_a_failed_delivery_report_to_the_bounce_address(corpus: str, name: str) -> None:
    message = parsed(corpus, name)
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    assert str(message["To"]).strip("<>") == "bounces+0@lists.test"
    actions = [
        b["action"].lower()
        for b in report_fields(message, "message/delivery-status")
        if "action" in b
    ]
    assert "failed" in actions


@pytest.mark.parametrize(
    ("corpus", "name"), messages(lambda label: "dsn-not-failed" in label["phenomena"])
)
def test_a_report_that_is_not_a_failure_says_delayed_delivered_relayed_or_expanded(
    corpus: str, name: str
) -> None:
    message = parsed(corpus, name)
    assert LABELS[corpus][name]["expect"] == "ignore"
    assert message.get_param("report-type") == "delivery-status"
    actions = {
        b["action"].lower()
        for b in report_fields(message, "message/delivery-status")
        if "action" in b
    }
    assert actions and actions <= {"delayed", "delivered", "relayed", "expanded"}


@pytest.mark.parametrize(
    ("corpus", "name"), messages(lambda label: "read-receipt" in label["phenomena"])
)
def test_a_read_receipt_is_a_disposition_notification(corpus: str, name: str) -> None:
    message = parsed(corpus, name)
    assert LABELS[corpus][name]["expect"] == "ignore"
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "disposition-notification"
    assert b"\r\nDisposition: " in raw(corpus, name)


@pytest.mark.parametrize(
    ("corpus", "name"), messages(lambda label: "calendar-reply" in label["phenomena"])
)
def test_a_calendar_reply_is_an_itip_reply_from_the_sender_for_meeting_one(
    corpus: str, name: str
) -> None:
    message = parsed(corpus, name)
    text = calendar_text(message)
    assert "METHOD:REPLY" in text
    assert "UID:meeting-1@lists.test" in text
    (attendee,) = re.findall(r"^ATTENDEE[^\r\n]*", text, re.MULTILINE)
    assert attendee.lower().endswith("mailto:" + sender(message))
    (partstat,) = re.findall(r"PARTSTAT=([A-Z-]+)", attendee)
    expected = {
        "calendar-accept": "ACCEPTED",
        "calendar-decline": "DECLINED",
        "triage": "TENTATIVE",
    }
    assert partstat == expected[LABELS[corpus][name]["expect"]]


@pytest.mark.parametrize("corpus", CORPORA)
def test_the_corpus_has_the_client_shapes_it_promises(corpus: str) -> None:
    seen = Counter(label["client"] for label in LABELS[corpus].values())
    assert len(seen) >= CORPORA[corpus].min_client_shapes
    few = {
        client: count for client, count in seen.items() if count < CORPORA[corpus].min_per_client
    }
    assert few == {}


@pytest.mark.parametrize("corpus", CORPORA)
def test_every_phenomenon_appears_at_least_three_times(corpus: str) -> None:
    seen = Counter(p for label in LABELS[corpus].values() for p in label["phenomena"])
    assert {p: seen[p] for p in PHENOMENA if seen[p] < 3} == {}
