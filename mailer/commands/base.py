"""The shape every email command has, and what it is given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sqlalchemy.orm import Session

from mailer.domain.models import AttendanceMode, InboundIntent, InboundStatus, RsvpResponse
from mailer.domain.outbox import ReplyThread
from mailer.domain.services import Services
from mailer.domain.triage import InboundOutcome


@dataclass(frozen=True)
class CommandRequest:
    """One message asking a list for something, as a command sees it.

    ``mode`` is how the sender said they would attend, when their words
    said, and ``fallback`` their second choice; ``question`` whether they
    also asked the organisers something; ``meeting_id`` the meeting of the
    message of ours they answer, and ``text`` their words (subject and new
    text), which may name the meeting they mean; ``argument`` is what
    follows the command word at the -request address (a confirmation code,
    say); ``authenticated`` is whether our own MTA saw an aligned DMARC pass
    for the sender's domain.
    """

    session: Session
    services: Services
    list_slug: str
    email: str
    display_name: str | None
    thread: ReplyThread
    received_at: datetime
    authenticated: bool = False
    mode: AttendanceMode | None = None
    fallback: AttendanceMode | None = None
    question: bool = False
    meeting_id: int | None = None
    text: str = ""
    argument: str = ""
    #: Whether an automatic reply may go: the message's return path is its From: mailbox (RFC
    #: 3834). A proven request whose return path is another still acts, silently.
    replies: bool = True


class EmailCommand:
    """A command: its name (and other words that name it), a line of help, and what it does.

    ``run`` acts through domain functions, within the caller's transaction,
    and returns the outcome for the inbound log; a :class:`DomainError` it
    lets through is recorded as a refusal.
    """

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    help: ClassVar[str]
    #: The answer to a meeting the command records (register, decline). Such a command acts only
    #: for a sender proven to own the From: mailbox; anyone else is asked to confirm by link.
    answer: ClassVar[RsvpResponse | None] = None

    @property
    def intent(self) -> InboundIntent:
        return InboundIntent(self.name)

    def run(self, request: CommandRequest) -> InboundOutcome:
        raise NotImplementedError


def acted_on(
    request: CommandRequest, intent: InboundIntent, summary: str, meeting_id: int | None
) -> InboundOutcome:
    """The outcome of a request that was acted on: done, or left for an organiser as well when the
    message also asked them something (the answer was recorded all the same)."""
    if request.question:
        return InboundOutcome(
            InboundStatus.TRIAGE,
            intent,
            f"{summary}; also asks the organisers something",
            meeting_id=meeting_id,
        )
    return InboundOutcome(InboundStatus.DONE, intent, summary, meeting_id=meeting_id)
