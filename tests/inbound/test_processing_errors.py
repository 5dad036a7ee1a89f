"""A message whose processing fails is never lost: the error is kept, it is retried after a growing
delay, and after the last attempt it is parked as failed, raw message intact, for an organiser."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from mailer.domain.models import InboundMessage, InboundStatus, utcnow
from mailer.domain.queue import claim_inbound, store_inbound
from mailer.domain.services import Services
from mailer.domain.triage import triage_queue
from mailer.inbound import process
from tests.support.databases import TestDatabase
from tests.support.factories import make_list

RAW = (
    b"From: sam@example.org\r\nMessage-ID: <boom@example.org>\r\nSubject: Forum\r\n\r\n"
    b"Please register me\r\n"
)


def test_errors_are_retried_then_parked_with_the_raw_message(
    database: TestDatabase, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_list(database.sessions)
    with database.sessions() as s:
        inbound_id = store_inbound(
            s, mail_from="sam@example.org", rcpt_to=["forum@lists.test"], raw=RAW
        )

    def broken(*_args: object) -> None:
        raise RuntimeError("the database said no")

    monkeypatch.setattr(process, "_process", broken)
    delays = []
    for attempt in range(1, 6):
        with database.sessions() as s:
            assert claim_inbound(s, limit=10, lease=timedelta(minutes=5), worker_id="w") == [
                inbound_id
            ]
        assert process.process_inbound(database.sessions, services, inbound_id).summary.startswith(
            "error:"
        )
        with database.sessions() as s:
            row = s.get(InboundMessage, inbound_id)
            assert (
                "the database said no" in row.error and row.raw == RAW and row.attempts == attempt
            )
            status, wait = (
                row.status,
                (row.lease_until - utcnow()).total_seconds() if row.lease_until else 0,
            )
        if attempt < 5:
            assert status is InboundStatus.PROCESSING
            delays.append(wait)
            with (
                database.sessions() as s
            ):  # not claimable again until the delay is over; then make it due now
                assert claim_inbound(s, limit=10, lease=timedelta(minutes=5), worker_id="w") == []
            with database.sessions() as s, s.begin():
                s.execute(
                    update(InboundMessage).values(lease_until=utcnow() - timedelta(seconds=1))
                )
    assert delays == sorted(delays) and delays[0] > 30  # growing: 60 s, 120 s, 240 s, 480 s
    with database.sessions() as s:
        row = s.get(InboundMessage, inbound_id)
        assert row.status is InboundStatus.FAILED and row.raw == RAW
    with database.sessions() as s:
        assert [m.id for m in triage_queue(s)] == [inbound_id]  # shown to organisers
    with database.sessions() as s:
        assert claim_inbound(s, limit=10, lease=timedelta(minutes=5), worker_id="w") == []
