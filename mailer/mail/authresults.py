"""Authentication-Results (RFC 8601) from our own upstream MTA: did DMARC pass, aligned?

A From: header proves nothing, and neither does an Authentication-Results
header anyone could have added on the way. Only headers carrying the
configured authserv-id are read (the MTA in front of Convene must strip
others with that id, as Postfix and Exim milters do), and only a DMARC pass
for exactly the From: domain counts.
"""

from __future__ import annotations

import re
from email.message import Message

_METHOD = re.compile(r"\bdmarc\s*=\s*(\w+)([^;]*)", re.IGNORECASE)
_HEADER_FROM = re.compile(r"header\.from\s*=\s*\"?([A-Za-z0-9.-]+)", re.IGNORECASE)


def dmarc_pass(message: Message, authserv_id: str, from_address: str | None) -> bool:
    if not authserv_id or not from_address or "@" not in from_address:
        return False
    from_domain = from_address.rpartition("@")[2].lower().rstrip(".")
    for value in message.get_all("Authentication-Results", []) or []:
        text = " ".join(str(value).split())
        serv_id = text.split(";", 1)[0].strip().split()[0] if text else ""
        if serv_id.lower() != authserv_id.lower():
            continue
        for match in _METHOD.finditer(text):
            if match.group(1).lower() != "pass":
                continue
            header_from = _HEADER_FROM.search(match.group(2))
            if header_from and header_from.group(1).lower().rstrip(".") == from_domain:
                return True
    return False
