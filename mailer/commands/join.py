"""join: ask to join the list (confirmed by the address owner unless DMARC vouches for them)."""

from __future__ import annotations

from mailer.commands.base import CommandRequest, EmailCommand
from mailer.domain.membership import request_join
from mailer.domain.models import InboundIntent, InboundStatus
from mailer.domain.triage import InboundOutcome


class Join(EmailCommand):
    name = "join"
    aliases = ("subscribe",)
    help = "join the list"

    def run(self, request: CommandRequest) -> InboundOutcome:
        outcome = request_join(
            request.session,
            request.services,
            authenticated=request.authenticated,
            list_slug=request.list_slug,
            email=request.email,
            display_name=request.display_name,
            thread=request.thread,
        )
        return InboundOutcome(InboundStatus.DONE, InboundIntent.JOIN, outcome.summary)
