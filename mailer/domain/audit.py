"""The audit log: one row per change, written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from mailer.db import read_transaction
from mailer.domain.models import AuditEntry, utcnow


def record(session: Session, *, actor: str, action: str, target: str = "", **detail: Any) -> None:
    """Write an audit entry in the current transaction, so it commits (or not) with the change.

    ``actor`` is ``organiser:<id>``, ``person:<id>`` or ``system``; never an
    email address, so the log itself stays low on personal data. Nothing
    reads an entry back as an object, so it is a plain INSERT on the
    session's connection (a fifth of the cost of the ORM's add and flush).
    """
    session.connection().execute(
        _INSERT,
        {"actor": actor, "action": action, "target": target, "detail": detail, "at": utcnow()},
    )


_INSERT = insert(AuditEntry)


def recent(session: Session, limit: int = 200) -> list[AuditEntry]:
    """The latest entries, newest first."""
    with read_transaction(session):
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))
