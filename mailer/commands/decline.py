"""decline: "can't make it" for the list's next meeting; the membership is untouched."""

from __future__ import annotations

from mailer.commands.base import CommandRequest, EmailCommand, acted_on
from mailer.domain.models import InboundIntent, RsvpResponse
from mailer.domain.rsvp import decline_by_email
from mailer.domain.triage import InboundOutcome


class Decline(EmailCommand):
    name = "decline"
    answer = RsvpResponse.DECLINED
    help = "tell the organisers you cannot come to the next meeting"

    def run(self, request: CommandRequest) -> InboundOutcome:
        result = decline_by_email(
            request.session,
            request.services,
            at=request.received_at,
            list_slug=request.list_slug,
            email=request.email,
            display_name=request.display_name,
            thread=request.thread,
            meeting_id=request.meeting_id,
            text=request.text,
            question=request.question,
            may_reply=request.replies,
        )
        return acted_on(request, InboundIntent.DECLINE, result.summary, result.meeting_id)
