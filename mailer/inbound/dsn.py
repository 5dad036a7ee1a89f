"""Reading delivery status notifications (RFC 3464) that come back to our VERP address.

VERP already tells us which message (and so which recipient) bounced; the
DSN only has to say whether the failure is permanent (5.x.x, Action: failed)
or temporary (4.x.x, Action: delayed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message

from flufl.bounce import all_failures

from mailer.domain.models import BounceKind

_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")


@dataclass(frozen=True)
class DeliveryStatus:
    kind: BounceKind
    status: str
    diagnostic: str


def read_dsn(raw: bytes) -> DeliveryStatus:
    """The worst delivery status reported in a bounce; unknown shapes count as soft."""
    message = message_from_bytes(raw, policy=policy.compat32)
    found: list[DeliveryStatus] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else []
        for block in blocks[1:] if len(blocks) > 1 else blocks:
            if isinstance(block, Message):
                found.append(_from_fields(block))
    if not found:
        # Not an RFC 3464 report: flufl.bounce knows the shapes of many non-standard bounces.
        text = _text_of(message)
        try:
            temporary, permanent = all_failures(message)
        except Exception:  # a bounce detector must never stop the worker
            temporary, permanent = frozenset(), frozenset()
        if permanent:
            return DeliveryStatus(BounceKind.HARD, "", text.strip()[:500])
        if temporary:
            return DeliveryStatus(BounceKind.SOFT, "", text.strip()[:500])
        match = _STATUS.search(text)
        if match and match.group(1) == "5":
            return DeliveryStatus(BounceKind.HARD, match.group(0), text.strip()[:500])
        return DeliveryStatus(BounceKind.SOFT, match.group(0) if match else "", text.strip()[:500])
    hard = [s for s in found if s.kind is BounceKind.HARD]
    return hard[0] if hard else found[0]


def _from_fields(block: Message) -> DeliveryStatus:
    action = str(block.get("Action", "")).strip().lower()
    status = str(block.get("Status", "")).strip()
    diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
    permanent = action == "failed" and not status.startswith("4") or status.startswith("5")
    return DeliveryStatus(
        BounceKind.HARD if permanent else BounceKind.SOFT, status, diagnostic[:500]
    )


def _text_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode("utf-8", "replace")
    return ""
