"""List-*, Auto-Submitted and threading headers, as mail clients read them."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from mailer.mail.addresses import Addresses, split_recipient
from mailer.mail.headers import auto_reply_headers, list_headers, reply_headers, unsubscribe_headers


def _parsed(headers: dict[str, str]) -> EmailMessage:
    message = EmailMessage()
    for name, value in headers.items():
        message[name] = value
    parsed = message_from_bytes(message.as_bytes(policy=policy.SMTP), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_list_headers_name_the_list_and_where_to_ask_for_help() -> None:
    addresses = Addresses("lists.test")
    headers = _parsed(list_headers(list_name="Leaders <Forum>", slug="forum", addresses=addresses))
    assert (
        headers["List-Id"] == "Leaders (Forum) <forum.lists.test>"
    )  # angle brackets only around the id
    help_address = headers["List-Help"].removeprefix("<mailto:").removesuffix("?subject=help>")
    assert split_recipient(help_address, "lists.test").kind == "request"
    assert headers["Precedence"] == "list"


def test_one_click_unsubscribe_offers_the_https_link_and_the_mailto() -> None:
    mailto = Addresses("lists.test").leave_address("forum", "TOKEN")
    headers = unsubscribe_headers(url="https://convene.test/u/TOKEN", mailto=mailto)
    assert headers == {
        "List-Unsubscribe": "<https://convene.test/u/TOKEN>, "
        "<mailto:forum-leave+TOKEN@lists.test?subject=unsubscribe>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",  # RFC 8058: POST, never a GET
    }
    assert (
        unsubscribe_headers(url="https://convene.test/u/T")["List-Unsubscribe"]
        == "<https://convene.test/u/T>"
    )


def test_a_reply_threads_under_its_message_and_keeps_the_newest_references() -> None:
    references = " ".join(f"<{i}@example.org>" for i in range(30))
    headers = reply_headers("<new@example.org>", references)
    assert headers["In-Reply-To"] == "<new@example.org>"
    kept = headers["References"].split()
    assert len(kept) == 20 and kept[-1] == "<new@example.org>" and kept[0] == "<11@example.org>"
    assert reply_headers("<only@example.org>") == {
        "In-Reply-To": "<only@example.org>",
        "References": "<only@example.org>",
    }


def test_automatic_answers_say_so() -> None:
    assert auto_reply_headers() == {"Auto-Submitted": "auto-replied"}
