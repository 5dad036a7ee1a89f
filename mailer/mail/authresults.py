"""Authentication-Results (RFC 8601) from our own upstream MTA: did DMARC pass, aligned?

A From: header proves nothing, and neither does an Authentication-Results
header anyone could have added on the way. Only the topmost header carrying
the configured authserv-id is read: our own MTA adds its header above every
header the message arrived with (RFC 8601 section 5), so a lower one with our
id was written by someone else and is ignored, whatever it says. The MTA
should also strip such headers (docs/deployment.md shows how with Postfix).
Only a DMARC pass for exactly the From: domain counts.
"""

from __future__ import annotations

import re
from email.message import Message

_METHOD = re.compile(r"\bdmarc\s*=\s*(\w+)([^;]*)", re.IGNORECASE)
_HEADER_FROM = re.compile(r"header\.from\s*=\s*\"?([A-Za-z0-9.-]+)", re.IGNORECASE)


def our_header(message: Message, authserv_id: str) -> str | None:
    """The text of the topmost Authentication-Results header with our authserv-id, unfolded; None
    when there is none (or no id is configured)."""
    if not authserv_id:
        return None
    for value in message.get_all("Authentication-Results", []) or []:
        text = " ".join(str(value).split())
        serv_id = text.split(";", 1)[0].strip().split()
        if serv_id and serv_id[0].lower() == authserv_id.lower():
            return text
    return None


def dmarc_pass(message: Message, authserv_id: str, from_address: str | None) -> bool:
    """Whether our MTA's own header shows a DMARC pass aligned with the From: address's domain."""
    if not from_address or "@" not in from_address:
        return False
    text = our_header(message, authserv_id)
    if text is None:
        return False
    from_domain = from_address.rpartition("@")[2].lower().rstrip(".")
    for match in _METHOD.finditer(text):
        if match.group(1).lower() != "pass":
            continue
        header_from = _HEADER_FROM.search(match.group(2))
        if header_from and header_from.group(1).lower().rstrip(".") == from_domain:
            return True
    return False
