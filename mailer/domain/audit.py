"""The audit log: one row per change, written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from mailer.domain.models import AuditEntry


def record(session: Session, *, actor: str, action: str, target: str = "", **detail: Any) -> AuditEntry:
    """Add an audit entry to the current transaction.

    ``actor`` is ``organiser:<id>``, ``person:<id>`` or ``system``; never an
    email address, so the log itself stays low on personal data.
    """
    entry = AuditEntry(actor=actor, action=action, target=target, detail=detail)
    session.add(entry)
    return entry


def recent(session: Session, limit: int = 200) -> list[AuditEntry]:
    """The latest entries, newest first."""
    from sqlalchemy import select

    from mailer.db import read_transaction

    with read_transaction(session):
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))
