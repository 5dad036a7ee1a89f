"""Property-based: random and mangled MIME never makes parsing, classifying or bounce reading
raise."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailer.inbound.dsn import read_dsn
from mailer.inbound.intents import classify
from mailer.mail.read import parse_message

HEADER_NAMES = [
    "From",
    "To",
    "Subject",
    "Message-ID",
    "References",
    "Content-Type",
    "Content-Transfer-Encoding",
    "MIME-Version",
    "Auto-Submitted",
    "Precedence",
    "Authentication-Results",
    "List-Id",
    "Date",
    "X-Auto-Response-Suppress",
]
CONTENT_TYPES = [
    "text/plain",
    "text/html",
    "multipart/alternative",
    "multipart/mixed",
    "multipart/report",
    "message/delivery-status",
    "message/rfc822",
    "text/calendar",
    "application/octet-stream",
    "bogus",
]
CHARSETS = ["utf-8", "windows-1252", "iso-8859-1", "koi8-r", "x-unknown", "", "utf-7", "gb2312"]
ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "binary", "garbage"]

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)
raw_bytes = st.binary(max_size=400)


@st.composite
def mime_part(draw, depth: int = 0) -> bytes:  # type: ignore[no-untyped-def]
    ctype = draw(st.sampled_from(CONTENT_TYPES))
    boundary = draw(st.text(alphabet="abcXYZ019'()+_,-./:=? ", min_size=0, max_size=30))
    charset = draw(st.sampled_from(CHARSETS))
    headers = [
        f'Content-Type: {ctype}; charset={charset}; boundary="{boundary}"',
        f"Content-Transfer-Encoding: {draw(st.sampled_from(ENCODINGS))}",
    ]
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from(HEADER_NAMES))
        value = draw(
            st.one_of(
                text,
                st.sampled_from(
                    [
                        "=?utf-8?b?Zm9v?=",
                        "=?bogus?q?=ZZ?=",
                        "<>",
                        '"a" <@>',
                        "auto-replied",
                        "bulk",
                        "x; dmarc=pass header.from=",
                    ]
                ),
            )
        )
        headers.append(f"{name}: {value}")
    head = "\r\n".join(headers).encode("utf-8", "surrogateescape")
    if ctype.startswith("multipart") and depth < 3:
        children = draw(st.lists(mime_part(depth + 1), max_size=3))
        sep = b"--" + boundary.encode("utf-8", "replace")
        body = b"".join(sep + b"\r\n" + child + b"\r\n" for child in children)
        if draw(st.booleans()):
            body += sep + b"--\r\n"
    else:
        body = draw(st.one_of(raw_bytes, text.map(lambda t: t.encode("utf-8"))))
    return head + b"\r\n" + draw(st.sampled_from([b"\r\n", b"\n", b""])) + body


# 10,000 cases in all: two shards of 3,500 mangled MIME messages (separate test items, so they run
# in
# parallel) and 3,000 of random bytes. The time limit only guards against a hang: how long these
# take
# depends on the machine and what else it runs.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("shard", [1, 2])
@settings(max_examples=3500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=mime_part())
def test_mangled_mime_never_raises(shard: int, raw: bytes) -> None:
    parsed = parse_message(raw, "someone@example.org", "mx.lists.test")
    classify(parsed.new_text, parsed.subject)
    read_dsn(raw)


@pytest.mark.timeout(900)
@settings(max_examples=3000, deadline=None)
@given(raw_bytes, st.sampled_from(["", "<>", "MAILER-DAEMON@x", "a@b"]))
def test_random_bytes_never_raise(raw: bytes, envelope_from: str) -> None:
    parsed = parse_message(raw, envelope_from)
    classify(parsed.new_text, parsed.subject)
    read_dsn(raw)
