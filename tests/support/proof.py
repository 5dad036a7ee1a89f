"""What proves a sender owns their From: mailbox, as tests write it.

The test configuration names ``mx.lists.test`` as the authserv-id of "our"
MTA (``[inbound] authserv_id``), as a deployment behind Postfix with a DMARC
milter would; a message carrying :func:`dmarc_pass` at its top is one that
MTA saw pass. Messages without it prove nothing, as forged ones.
"""

from __future__ import annotations

AUTHSERV_ID = "mx.lists.test"


def dmarc_pass(email: str) -> str:
    """Our MTA's Authentication-Results header line (with CRLF) for an aligned DMARC pass of the
    address's domain."""
    domain = email.rpartition("@")[2]
    return f"Authentication-Results: {AUTHSERV_ID}; dmarc=pass header.from={domain}\r\n"
