"""Our own addresses: built here, and read back here, as pure functions of the address.

``forum@domain`` is the list itself (plain language), ``forum-join``,
``forum-leave`` and ``forum-request`` are Mailman-style command addresses
(``forum-leave+<token>`` is the List-Unsubscribe mailto),
``forum-answer+<token>`` takes replies to a consultation,
``bounces+<token>@domain`` takes delivery reports (VERP: the token is also
the local part of the message's Message-ID), and ``postmaster`` must exist
by RFC 5321.

:class:`Addresses` builds every one of them through :func:`join_recipient`,
the exact inverse of :func:`split_recipient`, so what we send is what we
route when it comes back.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Literal

AddressKind = Literal["list", "join", "leave", "request", "answer", "bounce", "postmaster"]
_SUFFIXES: dict[str, AddressKind] = {
    "-join": "join",
    "-leave": "leave",
    "-request": "request",
    "-answer": "answer",
}
_KIND_SUFFIX: dict[AddressKind, str] = {kind: suffix for suffix, kind in _SUFFIXES.items()}
DEFAULT_BOUNCE_LOCAL_PART = "bounces"


@dataclass(frozen=True)
class LocalRecipient:
    kind: AddressKind
    #: The list's slug, for list and command addresses.
    list_slug: str | None = None
    #: What follows ``+`` in the local part (e.g. a VERP token on bounces).
    detail: str | None = None


class NotOurDomain(ValueError):
    pass


def split_recipient(
    address: str, domain: str, bounce_local_part: str = DEFAULT_BOUNCE_LOCAL_PART
) -> LocalRecipient:
    """Route an envelope recipient; raises NotOurDomain or ValueError (malformed).

    The result names a list slug but does not say the list exists: that
    needs the database, and is checked by the caller.
    """
    address = address.strip().strip("<>")
    if address.lower() == "postmaster":  # RFC 5321 4.5.1: accepted without a domain
        return LocalRecipient("postmaster")
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


def join_recipient(
    recipient: LocalRecipient, domain: str, bounce_local_part: str = DEFAULT_BOUNCE_LOCAL_PART
) -> str:
    """The address :func:`split_recipient` reads as ``recipient``:
    ``split_recipient(join_recipient(r)) == r``.

    List and command addresses need a slug (lower case, as slugs are); bounce
    and postmaster addresses have none.
    """
    if recipient.kind == "bounce":
        base = bounce_local_part
    elif recipient.kind == "postmaster":
        base = "postmaster"
    elif not recipient.list_slug:
        raise ValueError(f"a {recipient.kind} address needs a list slug")
    else:
        base = recipient.list_slug + _KIND_SUFFIX.get(recipient.kind, "")
    detail = f"+{recipient.detail}" if recipient.detail else ""
    return f"{base}{detail}@{domain}"


@dataclass(frozen=True)
class MessageIdentity:
    """A new message's Message-ID and its VERP envelope sender, which share one random token."""

    message_id: str
    envelope_from: str


@dataclass(frozen=True)
class Addresses:
    """Every address of ours on one mail domain."""

    domain: str
    bounce_local_part: str = DEFAULT_BOUNCE_LOCAL_PART

    def _build(self, kind: AddressKind, slug: str | None = None, detail: str | None = None) -> str:
        return join_recipient(
            LocalRecipient(kind, slug, detail), self.domain, self.bounce_local_part
        )

    def list_address(self, slug: str) -> str:
        return self._build("list", slug)

    def join_address(self, slug: str) -> str:
        return self._build("join", slug)

    def leave_address(self, slug: str, token: str | None = None) -> str:
        """``slug-leave@``; with a token, the List-Unsubscribe mailto that proves who asks."""
        return self._build("leave", slug, token)

    def request_address(self, slug: str) -> str:
        return self._build("request", slug)

    def answer_address(self, slug: str, token: str) -> str:
        """Where one member's (or, anonymously, everyone's) replies to a consultation go."""
        return self._build("answer", slug, token)

    def bounce_address(self, token: str | None = None) -> str:
        """The VERP envelope sender of the message whose Message-ID carries ``token``."""
        return self._build("bounce", detail=token)

    def postmaster_address(self) -> str:
        return self._build("postmaster")

    def message_id_for_verp_token(self, token: str) -> str:
        """The Message-ID that a bounce to ``bounces+<token>@`` is about."""
        return f"<{token}@{self.domain}>"

    def new_identity(self) -> MessageIdentity:
        """A fresh Message-ID and the VERP envelope sender that names it."""
        token = uuid.uuid4().hex
        return MessageIdentity(self.message_id_for_verp_token(token), self.bounce_address(token))


_BATV = re.compile(r"^prvs=[^=]+=", re.IGNORECASE)


def mailbox_of(address: str) -> str:
    """The mailbox an address delivers to, as far as its own text says: lower-cased, without a
    ``+tag`` (``jo+forum@x`` and ``jo@x`` are one inbox) and without the BATV tag some relays put
    on envelope senders (``prvs=1234abcd=jo@x``, Exchange Online and Barracuda write these).

    Used to count replies per mailbox, and to tell whether an envelope sender and a From:
    address are the same person's.
    """
    local, at, domain = address.strip().strip("<>").rpartition("@")
    if not at:
        return address.strip().lower()
    local = _BATV.sub("", local).partition("+")[0]
    return f"{local}@{domain}".lower().rstrip(".")


def same_mailbox(envelope_from: str | None, from_address: str | None) -> bool:
    """Whether a message's envelope sender (its return path) and its From: are one mailbox.

    RFC 3834 section 4: an automatic reply goes to the return path. Convene
    answers only when that is also the From: address, so that a message with
    a forged From: never makes us write to a stranger on someone else's
    behalf, and one with a forged return path never makes us write to it.
    """
    if not envelope_from or not from_address:
        return False
    return mailbox_of(envelope_from) == mailbox_of(from_address)
