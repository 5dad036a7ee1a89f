"""Public RSVP page (GET of a signed link) against a Flask hello-world, same server, same client.

Both apps run under werkzeug's threaded server on 127.0.0.1; C client threads
make N requests in all, bounded in time. Reports throughput and p50/p99.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask import Flask
from werkzeug.serving import make_server

from bench.common import free_port, report, sqlite_runtime
from mailer.domain.meetings import create_meeting
from mailer.domain.models import Meeting, Person
from web import create_app


def serve(app: Flask, port: int):  # type: ignore[no-untyped-def]
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return server


def load(port: int, path: str, total: int, concurrency: int, seconds: float) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(total))
    deadline = time.monotonic() + seconds

    def client() -> None:
        nonlocal errors
        for _ in counter:
            if time.monotonic() > deadline:
                return
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            start = time.perf_counter()
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except OSError:
                ok = False
            finally:
                conn.close()
            with lock:
                latencies.append(time.perf_counter() - start)
                errors += 0 if ok else 1

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - start


def pct(values: list[float], q: float) -> float:
    return round(statistics.quantiles(values, n=100)[int(q) - 1] * 1000, 2)


def main() -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()

    hello = Flask("hello")
    hello.get("/")(lambda: "Hello, World!")
    hello_port = free_port()
    hello_server = serve(hello, hello_port)
    base_lat, base_err, base_time = load(hello_port, "/", args.requests, args.concurrency, args.seconds)
    hello_server.shutdown()

    with tempfile.TemporaryDirectory() as tmp:
        runtime = sqlite_runtime(Path(tmp))
        starts = datetime.now(timezone.utc) + timedelta(days=14)
        with runtime.sessions() as s:
            meeting = create_meeting(s, list_slug="forum", title="Bench Forum", starts_at=starts,
                                     ends_at=starts + timedelta(hours=2), venue="Room 1", actor="bench")
        with runtime.sessions() as s, s.begin():
            person = Person(email="sam@example.org", display_name="Sam")
            s.add(person)
            s.flush()
            url = runtime.services.links.rsvp_url(person, s.get(Meeting, meeting.id), "remote")
        app = create_app(runtime.config, session_factory=runtime.sessions, services=runtime.services)
        port = runtime.config.web.port
        server = serve(app, port)
        path = url.split(f":{port}", 1)[1]
        lat, err, elapsed = load(port, path, args.requests, args.concurrency, args.seconds)
        server.shutdown()
        runtime.engine.dispose()

    rate, base_rate = len(lat) / elapsed, len(base_lat) / base_time
    return report("RSVP page GET (signed link, SQLite) vs Flask hello-world", {
        "requests": len(lat), "concurrency": args.concurrency, "errors": err + base_err,
        "convene_req_per_s": round(rate, 1), "hello_req_per_s": round(base_rate, 1),
        "ratio": round(rate / base_rate, 3),
        "convene_p50_ms": pct(lat, 50), "convene_p99_ms": pct(lat, 99),
        "hello_p50_ms": pct(base_lat, 50), "hello_p99_ms": pct(base_lat, 99),
    })


if __name__ == "__main__":
    main()
