"""Which Authentication-Results header is believed: the topmost one in our MTA's name, only."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from mailer.mail.authresults import dmarc_pass


def message(*headers: str) -> object:
    raw = "".join(f"{h}\r\n" for h in headers) + "From: a@dept.example.org\r\n\r\nhi\r\n"
    return message_from_bytes(raw.encode(), policy=policy.default)


@pytest.mark.parametrize(
    ("headers", "believed"),
    [
        (["Authentication-Results: mx.ours.test; dmarc=pass header.from=dept.example.org"], True),
        # RFC 8601 version number after the id, folded, mixed case
        (
            [
                "Authentication-Results: MX.Ours.Test 1;\r\n spf=pass;\r\n"
                " dmarc=pass (p=reject) header.from=Dept.Example.Org"
            ],
            True,
        ),
        (["Authentication-Results: mx.ours.test; dmarc=fail header.from=dept.example.org"], False),
        # not aligned: a pass for another domain
        (["Authentication-Results: mx.ours.test; dmarc=pass header.from=example.org"], False),
        # someone else's verdict counts for nothing
        (["Authentication-Results: mx.other.test; dmarc=pass header.from=dept.example.org"], False),
        # a forged pass below our MTA's real fail
        (
            [
                "Authentication-Results: mx.ours.test; dmarc=fail header.from=dept.example.org",
                "Authentication-Results: mx.ours.test; dmarc=pass header.from=dept.example.org",
            ],
            False,
        ),
        # our MTA said nothing about DMARC; a lower header in its name is still not believed
        (
            [
                "Authentication-Results: mx.ours.test; spf=pass smtp.mailfrom=dept.example.org",
                "Authentication-Results: mx.ours.test; dmarc=pass header.from=dept.example.org",
            ],
            False,
        ),
        # other MTAs' headers above ours do not hide it
        (
            [
                "Authentication-Results: mx.other.test; dmarc=fail header.from=dept.example.org",
                "Authentication-Results: mx.ours.test; dmarc=pass header.from=dept.example.org",
            ],
            True,
        ),
        ([], False),
    ],
)
def test_the_topmost_header_in_our_name_decides(headers: list[str], believed: bool) -> None:
    assert dmarc_pass(message(*headers), "mx.ours.test", "a@dept.example.org") is believed


def test_no_authserv_id_believes_nothing() -> None:
    header = "Authentication-Results: ; dmarc=pass header.from=dept.example.org"
    assert not dmarc_pass(message(header), "", "a@dept.example.org")


@pytest.mark.parametrize(
    "forged",
    [
        # an encoded word in the id: not our id as our MTA's filter sees it
        "Authentication-Results: =?us-ascii?q?mx.ours.test?=;"
        " dmarc=pass header.from=dept.example.org",
        "Authentication-Results: =?utf-8?b?bXgub3Vycy50ZXN0?=;"
        " dmarc=pass header.from=dept.example.org",
        # a verdict's words inside another method's value, a comment, or a quoted string
        "Authentication-Results: mx.ours.test; spf=pass"
        " smtp.mailfrom=dmarc=pass.header.from=dept.example.org@evil.example;"
        " dmarc=fail header.from=dept.example.org",
        "Authentication-Results: mx.ours.test; spf=none"
        " (helo=dmarc=pass header.from=dept.example.org) smtp.helo=x;"
        " dmarc=none header.from=dept.example.org",
        "Authentication-Results: mx.ours.test; x-y=dmarc=pass header.from=dept.example.org",
        'Authentication-Results: mx.ours.test; spf=pass smtp.mailfrom="a;dmarc=pass'
        ' header.from=dept.example.org"@evil.example',
        "Authentication-Results: mx.ours.test; dmarc=pass header.from=sub.dept.example.org",
        "Authentication-Results: mx.ours.test; dmarc=pass policy.dmarc=pass",
    ],
)
def test_a_verdict_must_be_our_mtas_own_dmarc_result(forged: str) -> None:
    assert not dmarc_pass(message(forged), "mx.ours.test", "a@dept.example.org")
