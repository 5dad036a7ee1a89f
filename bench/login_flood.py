"""The RSVP page while strangers flood the login form: its p99 with and without 20 clients
guessing passwords as fast as they can, and beside the same 20 clients only fetching the login
form (the load of their requests, with no password to check: the ceiling of what limiting the
checks can reach). The flooders run in a process of their own, as they would on machines of
their own, sharing only the cores.

Every password check costs the service an argon2 verification (tens of
milliseconds of CPU), so unthrottled guessing slows every page. Convene holds
a client back after 10 attempts at one address, or 30 in all, in 15 minutes,
before any password is checked. The flooding clients each come from their own
address (sent as X-Forwarded-For, believed with ``trusted_proxies = 1``, as
behind one reverse proxy), so the limit per address is what is measured, not
one shared limit. Everything runs on 127.0.0.1 under gunicorn, bounded in
count and time.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import free_port, report
from bench.rsvp import figures, gunicorn, load, prepare
from mailer.db import make_engine, make_sessionmaker
from mailer.domain.organisers import create_organiser

ORGANISER, PASSWORD = "organiser@bench.test", "the right password, long"


def _flood(
    port: int, client: int, stop: threading.Event, answers: dict[str, int], guess: bool = True
) -> None:
    """One guessing client: the login form, then a wrong password, over and over until told to
    stop (``guess`` False: the form alone, the same load with no password to check)."""
    address = f"198.51.100.{client + 1}"
    while not stop.is_set():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", "/login", headers={"X-Forwarded-For": address})
            page = conn.getresponse()
            body = page.read().decode()
            cookie = page.getheader("Set-Cookie", "").split(";", 1)[0]
            if page.status == 429:
                answers["held back at once"] = answers.get("held back at once", 0) + 1
                continue
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body)
            if token is None or not guess:
                answers["form only"] = answers.get("form only", 0) + 1
                continue
            form = f"csrf_token={token.group(1)}&email={ORGANISER}&password=guess{client}"
            conn.request(
                "POST",
                "/login",
                body=form,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": cookie,
                    "X-Forwarded-For": address,
                },
            )
            text = conn.getresponse().read().decode()
        except OSError:
            continue
        finally:
            conn.close()
        kind = (
            "held back"
            if "Too many attempts" in text
            else "asked to try again in a moment"
            if "Many logins are being checked" in text
            else "checked"
        )
        answers[kind] = answers.get(kind, 0) + 1


def _flooders(port: int, count: int, ready: Any, stop: Any, counted: Any, guess: bool) -> None:
    """The flooding clients, in a process of their own (as they would be on machines of their
    own): their work never holds the interpreter lock the measuring clients need. Sets
    ``ready`` once every client has been answered once; puts what they were answered on
    ``counted`` once told to stop."""
    local_stop, answers = threading.Event(), {}
    threads = [
        threading.Thread(target=_flood, args=(port, n, local_stop, answers, guess))
        for n in range(count)
    ]
    for thread in threads:
        thread.start()
    while sum(answers.values()) < count and not stop.is_set():
        time.sleep(0.05)
    ready.set()
    stop.wait()
    local_stop.set()
    for thread in threads:
        thread.join(60)
    counted.put(answers)


def main() -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1500, help="RSVP page GETs per phase")
    parser.add_argument("--concurrency", type=int, default=4, help="RSVP page clients")
    parser.add_argument("--flooders", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30, help="bound on each phase")
    args = parser.parse_args()
    results: dict[str, Any] = {"flooders": args.flooders}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        tokens, config_path = prepare(url, Path(tmp), people=200)
        config_path.write_text(config_path.read_text() + "[web]\ntrusted_proxies = 1\n")
        engine = make_engine(url)
        with make_sessionmaker(engine)() as session:
            create_organiser(session, email=ORGANISER, password=PASSWORD, actor="bench")
        engine.dispose()
        port = free_port()
        env = {**os.environ, "CONVENE_CONFIG": str(config_path)}
        server = gunicorn("web.wsgi:app", port, env, str(Path(__file__).resolve().parents[1]))
        try:

            def page(n: int, _state: dict[str, str]) -> tuple[str, str, None, dict[str, str]]:
                return "GET", f"/rsvp/{tokens[n % len(tokens)]}/remote", None, {}

            load(port, page, 200, args.concurrency, args.seconds)  # warm up, not counted
            results.update(figures("quiet", load(port, page, args.requests, 4, args.seconds)))
            spawn = multiprocessing.get_context("spawn")
            for phase, guess in (("forms", False), ("flooded", True)):
                ready, stop, counted = spawn.Event(), spawn.Event(), spawn.Queue()
                flooders = spawn.Process(
                    target=_flooders, args=(port, args.flooders, ready, stop, counted, guess)
                )
                flooders.start()
                ready.wait(60)
                try:
                    loaded = load(port, page, args.requests, args.concurrency, args.seconds)
                finally:
                    stop.set()
                    answers = counted.get(timeout=90)
                    flooders.join(60)
                results.update(figures(phase, loaded))
                results[f"{phase}_login_requests"] = answers
            results["p99_ratio_flooded_to_quiet"] = round(
                results["flooded_p99_ms"] / results["quiet_p99_ms"], 2
            )
            results["p99_ratio_flooded_to_forms"] = round(
                results["flooded_p99_ms"] / results["forms_p99_ms"], 2
            )
        finally:
            server.terminate()
            server.wait(30)
    return report("login_flood", results)


if __name__ == "__main__":
    main()
