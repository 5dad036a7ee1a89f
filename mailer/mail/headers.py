"""The headers that say what a message is, built in one place.

- List-Id (RFC 2919) and List-Help (RFC 2369) on every message of a list
  mailing, with ``Precedence: list`` so auto-responders stay quiet;
- List-Unsubscribe with the https one-click URL and the ``-leave+<token>``
  mailto, and List-Unsubscribe-Post (RFC 8058), per recipient;
- ``Auto-Submitted: auto-replied`` (RFC 3834) on answers the service wrote
  by itself, and ``X-Auto-Response-Suppress`` on what is not a mailing;
- In-Reply-To and References (RFC 5322 3.6.4) to thread a reply.

Convene writes no List-Post (members' mail to the list address is read by
the service, not passed on to the list) and no List-Archive (there is none).
"""

from __future__ import annotations

from mailer.mail.addresses import Addresses

AUTO_SUBMITTED = "Auto-Submitted"
#: RFC 3834's value for an automatic answer, which well-behaved responders never answer.
AUTO_REPLIED = "auto-replied"
ONE_CLICK = "List-Unsubscribe=One-Click"
#: Headers whose value is a list of ``<URL>``s (RFC 2369): folded between the URLs, never inside
#: one.
URL_LIST_HEADERS = frozenset(
    {"list-help", "list-unsubscribe", "list-subscribe", "list-post", "list-owner", "list-archive"}
)
#: How many earlier Message-IDs a reply's References keeps (the newest ones).
MAX_REFERENCES = 20


def list_headers(*, list_name: str, slug: str, addresses: Addresses) -> dict[str, str]:
    """What every message of one list carries (List-Unsubscribe is per recipient)."""
    phrase = list_name.translate(str.maketrans("<>", "()"))
    return {
        "List-Id": f"{phrase} <{slug}.{addresses.domain}>",
        "List-Help": f"<mailto:{addresses.request_address(slug)}?subject=help>",
        "Precedence": "list",
    }


def unsubscribe_headers(*, url: str, mailto: str | None = None) -> dict[str, str]:
    """One-click unsubscribe (RFC 8058): ``url`` takes a POST, ``mailto`` (our -leave+token
    address) a message; both carry the recipient's own token."""
    value = f"<{url}>" + (f", <mailto:{mailto}?subject=unsubscribe>" if mailto else "")
    return {"List-Unsubscribe": value, "List-Unsubscribe-Post": ONE_CLICK}


def auto_reply_headers() -> dict[str, str]:
    return {AUTO_SUBMITTED: AUTO_REPLIED}


#: Asks Exchange and Outlook not to send out-of-office and other automatic replies to a message.
SUPPRESS_AUTO_RESPONSES = ("X-Auto-Response-Suppress", "OOF, AutoReply")


def reply_headers(message_id: str, references: str = "") -> dict[str, str]:
    """Threading under ``message_id``, whose own References were ``references``."""
    refs = " ".join(part for part in (references, message_id) if part).split()
    return {"In-Reply-To": message_id, "References": " ".join(refs[-MAX_REFERENCES:])}
