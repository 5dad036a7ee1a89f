"""``convene inbound``: recent inbound mail, what was understood and what was done."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from mailer.cli.context import pass_session
from mailer.cli.options import echo_result, json_option

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

STATUSES = ["new", "processing", "done", "triage", "ignored", "failed"]


@click.command()
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--status", type=click.Choice(STATUSES))
@json_option
@pass_session
def inbound(session: Session, limit: int, status: str | None, as_json: bool) -> None:
    """Recent inbound mail: what was read as new text, what it was understood to ask (kind, mode,
    meeting, reason), what was done, and whether we replied."""
    from mailer.domain.models import InboundStatus
    from mailer.domain.triage import inbound_log, replies_sent

    log = inbound_log(session, limit=limit, status=InboundStatus(status) if status else None)
    replies = replies_sent(session, [r.message_id for r in log if r.message_id])
    rows: list[dict[str, Any]] = [
        {
            "id": r.id,
            "received_at": r.received_at.isoformat(),
            "message_id": r.message_id,
            "from": r.mail_from,
            "to": r.rcpt_to,
            "list": r.list_slug,
            "subject": r.subject,
            "new_text": r.new_text,
            "understood": r.understood,
            "intent": r.intent,
            "status": r.status.value,
            "outcome": r.outcome,
            "replied": bool(r.message_id and replies.get(r.message_id)),
            "replies": replies.get(r.message_id, []) if r.message_id else [],
            "error": r.error.splitlines()[-1] if r.error else "",
        }
        for r in log
    ]
    echo_result(
        as_json,
        rows,
        (
            f"{row['id']:>6} {row['received_at'][:19]} {row['status']:9} "
            f"{row['intent'] or '-':10} {row['from'][:30]:30} {row['outcome']}"
            for row in rows
        ),
    )


commands = [inbound]
