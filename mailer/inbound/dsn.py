"""Reading delivery status notifications (RFC 3464) that come back to our VERP address.

VERP already tells us which message (and so which recipient) the report is
about; the DSN has to say what happened. Each per-recipient block has an
``Action`` (RFC 3464 §2.3.3): ``failed`` (not delivered, no more attempts),
``delayed`` (still trying), ``delivered``, ``relayed`` (passed on where no
further report will come) or ``expanded`` (delivered to a list or alias).
Only ``failed`` is a bounce; the others are reports about a message still on
its way, or there. The ``Status`` (§2.3.4) says whether a failure is
permanent (5.x.x: a hard bounce) or persistent-transient (4.x.x, as when a
mailbox stayed full until the MTA gave up: a soft one).

Reports in other shapes (qmail's, Exchange 2003's, ...) are read by
flufl.bounce, then by any status code in the text; what none of them
recognises, such as an out-of-office reply sent to the return path, is no
failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, message_from_string, policy
from email.message import Message

from flufl.bounce import all_failures

from mailer.domain.models import BounceKind

_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
_REPORT_TYPES = ("message/delivery-status", "message/global-delivery-status")
#: RFC 3464 §2.3.3 action values.
ACTIONS = frozenset({"failed", "delayed", "delivered", "relayed", "expanded"})
#: What a report with no (or an unknown) Action means, by its status code's class (§2.3.4).
_ACTION_OF_CLASS = {"2": "delivered", "4": "delayed", "5": "failed"}


@dataclass(frozen=True)
class DeliveryStatus:
    kind: BounceKind
    status: str
    diagnostic: str
    #: The RFC 3464 Action reported (or read from another shape); "" when nothing says.
    action: str = ""

    @property
    def failed(self) -> bool:
        """Whether the message was not delivered and will not be: the only report that counts
        towards suspending a member."""
        return self.action == "failed"


def read_dsn(raw: bytes) -> DeliveryStatus:
    """The most serious status reported in a delivery report: a failure before a delay, a delay
    before a delivery; a permanent failure first."""
    message = message_from_bytes(raw, policy=policy.compat32)
    found: list[DeliveryStatus] = []
    for part in message.walk():
        if part.get_content_type() not in _REPORT_TYPES:
            continue
        blocks = _blocks(part)
        for block in blocks[1:] if len(blocks) > 1 else blocks:
            if block.get("Action") or block.get("Status"):
                found.append(_from_fields(block))
    if not found:
        return _other_shape(message)
    return min(found, key=_severity)


def _blocks(part: Message) -> list[Message]:
    """The field blocks of a delivery-status part: per message first, then one per recipient.

    The parser splits ``message/delivery-status`` into blocks itself; any other
    ``message/*`` part, such as the UTF-8 form (RFC 6533), it reads as one
    message whose body holds the blocks after the first, split here.
    """
    payload = part.get_payload()
    blocks = [b for b in payload if isinstance(b, Message)] if isinstance(payload, list) else []
    if part.get_content_type() == "message/delivery-status" or len(blocks) != 1:
        return blocks
    rest = blocks[0].get_payload()
    if not isinstance(rest, str) or not rest.strip():
        return blocks
    chunks = re.split(r"\r?\n[ \t]*\r?\n", rest.strip())
    return blocks + [message_from_string(c, policy=policy.compat32) for c in chunks if c.strip()]


def _severity(status: DeliveryStatus) -> tuple[int, int]:
    order = ("failed", "delayed", "relayed", "expanded", "delivered")
    rank = order.index(status.action) if status.action in order else len(order)
    return rank, 0 if status.kind is BounceKind.HARD else 1


def _from_fields(block: Message) -> DeliveryStatus:
    """One per-recipient block (RFC 3464 §2.3); a comment after the action is allowed."""
    words = str(block.get("Action", "")).strip().lower().split()
    status = str(block.get("Status", "")).strip().split(" ")[0]
    diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
    action = words[0] if words and words[0] in ACTIONS else _ACTION_OF_CLASS.get(status[:1], "")
    permanent = action == "failed" and not status.startswith("4")
    return DeliveryStatus(
        BounceKind.HARD if permanent else BounceKind.SOFT, status, diagnostic[:500], action
    )


def _other_shape(message: Message) -> DeliveryStatus:
    """Not an RFC 3464 report: flufl.bounce knows the shapes of many non-standard bounces."""
    text = _text_of(message).strip()
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # a bounce detector must never stop the worker
        temporary, permanent = frozenset(), frozenset()
    if permanent:
        return DeliveryStatus(BounceKind.HARD, "", text[:500], "failed")
    if temporary:
        return DeliveryStatus(BounceKind.SOFT, "", text[:500], "delayed")
    match = _STATUS.search(text)
    if match and match.group(1) == "5":
        return DeliveryStatus(BounceKind.HARD, match.group(0), text[:500], "failed")
    code = match.group(0) if match else ""
    return DeliveryStatus(BounceKind.SOFT, code, text[:500], _ACTION_OF_CLASS.get(code[:1], ""))


def _text_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode("utf-8", "replace")
    return ""
