"""Authentication-Results (RFC 8601) from our own upstream MTA: did DMARC pass, aligned?

A From: header proves nothing, and neither does an Authentication-Results
header anyone could have added on the way. Only the topmost header carrying
the configured authserv-id is read: our own MTA adds its header above every
header the message arrived with (RFC 8601 section 5), so a lower one with our
id was written by someone else and is ignored, whatever it says. The MTA
should also strip such headers (docs/deployment.md shows how with Postfix).

The header is read as it arrived, never decoded (RFC 8601 headers carry no
encoded words, and an MTA's filter matches the raw text: an id written as
``=?us-ascii?q?mx.example.org?=`` is not ours), and parsed by ``authres``
into its results, so that text inside another method's value or a comment
("smtp.mailfrom=dmarc=pass...") is never mistaken for a verdict. Only a
``dmarc=pass`` whose ``header.from`` is exactly the From: domain counts.
"""

from __future__ import annotations

from email.message import Message

import authres


def our_header(message: Message, authserv_id: str) -> str | None:
    """The raw text of the topmost Authentication-Results header with our authserv-id, unfolded;
    None when there is none (or no id is configured)."""
    if not authserv_id:
        return None
    for name, value in message.raw_items():
        if name.lower() != "authentication-results":
            continue
        text = " ".join(str(value).split())
        serv_id = text.split(";", 1)[0].split()
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
    try:
        header = authres.AuthenticationResultsHeader.parse(f"Authentication-Results: {text}")
    except Exception:  # authres raises its own syntax errors, and others on odd input: no proof
        return False
    from_domain = from_address.rpartition("@")[2].lower().rstrip(".")
    return any(
        result.method.lower() == "dmarc"
        and str(result.result).lower() == "pass"
        and any(
            prop.type.lower() == "header"
            and prop.name.lower() == "from"
            and str(prop.value).strip('"').lower().rstrip(".") == from_domain
            for prop in result.properties
        )
        for result in header.results
    )
