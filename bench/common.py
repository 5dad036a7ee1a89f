"""Helpers shared by the benchmarks (not by the product)."""

from __future__ import annotations

import json
import logging
import platform
import socket
from pathlib import Path

from sqlalchemy import insert

from mailer.config import load_config
from mailer.db import make_engine, make_sessionmaker, migrate
from mailer.domain.lists import create_list
from mailer.domain.models import Base, Person, Subscription, SubscriptionStatus, utcnow
from mailer.domain.services import build_services
from mailer.runtime import Runtime

logging.getLogger("werkzeug").setLevel(logging.WARNING)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: The authserv-id of the MTA the benchmarks' mail comes through (see :data:`PROVEN`).
AUTHSERV_ID = "mx.bench.test"
#: The header that MTA adds to a message whose sender passed DMARC: messages of the benchmarks
#: carry it at the top, so that they are acted on at once, as a member's mail is.
PROVEN = b"Authentication-Results: mx.bench.test; dmarc=pass header.from=example.org\r\n"


def bench_runtime(
    tmp: Path,
    *,
    domain: str = "bench.test",
    web_port: int | None = None,
    database_url: str = "",
    members: list[str] | None = None,
) -> Runtime:
    """A dev-mode runtime with one list (with ``members``, named, added in bulk), on a new SQLite
    database in ``tmp`` or, given ``database_url``, on that database emptied first (every table's
    rows are deleted). Mail through :data:`AUTHSERV_ID` is believed."""
    web_port = web_port or free_port()
    config = load_config(environ={}).replace(
        service={
            "data_dir": str(tmp),
            "secret_key": "bench-" + "k" * 40,
            "dev_mode": True,
            "base_url": f"http://127.0.0.1:{web_port}",
        },
        database={"url": database_url},
        mail={"domain": domain},
        inbound={"port": free_port(), "authserv_id": AUTHSERV_ID},
        web={"port": web_port},
    )
    engine = make_engine(config.database_url)
    migrate(engine)
    if database_url:
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        mailing_list = create_list(s, slug="forum", name="Bench Forum", actor="bench")
    if members:
        now = utcnow()
        with sessions() as s, s.begin():
            ids = s.scalars(
                insert(Person).returning(Person.id),
                [
                    {"email": email, "display_name": "Sam", "link_version": 1, "created_at": now}
                    for email in members
                ],
            ).all()
            s.execute(
                insert(Subscription),
                [
                    {
                        "person_id": person_id,
                        "list_id": mailing_list.id,
                        "status": SubscriptionStatus.ACTIVE,
                        "bounce_score": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for person_id in ids
                ],
            )
    return Runtime(config, engine, sessions, build_services(config))


def report(title: str, figures: dict[str, object]) -> dict[str, object]:
    result = {"benchmark": title, "python": platform.python_version(), **figures}
    print(json.dumps(result))
    return result
