"""register: a place at the list's next meeting, in person or remotely as the sender said."""

from __future__ import annotations

from mailer.commands.base import CommandRequest, EmailCommand
from mailer.domain.models import InboundIntent, InboundStatus
from mailer.domain.rsvp import register_by_email
from mailer.domain.triage import InboundOutcome


class Register(EmailCommand):
    name = "register"
    help = "register for the next meeting"

    def run(self, request: CommandRequest) -> InboundOutcome:
        result = register_by_email(
            request.session,
            request.services,
            mode=request.mode,
            at=request.received_at,
            list_slug=request.list_slug,
            email=request.email,
            display_name=request.display_name,
            thread=request.thread,
        )
        return InboundOutcome(InboundStatus.DONE, InboundIntent.REGISTER, result.summary)
