"""help: how to use the list, by email."""

from __future__ import annotations

from mailer.commands.base import CommandRequest, EmailCommand
from mailer.domain.membership import send_help
from mailer.domain.models import InboundIntent, InboundStatus
from mailer.domain.triage import InboundOutcome


class Help(EmailCommand):
    name = "help"
    help = "how to use the list"

    def run(self, request: CommandRequest) -> InboundOutcome:
        replied = send_help(
            request.session,
            request.services,
            list_slug=request.list_slug,
            email=request.email,
            display_name=request.display_name,
            thread=request.thread,
        )
        return InboundOutcome(
            InboundStatus.DONE,
            InboundIntent.HELP,
            "help sent" if replied else "help not sent (rate-limited)",
        )
