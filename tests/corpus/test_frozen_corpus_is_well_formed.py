"""The frozen corpus in tests/corpus/frozen holds together.

The frozen corpus measures how well the service understands mail (see its
README.md). These tests check the corpus itself, never the service: every
message has a label and parses as the mail it claims to be, the labels use
the schema, and the coverage the corpus promises is there.
"""

import re
import tomllib
from collections import Counter
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

FROZEN = Path(__file__).parent / "frozen"

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

LABELS: dict[str, dict[str, Any]] = tomllib.loads(
    (FROZEN / "labels.toml").read_text(encoding="utf-8")
)
NAMES = sorted(path.stem for path in FROZEN.glob("*.eml"))


def raw(name: str) -> bytes:
    return (FROZEN / f"{name}.eml").read_bytes()


def parsed(name: str) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw(name))


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


def test_every_message_has_a_label_and_every_label_a_message() -> None:
    assert set(NAMES) == set(LABELS)


def test_the_corpus_holds_at_least_110_messages() -> None:
    assert len(NAMES) >= 110


@pytest.mark.parametrize("name", NAMES)
def test_a_message_is_raw_mail_with_crlf_line_ends_and_ascii_headers(name: str) -> None:
    data = raw(name)
    assert b"\n" not in data.replace(b"\r\n", b""), "bare LF"
    assert b"\r" not in data.replace(b"\r\n", b""), "bare CR"
    head = data.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))


@pytest.mark.parametrize("name", NAMES)
def test_a_message_parses_and_every_text_part_decodes(name: str) -> None:
    message = parsed(name)
    assert message["Subject"] is not None and message["Date"] is not None
    for part in message.walk():
        if part.get_content_maintype() == "text":
            assert isinstance(part.get_content(), str)


@pytest.mark.parametrize("name", NAMES)
def test_a_message_comes_from_the_member_or_from_one_of_the_departments_systems(name: str) -> None:
    message = parsed(name)
    address = sender(message)
    if MEMBER.fullmatch(address):
        return
    assert SYSTEM.fullmatch(address), address
    assert LABELS[name]["expect"] in {"ignore", "bounce"}
    named = members_named(message)
    assert len(named) == 1, named


def test_no_two_messages_concern_the_same_member() -> None:
    members: Counter[str] = Counter()
    for name in NAMES:
        message = parsed(name)
        address = sender(message)
        if not MEMBER.fullmatch(address):
            (address,) = members_named(message)
        members[address] += 1
    assert [address for address, count in members.items() if count > 1] == []


@pytest.mark.parametrize("name", NAMES)
def test_a_reply_names_only_our_placeholder_message_ids(name: str) -> None:
    message = parsed(name)
    for field in ("In-Reply-To", "References"):
        for msgid in re.findall(r"<[^>]+>", str(message[field] or "")):
            if msgid.endswith("@lists.test>"):
                assert msgid in PLACEHOLDERS, msgid


@pytest.mark.parametrize("name", NAMES)
def test_a_label_uses_only_the_allowed_keys_and_values(name: str) -> None:
    label = LABELS[name]
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


@pytest.mark.parametrize("name", NAMES)
def test_a_label_agrees_with_itself(name: str) -> None:
    label = LABELS[name]
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


@pytest.mark.parametrize("name", [n for n in NAMES if LABELS[n]["expect"] == "bounce"])
def test_a_bounce_is_a_failed_delivery_report_to_the_bounce_address(name: str) -> None:
    message = parsed(name)
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    assert str(message["To"]).strip("<>") == "bounces+0@lists.test"
    actions = [
        b["action"].lower()
        for b in report_fields(message, "message/delivery-status")
        if "action" in b
    ]
    assert "failed" in actions


@pytest.mark.parametrize("name", [n for n in NAMES if "dsn-not-failed" in LABELS[n]["phenomena"]])
def test_a_report_that_is_not_a_failure_says_delayed_delivered_or_relayed(name: str) -> None:
    message = parsed(name)
    assert LABELS[name]["expect"] == "ignore"
    assert message.get_param("report-type") == "delivery-status"
    actions = {
        b["action"].lower()
        for b in report_fields(message, "message/delivery-status")
        if "action" in b
    }
    assert actions and actions <= {"delayed", "delivered", "relayed"}


@pytest.mark.parametrize("name", [n for n in NAMES if "read-receipt" in LABELS[n]["phenomena"]])
def test_a_read_receipt_is_a_disposition_notification(name: str) -> None:
    message = parsed(name)
    assert LABELS[name]["expect"] == "ignore"
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "disposition-notification"
    assert b"\r\nDisposition: " in raw(name)


@pytest.mark.parametrize("name", [n for n in NAMES if "calendar-reply" in LABELS[n]["phenomena"]])
def test_a_calendar_reply_is_an_itip_reply_from_the_sender_for_meeting_one(name: str) -> None:
    message = parsed(name)
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
    assert partstat == expected[LABELS[name]["expect"]]


def test_the_corpus_has_at_least_twelve_client_shapes() -> None:
    assert len({label["client"] for label in LABELS.values()}) >= 12


def test_every_phenomenon_appears_at_least_three_times() -> None:
    seen = Counter(p for label in LABELS.values() for p in label["phenomena"])
    assert {p: seen[p] for p in PHENOMENA if seen[p] < 3} == {}
