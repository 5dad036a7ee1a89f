"""RSVP pages under concurrent load: GET (show the page) and POST (record an answer) of signed links,
against a Flask hello-world served the same way in the same run.

Both apps run under gunicorn (2 workers x 8 threads, the production server) on
127.0.0.1, each warmed up first by requests that are not counted; C client
threads keep connections busy for a bounded number of requests and seconds. Reports requests/s, p50 and p99, and errors, on SQLite
and (when reachable) PostgreSQL.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import text

from bench.common import free_port, report
from mailer.db import make_engine, make_sessionmaker, migrate
from mailer.domain.lists import create_list
from mailer.domain.meetings import create_meeting
from mailer.domain.models import Base, Meeting, Person

HELLO = "from flask import Flask\napp = Flask('hello')\napp.get('/')(lambda: 'Hello, World!')\n"


def gunicorn(target: str, port: int, env: dict[str, str], cwd: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "8", "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", target], env=env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz" if "web.wsgi" in target else "/")
            conn.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.1)  # waiting for the server to start, not synchronising results
    proc.kill()
    raise RuntimeError(f"{target} did not start")


def load(port: int, make_request, total: int, concurrency: int, seconds: float):  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(total))
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        nonlocal errors
        state = {}
        for _ in counter:
            if time.monotonic() > deadline:
                return
            method, path, body, headers = make_request(n, state)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            start = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                ok = resp.status in (200, 302, 303)
            except OSError:
                ok = False
            finally:
                conn.close()
            with lock:
                latencies.append(time.perf_counter() - start)
                errors += 0 if ok else 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - started


def figures(label: str, result) -> dict[str, float]:  # type: ignore[no-untyped-def]
    lat, err, elapsed = result
    q = statistics.quantiles(lat, n=100)
    return {f"{label}_req_per_s": round(len(lat) / elapsed, 1), f"{label}_p50_ms": round(q[49] * 1000, 1),
            f"{label}_p99_ms": round(q[98] * 1000, 1), f"{label}_errors": err}


def prepare(url: str, tmp: Path, people: int) -> tuple[list[str], Path]:
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(text(f'DELETE FROM "{table.name}"'))
    sessions = make_sessionmaker(engine)
    config_path = tmp / "convene.toml"
    config_path.write_text(f'[service]\ndev_mode = true\nsecret_key = "{"b" * 48}"\ndata_dir = "{tmp}"\n'
                           f'[database]\nurl = "{url}"\n[mail]\ndomain = "bench.test"\n')
    from mailer.config import load_config
    from mailer.domain.services import build_services

    services = build_services(load_config(config_path))
    with sessions() as s:
        create_list(s, slug="forum", name="Forum", actor="bench")
    starts = datetime.now(timezone.utc) + timedelta(days=14)
    with sessions() as s:
        meeting = create_meeting(s, list_slug="forum", title="Bench Forum", starts_at=starts,
                                 ends_at=starts + timedelta(hours=2), venue="Room 1", actor="bench")
    tokens = []
    with sessions() as s, s.begin():
        for i in range(people):
            person = Person(email=f"p{i}@example.org")
            s.add(person)
            s.flush()
            tokens.append(services.links.rsvp_token(person, s.get(Meeting, meeting.id)))
    engine.dispose()
    return tokens, config_path


def main() -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=int, default=500,
                        help="requests sent to each server first and not counted (imports, template compilation)")
    parser.add_argument("--postgres", default=os.environ.get("CONVENE_TEST_POSTGRES_URL",
                                                              "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    root = str(Path(__file__).resolve().parent.parent)
    results: dict[str, object] = {"concurrency": args.concurrency, "server": "gunicorn -w 2 --threads 8"}
    with tempfile.TemporaryDirectory() as tmp:
        hello_dir = Path(tmp) / "hello"
        hello_dir.mkdir()
        (hello_dir / "hello_app.py").write_text(HELLO)
        port = free_port()
        proc = gunicorn("hello_app:app", port, {**os.environ}, str(hello_dir))
        try:
            load(port, lambda n, st: ("GET", "/", None, {}), args.warmup, args.concurrency, args.seconds)
            hello = load(port, lambda n, st: ("GET", "/", None, {}), args.requests, args.concurrency, args.seconds)
        finally:
            proc.terminate()
            proc.wait()
        results.update(figures("hello", hello))
        backends = [("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}")]
        try:
            engine = make_engine(args.postgres)
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            backends.append(("postgresql", args.postgres))
        except Exception as exc:  # noqa: BLE001 - reported, not fatal for a benchmark
            results["postgresql"] = f"not measured: {exc.__class__.__name__}"
        for name, url in backends:
            data = Path(tmp) / name
            data.mkdir()
            tokens, config_path = prepare(url, data, args.concurrency)
            port = free_port()
            proc = gunicorn("web.wsgi:app", port, {**os.environ, "CONVENE_CONFIG": str(config_path)}, root)
            try:
                page = lambda n, st: ("GET", f"/rsvp/{tokens[n]}/remote", None, {})  # noqa: E731
                load(port, page, args.warmup, args.concurrency, args.seconds)
                get = load(port, page, args.requests, args.concurrency, args.seconds)

                def post(n: int, state: dict):  # type: ignore[no-untyped-def]
                    if "csrf" not in state:  # each client opens its page once, as a person would
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                        conn.request("GET", f"/rsvp/{tokens[n]}/remote")
                        page = conn.getresponse().read().decode()
                        # The page's form token is signed for the link (no cookie) and serves all three choices.
                        state["csrf"] = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
                        conn.close()
                        state["i"] = 0
                    state["i"] += 1
                    choice = ("remote", "in-person", "decline")[state["i"] % 3]  # each POST changes the answer
                    return ("POST", f"/rsvp/{tokens[n]}/{choice}", f"csrf_token={state['csrf']}",
                            {"Content-Type": "application/x-www-form-urlencoded"})

                posted = load(port, post, args.requests // 2, args.concurrency, args.seconds)
            finally:
                proc.terminate()
                proc.wait()
            results.update(figures(f"{name}_get", get))
            results.update(figures(f"{name}_post", posted))
            results[f"{name}_get_ratio"] = round(results[f"{name}_get_req_per_s"] / results["hello_req_per_s"], 3)
            results[f"{name}_post_ratio"] = round(results[f"{name}_post_req_per_s"] / results["hello_req_per_s"], 3)
    return report("RSVP pages (signed links) under load vs Flask hello-world, gunicorn", results)


if __name__ == "__main__":
    main()
