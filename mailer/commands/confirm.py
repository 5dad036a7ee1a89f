"""confirm <code>: the address owner confirms a request to join, by replying with its code."""

from __future__ import annotations

from mailer.commands.base import CommandRequest, EmailCommand
from mailer.domain.errors import DomainError
from mailer.domain.membership import confirm_join, send_help
from mailer.domain.models import InboundIntent, InboundStatus
from mailer.domain.triage import InboundOutcome


class Confirm(EmailCommand):
    name = "confirm"
    help = "confirm a request to join, with the code from its email"

    def run(self, request: CommandRequest) -> InboundOutcome:
        try:
            state = confirm_join(
                request.session, request.services, request.argument, source="reply"
            )
        except DomainError as exc:
            send_help(
                request.session,
                request.services,
                reason=f"We could not confirm: {exc}",
                list_slug=request.list_slug,
                email=request.email,
                display_name=request.display_name,
                thread=request.thread,
            )
            return InboundOutcome(
                InboundStatus.DONE, InboundIntent.CONFIRM, f"confirmation refused: {exc}"
            )
        return InboundOutcome(
            InboundStatus.DONE,
            InboundIntent.CONFIRM,
            f"join confirmed by reply ({state.list_name})",
        )
