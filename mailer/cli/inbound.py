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
    """Recent inbound mail: what was understood and what was done."""
    from mailer.domain.models import InboundStatus
    from mailer.domain.triage import inbound_log

    rows: list[dict[str, Any]] = [
        {
            "id": r.id,
            "received_at": r.received_at.isoformat(),
            "message_id": r.message_id,
            "from": r.mail_from,
            "to": r.rcpt_to,
            "list": r.list_slug,
            "intent": r.intent,
            "status": r.status.value,
            "outcome": r.outcome,
            "error": r.error.splitlines()[-1] if r.error else "",
        }
        for r in inbound_log(session, limit=limit, status=InboundStatus(status) if status else None)
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
