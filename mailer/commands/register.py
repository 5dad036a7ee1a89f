"""register: a place at the meeting asked about, in person or remotely as the sender said."""

from __future__ import annotations

from mailer.commands.base import CommandRequest, EmailCommand, acted_on
from mailer.domain.models import InboundIntent, RsvpResponse
from mailer.domain.rsvp import register_by_email
from mailer.domain.triage import InboundOutcome


class Register(EmailCommand):
    name = "register"
    answer = RsvpResponse.ATTENDING
    help = "register for a meeting (the one whose invitation you answer, or the next one)"

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
            meeting_id=request.meeting_id,
            text=request.text,
            fallback=request.fallback,
            question=request.question,
            may_reply=request.replies,
        )
        return acted_on(request, InboundIntent.REGISTER, result.summary, result.meeting_id)
