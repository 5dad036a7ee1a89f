"""Inbound: SMTP acceptance (stored before 250) against a null aiosmtpd handler, and processing.

1. Accept + store: both servers run the same way (asyncio server in a
   background thread) on 127.0.0.1; the client sends the same message over C
   concurrent aiosmtplib connections, N messages in all.
2. Process: the worker step (parse, read the new text, classify, register the
   sender for the meeting, queue the threaded reply, commit) over the stored
   messages, each from a different sender.

Bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from datetime import UTC
from pathlib import Path

import aiosmtplib
from aiosmtpd.smtp import SMTP

from bench.common import PROVEN, bench_runtime, free_port, report
from mailer.inbound.server import InboundServer

#: A registration from a member, through an MTA that saw it pass DMARC.
MESSAGE = PROVEN + (
    b"From: Sam <sam%d@example.org>\r\nTo: forum@bench.test\r\nSubject: Forum\r\n"
    b"Message-ID: <%d@example.org>\r\n\r\nPlease register me, I will join remotely.\r\n"
    + (b"x" * 76 + b"\r\n")
    * 26
)


class NullHandler:
    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        return "250 OK"


def run_in_thread(start_coro_factory):  # type: ignore[no-untyped-def]
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def main() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start_coro_factory())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    ready.wait(10)
    return loop, thread


async def blast(
    port: int, total: int, concurrency: int, deadline: float, message: bytes = MESSAGE
) -> tuple[int, float]:
    sent = 0
    counter = iter(range(total))

    async def one_connection() -> None:
        nonlocal sent
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as client:
            for i in counter:
                if time.monotonic() > deadline:
                    return
                await client.sendmail(f"sam{i}@example.org", ["forum@bench.test"], message % (i, i))
                sent += 1

    start = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(concurrency)))
    return sent, time.perf_counter() - start


def measure(
    port: int, total: int, concurrency: int, seconds: float, message: bytes = MESSAGE
) -> tuple[int, float]:
    return asyncio.run(blast(port, total, concurrency, time.monotonic() + seconds, message))


def main() -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes for the processing step"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="[worker] batch_size: messages a worker claims at a time (default: the configured "
        "default)",
    )
    parser.add_argument(
        "--messages-per-transaction",
        type=int,
        default=None,
        help="[worker] messages_per_transaction for the processing step (default: the configured "
        "default)",
    )
    parser.add_argument(
        "--capacity",
        type=int,
        default=None,
        help="in-person places of the meeting registered for (default: none; with one, every "
        "answer to it takes the meeting's lock on PostgreSQL)",
    )
    parser.add_argument(
        "--in-person",
        action="store_true",
        help="the messages ask for an in-person place (default: they register to join remotely)",
    )
    parser.add_argument(
        "--database",
        default="",
        help="database URL to run on (its tables are emptied first); default: a new SQLite file",
    )
    args = parser.parse_args()

    null_port = free_port()

    async def start_null() -> None:
        await asyncio.get_running_loop().create_server(
            lambda: SMTP(NullHandler(), hostname="bench.test"), "127.0.0.1", null_port
        )

    run_in_thread(start_null)
    null_sent, null_time = measure(null_port, args.messages, args.concurrency, args.seconds)

    with tempfile.TemporaryDirectory() as tmp:
        runtime = bench_runtime(
            Path(tmp),
            domain="bench.test",
            database_url=args.database,
            members=[f"sam{i}@example.org" for i in range(args.messages)],
        )
        port = runtime.config.inbound.port
        server = InboundServer(runtime.config, runtime.sessions)

        async def start() -> None:
            await server.start()

        run_in_thread(start)
        message = (
            MESSAGE.replace(b"I will join remotely", b"I will attend in person")
            if args.in_person
            else MESSAGE
        )
        sent, elapsed = measure(port, args.messages, args.concurrency, args.seconds, message)
        worker = {
            key: value
            for key, value in (
                ("batch_size", args.batch_size),
                ("messages_per_transaction", args.messages_per_transaction),
            )
            if value is not None
        }
        config_worker = (runtime.config.replace(worker=worker) if worker else runtime.config).worker
        processed, process_time = process_all(
            runtime, args.seconds, args.workers, worker, args.capacity
        )
        runtime.engine.dispose()

    null_rate, rate = null_sent / null_time, sent / elapsed
    backend = "PostgreSQL" if args.database.startswith("postgres") else "SQLite WAL"
    return report(
        f"inbound: SMTP accept (stored before 250) and processing, {backend}",
        {
            "messages": sent,
            "concurrency": args.concurrency,
            "accept_msgs_per_s": round(rate, 1),
            "null_handler_msgs_per_s": round(null_rate, 1),
            "accept_ratio": round(rate / null_rate, 3),
            "processed": processed,
            "worker_processes": args.workers,
            "capacity": args.capacity,
            "answers": "in person" if args.in_person else "remote",
            "batch_size": config_worker.batch_size,
            "messages_per_transaction": config_worker.messages_per_transaction,
            "process_msgs_per_s": round(processed / process_time, 1),
            "process_to_accept_ratio": round(processed / process_time / rate, 3),
        },
    )


def process_all(
    runtime,
    seconds: float,
    workers: int = 1,  # type: ignore[no-untyped-def]
    worker: dict[str, int] | None = None,
    capacity: int | None = None,
) -> tuple[int, float]:
    """Run the worker's inbound step, in ``workers`` processes, until every stored message is
    processed."""
    from datetime import datetime, timedelta
    from multiprocessing import get_context

    from mailer.domain.meetings import create_meeting

    starts = datetime.now(UTC) + timedelta(days=14)
    with runtime.sessions() as s:
        create_meeting(
            s,
            list_slug="forum",
            title="Bench Forum",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            venue="Room 1",
            capacity=capacity,
            actor="bench",
        )
    config = runtime.config.replace(worker=worker) if worker else runtime.config
    if workers == 1:
        processed, started, finished = _process_loop(config, seconds)
        return processed, finished - started
    # Each process imports and connects first; the clock starts when all of them are ready.
    context = get_context("spawn")
    ready, results = context.Barrier(workers), context.Queue()
    processes = [
        context.Process(target=_process_loop, args=(config, seconds, ready, results))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    runs = [results.get(timeout=seconds + 60) for _ in processes]
    for process in processes:
        process.join(10)
    return sum(r[0] for r in runs), max(r[2] for r in runs) - min(r[1] for r in runs)


def _process_loop(config, seconds: float, ready=None, results=None):  # type: ignore[no-untyped-def]
    """One worker process: claim batches and process them until none are left (replies stay queued).

    Returns (messages processed, start, end) on the monotonic clock, which all processes share.
    """
    from mailer.db import make_engine, make_sessionmaker
    from mailer.domain.services import build_services
    from mailer.inbound.process import process_inbound_batch
    from mailer.outbound.senders import SenderPool
    from mailer.worker import Worker

    class NoDelivery:
        async def close(self) -> None: ...

    engine = make_engine(config.database_url)
    sessions, services = make_sessionmaker(engine), build_services(config)
    worker = Worker(config, sessions, services, SenderPool([NoDelivery()]))  # type: ignore[list-item]
    if ready is not None:
        ready.wait(60)
    done = 0
    started = time.monotonic()
    deadline = started + seconds
    while time.monotonic() < deadline:
        ids = worker._claim_inbound()
        if not ids:
            break
        process_inbound_batch(sessions, services, ids)
        done += len(ids)
    finished = time.monotonic()
    engine.dispose()
    if results is not None:
        results.put((done, started, finished))
    return done, started, finished


if __name__ == "__main__":
    main()
