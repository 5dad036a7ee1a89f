"""/healthz and /metrics, for an operator's monitoring: healthy only while the database answers
and a worker is at work; the backlog of a stopped worker shows in the figures; the figures are
for this machine or the holder of the metrics token."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from mailer.domain.health import record_heartbeat
from mailer.domain.models import WorkerHeartbeat, utcnow
from mailer.domain.queue import store_inbound
from mailer.domain.services import build_services
from mailer.runtime import Runtime
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.http import HttpClient
from tests.support.net import wait_for
from tests.support.servers import RunningService
from web import create_app


def test_healthz_fails_while_no_worker_is_at_work(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    none = client.get("/healthz")
    assert none.status == 503 and none.json()["reason"] == "no worker is running"
    with database.sessions() as s:
        record_heartbeat(s, "worker-a", now=utcnow() - timedelta(minutes=5))
    silent = client.get("/healthz")
    assert silent.status == 503 and "no worker seen for" in silent.json()["reason"]
    with database.sessions() as s:
        record_heartbeat(s, "worker-a")
    healthy = client.get("/healthz")
    assert healthy.status == 200 and healthy.json()["status"] == "ok"


def test_metrics_show_the_backlog_a_stopped_worker_leaves(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    with database.sessions() as s:
        for n in range(3):
            store_inbound(s, mail_from=f"p{n}@example.org", rcpt_to=["forum@lists.test"], raw=b"x")
    page = client.get("/metrics")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/plain")
    assert 'convene_inbound_messages{status="new"} 3.0' in page.body
    assert 'convene_outbox_messages{status="queued"} 0.0' in page.body
    assert "convene_workers 0.0" in page.body
    assert "p0@example.org" not in page.body  # counts only


def test_metrics_are_for_this_machine_or_the_token(web_config, database) -> None:  # type: ignore[no-untyped-def]
    far = {"REMOTE_ADDR": "203.0.113.5"}
    app = create_app(web_config, session_factory=database.sessions)
    assert app.test_client().get("/metrics", environ_base=far).status_code == 403
    with_token = web_config.replace(web={"metrics_token": "m" * 40})
    client = create_app(with_token, session_factory=database.sessions).test_client()
    assert client.get("/metrics", environ_base=far).status_code == 403
    wrong = client.get("/metrics", environ_base=far, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    right = client.get(
        "/metrics", environ_base=far, headers={"Authorization": "Bearer " + "m" * 40}
    )
    assert right.status_code == 200 and b"convene_inbound_messages" in right.data


def test_a_running_worker_makes_the_service_healthy_and_leaves_no_trace_when_stopped(
    database: TestDatabase, tmp_path: Path
) -> None:
    config = make_test_config(tmp_path, database.url)
    runtime = Runtime(config, database.engine, database.sessions, build_services(config))
    client = HttpClient(config.service.base_url)
    with RunningService(runtime, smtp=False):
        wait_for(lambda: client.get("/healthz").status == 200, message="a worker's heartbeat")
        assert "convene_workers 1.0" in client.get("/metrics").body
    with database.sessions() as s:
        assert s.scalars(select(WorkerHeartbeat)).all() == []  # stopped, not silent
