"""Which local address a recipient is, as a pure function of the address.

``forum@domain`` is the list itself (plain language), ``forum-join``,
``forum-leave`` and ``forum-request`` are Mailman-style command addresses,
``forum-answer+<token>`` takes replies to a consultation,
``bounces+<token>@domain`` takes delivery reports, and ``postmaster`` must
exist by RFC 5321.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AddressKind = Literal["list", "join", "leave", "request", "answer", "bounce", "postmaster"]
_SUFFIXES: dict[str, AddressKind] = {"-join": "join", "-leave": "leave", "-request": "request", "-answer": "answer"}


@dataclass(frozen=True)
class LocalRecipient:
    kind: AddressKind
    #: The list's slug, for list and command addresses.
    list_slug: str | None = None
    #: What follows ``+`` in the local part (e.g. a VERP token on bounces).
    detail: str | None = None


class NotOurDomain(ValueError):
    pass


def split_recipient(address: str, domain: str, bounce_local_part: str = "bounces") -> LocalRecipient:
    """Route an envelope recipient; raises NotOurDomain or ValueError (malformed).

    The result names a list slug but does not say the list exists: that
    needs the database, and is checked by the caller.
    """
    address = address.strip().strip("<>")
    local, at, rcpt_domain = address.rpartition("@")
    if not at or not local or not rcpt_domain:
        raise ValueError(f"malformed address {address!r}")
    if rcpt_domain.lower().rstrip(".") != domain.lower():
        raise NotOurDomain(rcpt_domain)
    base, _, detail = local.partition("+")
    base = base.lower()  # the detail keeps its case: it may be a signed token
    if base == bounce_local_part:
        return LocalRecipient("bounce", detail=detail or None)
    if base == "postmaster":
        return LocalRecipient("postmaster")
    for suffix, kind in _SUFFIXES.items():
        if base.endswith(suffix) and len(base) > len(suffix):
            return LocalRecipient(kind, list_slug=base[: -len(suffix)], detail=detail or None)
    return LocalRecipient("list", list_slug=base, detail=detail or None)
