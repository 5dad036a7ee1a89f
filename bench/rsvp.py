"""RSVP pages under concurrent load: GET (show the page) and POST (record an answer) of signed
links, against a Flask hello-world served the same way in the same run.

Both apps run under gunicorn (2 workers x 8 threads, the production server) on
127.0.0.1, each warmed up first by requests that are not counted. The load
comes from wrk (C, two threads, C connections, each request on a new
connection as when a link is opened from an email) for a bounded time; where
wrk is not installed, from C Python client threads, which are slower than
the servers they measure, so their ratios come out higher. Reports
requests/s, p50 and p99, and errors, on SQLite and (when reachable)
PostgreSQL; and the same for ``bench.rsvp_floor``, the least such pages can
do on this stack (signature, one read, a fixed page; one small write
transaction), as the ceiling any implementation could reach here.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from bench.common import free_port, report
from mailer.db import make_engine, make_sessionmaker, migrate
from mailer.domain.lists import create_list
from mailer.domain.meetings import create_meeting
from mailer.domain.models import Base, Meeting, Person

HELLO = "from flask import Flask\napp = Flask('hello')\napp.get('/')(lambda: 'Hello, World!')\n"


def gunicorn(
    target: str, port: int, env: dict[str, str], cwd: str, workers: int = 2, threads: int = 8
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            target,
        ],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
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
    if isinstance(result, dict):  # measured by wrk
        return {f"{label}_{key}": value for key, value in result.items()}
    lat, err, elapsed = result
    q = statistics.quantiles(lat, n=100)
    return {
        f"{label}_req_per_s": round(len(lat) / elapsed, 1),
        f"{label}_p50_ms": round(q[49] * 1000, 1),
        f"{label}_p99_ms": round(q[98] * 1000, 1),
        f"{label}_errors": err,
    }


_WRK_SCRIPT = """
local requests = {%s}
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  -- threads start half a cycle apart: no two send the same request together
  n = id * math.floor(#requests / 2)
end
request = function()
  n = n + 1
  local r = requests[(n %% #requests) + 1]
  return wrk.format(r[1], r[2], r[3], r[4])
end
"""


def wrk(
    port: int,
    requests: list[tuple[str, str, str | None]],
    concurrency: int,
    seconds: float,
    workdir: Path,
) -> dict[str, float]:
    """Requests/s, p50, p99 and errors of wrk cycling through (method, path, form body) on
    127.0.0.1."""

    def lua(text: str | None) -> str:
        return "nil" if text is None else '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    rows = []
    for method, path, body in requests:
        headers = (
            '{["Connection"]="close", ["Content-Type"]="application/x-www-form-urlencoded"}'
            if body
            else '{["Connection"]="close"}'
        )
        rows.append(f"{{{lua(method)}, {lua(path)}, {headers}, {lua(body)}}}")
    script = workdir / f"wrk-{port}.lua"
    script.write_text(_WRK_SCRIPT % ", ".join(rows))
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{concurrency}",
            f"-d{max(1, int(seconds))}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
        return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 1)

    errors = sum(
        int(n)
        for n in re.findall(
            r"(?:Non-2xx or 3xx responses|timeout|read|write|connect)\s*:?\s+(\d+)", out
        )
    )
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"req_per_s": round(rate, 1), "p50_ms": ms("50"), "p99_ms": ms("99"), "errors": errors}


def prepare(url: str, tmp: Path, people: int) -> tuple[list[str], Path]:
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(text(f'DELETE FROM "{table.name}"'))
    sessions = make_sessionmaker(engine)
    config_path = tmp / "convene.toml"
    config_path.write_text(
        f'[service]\ndev_mode = true\nsecret_key = "{"b" * 48}"\ndata_dir = "{tmp}"\n'
        f'[database]\nurl = "{url}"\n[mail]\ndomain = "bench.test"\n'
    )
    from mailer.config import load_config
    from mailer.domain.services import build_services

    services = build_services(load_config(config_path))
    with sessions() as s:
        create_list(s, slug="forum", name="Forum", actor="bench")
    starts = datetime.now(UTC) + timedelta(days=14)
    with sessions() as s:
        meeting = create_meeting(
            s,
            list_slug="forum",
            title="Bench Forum",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            venue="Room 1",
            actor="bench",
        )
    tokens = []
    with sessions() as s, s.begin():
        for i in range(people):
            person = Person(email=f"p{i}@example.org")
            s.add(person)
            s.flush()
            tokens.append(services.links.rsvp_token(person, s.get(Meeting, meeting.id)))
    engine.dispose()
    return tokens, config_path


def _form_token(port: int, token: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", f"/rsvp/{token}/remote")
        page = conn.getresponse().read().decode()
    finally:
        conn.close()
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def main() -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--warmup",
        type=int,
        default=500,
        help="requests sent to each server first and not counted (imports, template compilation)",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "CONVENE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument(
        "--client",
        choices=["wrk", "python"],
        default="wrk" if shutil.which("wrk") else "python",
        help="load generator (wrk when installed)",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn worker processes (both apps)"
    )
    parser.add_argument(
        "--threads", type=int, default=8, help="threads per gunicorn worker (both apps)"
    )
    parser.add_argument(
        "--no-floor",
        dest="floor",
        action="store_false",
        help="skip bench.rsvp_floor (the least these pages can do on this stack)",
    )
    parser.add_argument(
        "--wrk-seconds", type=float, default=10, help="length of each measured wrk run"
    )
    args = parser.parse_args()
    root = str(Path(__file__).resolve().parent.parent)
    results: dict[str, object] = {
        "concurrency": args.concurrency,
        "server": f"gunicorn -w {args.workers} --threads {args.threads}",
        "client": "wrk -t2, Connection: close"
        if args.client == "wrk"
        else "Python http.client threads",
    }
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)

        def measure(port: int, requests: list[tuple[str, str, str | None]], python_total: int):  # type: ignore[no-untyped-def]
            """Warm up (not counted), then measure the server cycling through ``requests``."""
            if args.client == "wrk":
                wrk(port, requests, args.concurrency, 2, workdir)
                return wrk(port, requests, args.concurrency, args.wrk_seconds, workdir)

            def next_request(n: int, state: dict):  # type: ignore[no-untyped-def]
                state["i"] = state.get("i", n * 7) + 1
                method, path, body = requests[state["i"] % len(requests)]
                return (
                    method,
                    path,
                    body,
                    {"Content-Type": "application/x-www-form-urlencoded"} if body else {},
                )

            load(port, next_request, args.warmup, args.concurrency, args.seconds)
            return load(port, next_request, python_total, args.concurrency, args.seconds)

        hello_dir = workdir / "hello"
        hello_dir.mkdir()
        (hello_dir / "hello_app.py").write_text(HELLO)
        port = free_port()
        proc = gunicorn(
            "hello_app:app", port, {**os.environ}, str(hello_dir), args.workers, args.threads
        )
        try:
            hello = measure(port, [("GET", "/", None)], args.requests)
        finally:
            proc.terminate()
            proc.wait()
        results.update(figures("hello", hello))
        backends = [("sqlite", f"sqlite:///{workdir / 'bench.db'}")]
        try:
            engine = make_engine(args.postgres)
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            backends.append(("postgresql", args.postgres))
        except Exception as exc:  # noqa: BLE001 - reported, not fatal for a benchmark
            results["postgresql"] = f"not measured: {exc.__class__.__name__}"
        for name, url in backends:
            data = workdir / name
            data.mkdir()
            tokens, config_path = prepare(url, data, args.concurrency)
            apps = [(name, "web.wsgi:app")] + (
                [(f"{name}_floor", "bench.rsvp_floor:app")] if args.floor else []
            )
            for label, target in apps:
                port = free_port()
                proc = gunicorn(
                    target,
                    port,
                    {**os.environ, "CONVENE_CONFIG": str(config_path)},
                    root,
                    args.workers,
                    args.threads,
                )
                try:
                    get = measure(
                        port,
                        [("GET", f"/rsvp/{token}/remote", None) for token in tokens],
                        args.requests,
                    )
                    # Each link's page is opened once, as a person would, for its form token (signed
                    # for the
                    # link, no cookie, good for all three choices); then every POST changes an
                    # answer.
                    form_tokens = {token: _form_token(port, token) for token in tokens}
                    posts = [
                        ("POST", f"/rsvp/{token}/{choice}", f"csrf_token={form_tokens[token]}")
                        for choice in ("in-person", "decline", "remote")
                        for token in tokens
                    ]
                    posted = measure(port, posts, args.requests // 2)
                finally:
                    proc.terminate()
                    proc.wait()
                results.update(figures(f"{label}_get", get))
                results.update(figures(f"{label}_post", posted))
                for step in ("get", "post"):
                    results[f"{label}_{step}_ratio"] = round(
                        results[f"{label}_{step}_req_per_s"] / results["hello_req_per_s"], 3
                    )
    return report("RSVP pages (signed links) under load vs Flask hello-world, gunicorn", results)


if __name__ == "__main__":
    main()
