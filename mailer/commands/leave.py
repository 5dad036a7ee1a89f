"""leave: answered with the member's own one-click unsubscribe link, so a forged request removes
nobody."""

from __future__ import annotations

from mailer.commands.base import CommandRequest, EmailCommand
from mailer.domain.membership import request_leave
from mailer.domain.models import InboundIntent, InboundStatus
from mailer.domain.triage import InboundOutcome


class Leave(EmailCommand):
    name = "leave"
    aliases = ("unsubscribe",)
    help = "leave the list"

    def run(self, request: CommandRequest) -> InboundOutcome:
        outcome = request_leave(
            request.session,
            request.services,
            list_slug=request.list_slug,
            email=request.email,
            display_name=request.display_name,
            thread=request.thread,
        )
        return InboundOutcome(InboundStatus.DONE, InboundIntent.LEAVE, outcome.summary)
