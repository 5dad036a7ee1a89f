"""Waiting for the worker: how many inbound messages have reached an outcome."""

from __future__ import annotations

from sqlalchemy import func, select

from mailer.domain.models import InboundMessage, InboundStatus
from tests.support.databases import TestDatabase

_FINISHED = (InboundStatus.DONE, InboundStatus.TRIAGE, InboundStatus.IGNORED)


def processed(database: TestDatabase, count: int) -> bool:
    """Whether at least ``count`` inbound messages are handled (done, left for an organiser, or
    ignored)."""
    with database.sessions() as s:
        handled = s.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.status.in_(_FINISHED))
        )
        return (handled or 0) >= count
