"""SQL statements per operation: an inbound registration, an RSVP page and its answer.

A figure to read beside the speed benchmarks, not a rule: how many round
trips each operation makes on SQLite and, given ``--database``, PostgreSQL.
The tests assert behaviour only; a change in these counts shows here.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, event

from bench.common import PROVEN, bench_runtime, report
from mailer.domain.meetings import create_meeting
from mailer.domain.models import Meeting, Person
from mailer.domain.queue import Received, claim_inbound, store_inbound_many
from mailer.domain.rsvp import record_rsvp_from_link, rsvp_page
from mailer.inbound.process import process_inbound_batch

MESSAGE = PROVEN.decode() + (
    "From: Sam <{email}>\r\nTo: forum@bench.test\r\nSubject: Forum\r\nMessage-ID: "
    "<{n}@example.org>\r\n\r\n"
    "Please register me, I will {how}.\r\n"
)


def _counting(engine: Engine, run: Callable[[], object]) -> Counter[str]:
    """The statements ``run`` sends, by their first word (SELECT, INSERT, SAVEPOINT...)."""
    seen: Counter[str] = Counter()

    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        seen[statement.split(None, 1)[0].upper()] += 1

    event.listen(engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def main() -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--messages", type=int, default=100, help="registrations handled in one batch"
    )
    parser.add_argument(
        "--capacity", type=int, default=None, help="in-person places of the meeting"
    )
    parser.add_argument(
        "--in-person", action="store_true", help="the messages ask for an in-person place"
    )
    parser.add_argument(
        "--database", default="", help="database URL (its tables are emptied); default: SQLite"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runtime = bench_runtime(Path(tmp), database_url=args.database)
        services, sessions, engine = runtime.services, runtime.sessions, runtime.engine
        starts = datetime.now(UTC) + timedelta(days=14)
        with sessions() as s:
            meeting = create_meeting(
                s,
                list_slug="forum",
                title="Bench Forum",
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                venue="Room 1",
                capacity=args.capacity,
                actor="bench",
            )
        how = "attend in person" if args.in_person else "join remotely"
        with sessions() as s:
            store_inbound_many(
                s,
                [
                    Received(
                        f"sam{n}@example.org",
                        ["forum@bench.test"],
                        MESSAGE.format(email=f"sam{n}@example.org", n=n, how=how).encode(),
                    )
                    for n in range(args.messages)
                ],
            )
        with sessions() as s:
            ids = claim_inbound(
                s, limit=args.messages, lease=timedelta(minutes=5), worker_id="bench"
            )
        inbound = _counting(engine, lambda: process_inbound_batch(sessions, services, ids))
        with sessions() as s:
            person, meeting = s.get_one(Person, 1), s.get_one(Meeting, meeting.id)
            token = services.links.rsvp_token(person, meeting)

        def page() -> None:
            with sessions() as s:
                rsvp_page(s, services, token, "decline")

        def answer() -> None:
            with sessions() as s:
                record_rsvp_from_link(s, services, token, "decline")

        shown, answered = _counting(engine, page), _counting(engine, answer)
        engine.dispose()
    per_message = {kind: round(count / args.messages, 2) for kind, count in sorted(inbound.items())}
    return report(
        "statements: SQL statements per operation, "
        + ("PostgreSQL" if args.database.startswith("postgres") else "SQLite WAL"),
        {
            "registrations": args.messages,
            "capacity": args.capacity,
            "answers": "in person" if args.in_person else "remote",
            "per_registration": per_message,
            "per_registration_total": round(sum(inbound.values()) / args.messages, 2),
            "rsvp_page_get": dict(shown),
            "rsvp_answer_post": dict(answered),
        },
    )


if __name__ == "__main__":
    main()
