"""Which of our messages an inbound message answers.

A reply names the message it answers in ``In-Reply-To:`` and ``References:``
(RFC 5322 3.6.4). When that is one of ours, we know what it was (an
invitation, an agenda, a confirmation), which meeting it was about, and its
exact text: the reader removes that text from what the person wrote, the
understanding reads "Yes" as an answer to an invitation, and the answer is
applied to that message's meeting, not to the list's next one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.db import read_transaction
from mailer.domain.models import Mailing, OutboxMessage

#: How many of a message's threading ids are looked up (the newest: a long thread has many).
_MOST_IDS = 20


class Answering(StrEnum):
    """What kind of our message a reply answers, as the reading of its text needs to know."""

    INVITATION = "invitation"
    AGENDA = "agenda"
    REMINDER = "reminder"
    CONFIRMATION = "confirmation"
    #: "A place is held for you": a yes takes it.
    OFFER = "offer"
    UPDATE = "update"
    CANCELLATION = "cancellation"
    NEWS = "news"
    CONSULTATION = "consultation"
    OTHER = "other"


_ANSWERING_BY_KIND = {
    "invitation": Answering.INVITATION,
    "your_links": Answering.INVITATION,
    "meeting_details": Answering.AGENDA,
    "meeting_reminder": Answering.REMINDER,
    "registration_reply": Answering.CONFIRMATION,
    "rsvp_confirmation": Answering.CONFIRMATION,
    "waitlist_promoted": Answering.CONFIRMATION,
    "waitlist_offer": Answering.OFFER,
    "waitlist_removed": Answering.CONFIRMATION,
    "waitlist_moved": Answering.CONFIRMATION,
    "meeting_updated": Answering.UPDATE,
    "meeting_cancelled": Answering.CANCELLATION,
    "news": Answering.NEWS,
    "consultation": Answering.CONSULTATION,
}


@dataclass(frozen=True)
class AnsweredMessage:
    """One of our sent messages, as a reply to it needs it."""

    message_id: str
    kind: str
    recipient: str
    meeting_id: int | None
    text: str
    html: str = ""
    subject: str = ""

    @property
    def answering(self) -> Answering:
        return _ANSWERING_BY_KIND.get(self.kind, Answering.OTHER)


def thread_ids(in_reply_to: str, references: str) -> list[str]:
    """A message's threading ids, the one it directly answers first: ``In-Reply-To:``, then
    ``References:`` from the newest (last) to the oldest."""
    ids = [*in_reply_to.split()[:1], *reversed(references.split())]
    return list(dict.fromkeys(i for i in ids if i.startswith("<") and i.endswith(">")))


def our_ids(ids: Iterable[str], domain: str) -> list[str]:
    """Those of ``ids`` we could have written (Message-IDs in our domain), at most the newest 20."""
    ours = f"@{domain.lower()}>"
    return [i for i in ids if i.lower().endswith(ours)][:_MOST_IDS]


def answered_messages(session: Session, ids: Sequence[str]) -> dict[str, AnsweredMessage]:
    """Our sent messages among these Message-IDs, by Message-ID, read in one query (the texts of a
    message sent as part of a mailing are the mailing's)."""
    if not ids:
        return {}
    with read_transaction(session):
        rows = session.execute(
            select(
                OutboxMessage.message_id,
                OutboxMessage.kind,
                OutboxMessage.recipient,
                OutboxMessage.meeting_id,
                OutboxMessage.body_text,
                OutboxMessage.body_html,
                Mailing.body_text.label("mailing_text"),
                Mailing.body_html.label("mailing_html"),
                OutboxMessage.subject,
                Mailing.subject.label("mailing_subject"),
            )
            .outerjoin(Mailing, Mailing.id == OutboxMessage.mailing_id)
            .where(OutboxMessage.message_id.in_(list(ids)))
        ).all()
    return {
        row.message_id: AnsweredMessage(
            row.message_id,
            row.kind,
            row.recipient,
            row.meeting_id,
            row.body_text or row.mailing_text or "",
            row.body_html or row.mailing_html or "",
            row.subject or row.mailing_subject or "",
        )
        for row in rows
    }


def first_answered(ids: Sequence[str], found: dict[str, AnsweredMessage]) -> AnsweredMessage | None:
    """The newest of our messages a reply names (``ids`` as :func:`thread_ids` orders them)."""
    return next((found[i] for i in ids if i in found), None)


def answers_own_message(
    ids: Sequence[str], found: dict[str, AnsweredMessage], from_address: str | None
) -> bool:
    """Whether a message names, in its threading headers, one of our messages that was sent to its
    own From: address: proof that whoever wrote it can read that mailbox.

    Our Message-IDs are random (122 bits), written only to their one
    recipient, so naming one shows the message was received; a copy
    forwarded to someone else and answered from their address does not
    match. (Proof by an aligned DMARC pass is the other way; see
    :mod:`mailer.mail.authresults`.)
    """
    if not from_address:
        return False
    # The very address, not just the same inbox: the answer is recorded for the From: address,
    # so a reply from jo+x@ to a message sent to jo@ proves nothing about jo+x@'s record.
    address = from_address.strip().lower()
    return any(i in found and found[i].recipient.lower() == address for i in ids)
