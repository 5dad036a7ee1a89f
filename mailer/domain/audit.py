"""The audit log: one row per change, written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from mailer.db import write_at_commit
from mailer.domain.models import AuditEntry

_INSERT = insert(AuditEntry.__table__)


def record(session: Session, *, actor: str, action: str, target: str = "", **detail: Any) -> None:
    """Write an audit entry in the current transaction (a plain INSERT, without the ORM's
    bookkeeping: nothing reads an entry back in the transaction that writes it, so in the
    worker's unit of work it goes with the others just before the commit).

    ``actor`` is ``organiser:<id>``, ``person:<id>`` or ``system``; never an
    email address, so the log itself stays low on personal data.
    """
    write_at_commit(session, _INSERT, {"actor": actor, "action": action, "target": target, "detail": detail})


def recent(session: Session, limit: int = 200) -> list[AuditEntry]:
    """The latest entries, newest first."""
    from sqlalchemy import select

    from mailer.db import read_transaction

    with read_transaction(session):
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))
