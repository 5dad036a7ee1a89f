"""Searching a large list from the panel: a page of a 10,000-member list found by a part of a
name, an organisation's domain, a status, or nothing at all.

``find_members`` is what the list's page calls. The ceiling, measured in the same
run, is the database doing the same search with nothing around it: the same
``LIKE`` conditions and ``LIMIT`` sent through the driver as one SQL string, with
no ORM, no bounce counts and no paging arithmetic. The target is an answer in
under 200 ms; the ratio says how much of it is the database's own work.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from bench.common import bench_runtime, report
from mailer.domain.lists import find_members
from mailer.domain.models import SubscriptionStatus

#: What an organiser types: part of a name, an organisation's domain, an address not there.
SEARCHES = [("part of an address", "member0042"), ("a domain", "hmrc"), ("no match", "zzz")]

_RAW = text(
    "SELECT person.email, person.display_name, subscription.status FROM subscription "
    "JOIN person ON person.id = subscription.person_id "
    "WHERE subscription.list_id = :list_id AND (lower(person.email) LIKE :term "
    "OR lower(coalesce(person.display_name, '')) LIKE :term) "
    "ORDER BY person.email LIMIT 50"
)


def _timed(run: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20, help="times each search is timed")
    parser.add_argument(
        "--database", default="", help="database URL (its tables are emptied); default: SQLite"
    )
    args = parser.parse_args()
    domains = ("hmrc.gov.uk", "dwp.gov.uk", "cabinetoffice.gov.uk", "justice.gov.uk")
    members = [f"member{n:05}@{domains[n % len(domains)]}" for n in range(args.members)]
    figures: dict[str, object] = {"members": args.members}
    with tempfile.TemporaryDirectory() as tmp:
        runtime = bench_runtime(Path(tmp), database_url=args.database, members=members)
        figures["database"] = runtime.engine.dialect.name
        with runtime.engine.connect() as connection:
            list_id = connection.execute(text("SELECT id FROM mailing_list")).scalar_one()
        worst = 0.0
        for label, term in SEARCHES:
            with runtime.sessions() as session:
                ours = _timed(
                    lambda term=term: find_members(session, "forum", search=term), args.repeat
                )
            with runtime.engine.connect() as connection:
                raw = _timed(
                    lambda term=term: connection.execute(
                        _RAW, {"list_id": list_id, "term": f"%{term}%"}
                    ).all(),
                    args.repeat,
                )
            median, ceiling = statistics.median(ours), statistics.median(raw)
            worst = max(worst, max(ours))
            figures[label] = {
                "median_ms": round(median, 1),
                "slowest_ms": round(max(ours), 1),
                "raw_sql_median_ms": round(ceiling, 2),
                "ratio": round(ceiling / median, 2),
            }
        with runtime.sessions() as session:
            paged = _timed(lambda: find_members(session, "forum", page=150), args.repeat)
            status = _timed(
                lambda: find_members(session, "forum", status=SubscriptionStatus.ACTIVE, page=2),
                args.repeat,
            )
        worst = max(worst, max(paged), max(status))
        figures["page 150 of all"] = {"median_ms": round(statistics.median(paged), 1)}
        figures["a status, page 2"] = {"median_ms": round(statistics.median(status), 1)}
        figures["slowest_ms"] = round(worst, 1)
        figures["under_200_ms"] = worst < 200
        runtime.engine.dispose()
    return report("member_search", figures)


if __name__ == "__main__":
    main()
