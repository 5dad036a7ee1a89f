"""Outbound: queueing news to a large list, and delivery throughput against a raw client.

1. Enqueue: ``send_news_now`` for a list of 10,000 and of 100,000 members on
   SQLite (target: 100,000 under 10 s), with the Python heap's peak for each
   (it should stay flat as the list grows: members are streamed in chunks).
2. Delivery: Convene's worker step (claim, compose, send over C connections,
   record) into a null SMTP sink running in another process, against a raw
   aiosmtplib client sending the same bytes over the same number of
   connections in the same run (target: at least 60% of that ceiling). Run
   with DKIM off and on. Peak heap while delivering from a 10k and a 100k queue.

127.0.0.1 only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import subprocess
import tempfile
import time
import tracemalloc
from pathlib import Path

import aiosmtplib
from sqlalchemy import func, insert, select

from bench.common import bench_runtime, free_port, report
from mailer.domain.models import (
    OutboxMessage,
    OutboxStatus,
    Person,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from mailer.domain.news import create_news, send_news_now
from mailer.outbound.compose import Composer, make_dkim_signer
from mailer.outbound.delivery import deliver_batch
from mailer.outbound.senders import make_sender_pool
from mailer.runtime import Runtime


def _sink_process(port: int, ready) -> None:  # type: ignore[no-untyped-def]
    from aiosmtpd.smtp import SMTP

    class Null:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            return "250 OK"

    async def main() -> None:
        await asyncio.get_running_loop().create_server(
            lambda: SMTP(Null(), hostname="sink"), "127.0.0.1", port
        )
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def start_sink() -> tuple[multiprocessing.Process, int]:
    port = free_port()
    ready = multiprocessing.Event()
    proc = multiprocessing.Process(target=_sink_process, args=(port, ready), daemon=True)
    proc.start()
    ready.wait(10)
    return proc, port


def seed(runtime: Runtime, members: int) -> None:
    now = utcnow()
    with runtime.sessions() as s, s.begin():
        list_id = s.scalar(select(Subscription.list_id).limit(1)) or 1
        start = s.scalar(select(func.count()).select_from(Person)) or 0
        for base in range(start, members, 20000):
            s.execute(
                insert(Person),
                [
                    {"email": f"member{i:06}@example.org", "link_version": 1, "created_at": now}
                    for i in range(base, min(members, base + 20000))
                ],
            )
        ids = s.scalars(select(Person.id).where(Person.id > start)).all()
        for base in range(0, len(ids), 20000):
            s.execute(
                insert(Subscription),
                [
                    {
                        "person_id": pid,
                        "list_id": list_id,
                        "created_at": now,
                        "updated_at": now,
                        "status": SubscriptionStatus.ACTIVE,
                        "bounce_score": 0,
                    }
                    for pid in ids[base : base + 20000]
                ],
            )


def _news(runtime: Runtime) -> int:
    with runtime.sessions() as s:
        return create_news(
            s,
            list_slug="forum",
            subject="Quarterly news – ünïcode",
            body_markdown="# News\n\n" + "Some **news** for everyone. " * 40,
            actor="bench",
        ).id


def enqueue(runtime: Runtime, *, trace: bool = False) -> tuple[int, float, float]:
    """Queue one news item to the whole list: (messages, seconds, peak heap MiB if traced)."""
    news_id = _news(runtime)
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with runtime.sessions() as s:
        count = send_news_now(s, runtime.services, news_id, actor="bench")
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else 0.0
    if trace:
        tracemalloc.stop()
    return count, elapsed, peak


def deliver(runtime: Runtime, limit: int, seconds: float) -> tuple[int, float]:
    config = runtime.config
    pool = make_sender_pool(config)
    composer = Composer(config, runtime.services.links, make_dkim_signer(config))

    async def go() -> int:
        sent = 0
        deadline = time.monotonic() + seconds
        try:
            while sent < limit and time.monotonic() < deadline:
                handled = await deliver_batch(runtime.sessions, pool, composer, config, "bench")
                if not handled:
                    break
                sent += handled
        finally:
            await pool.close()
        return sent

    started = time.perf_counter()
    asyncio.run(go())
    elapsed = time.perf_counter() - started
    with runtime.sessions() as s:
        sent = s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.SENT)
        )
    return sent, elapsed


def delivery_peak_memory(runtime: Runtime, limit: int) -> float:
    """Peak Python heap while delivering ``limit`` more messages (traced, so run apart from
    timing)."""
    tracemalloc.start()
    deliver(runtime, limit, 60)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def sample_message(runtime: Runtime) -> tuple[bytes, str, str]:
    with runtime.sessions() as s, s.begin():
        row = s.scalar(
            select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.QUEUED).limit(1)
        )
        from mailer.domain.models import Mailing

        mailing = s.get(Mailing, row.mailing_id)
        raw = Composer(runtime.config, runtime.services.links).compose(row, mailing, 1)
        return raw, row.sender, row.recipient


def raw_ceiling(
    port: int, raw: bytes, sender: str, recipient: str, count: int, connections: int
) -> float:
    async def lane(n: int) -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as client:
            for _ in range(n):
                await client.sendmail(sender, [recipient], raw)

    async def main() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(lane(count // connections) for _ in range(connections)))
        return (count // connections * connections) / (time.perf_counter() - started)

    return asyncio.run(main())


def runtime_for(tmp: Path, port: int, connections: int, dkim_key: Path | None = None) -> Runtime:
    runtime = bench_runtime(tmp)
    delivery = {
        "backend": "smtp",
        "connections": connections,
        "smarthost": {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 30.0},
    }
    if dkim_key:
        delivery["dkim"] = {"selector": "bench", "private_key_file": str(dkim_key)}
    config = runtime.config.replace(delivery=delivery, worker={"batch_size": 200})
    return Runtime(config, runtime.engine, runtime.sessions, runtime.services)


def main() -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument(
        "--deliver", type=int, default=10_000, help="messages to deliver per measurement"
    )
    parser.add_argument("--dkim-deliver", type=int, default=1_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=120)
    args = parser.parse_args()
    sink, port = start_sink()
    figures: dict[str, object] = {"connections": args.connections}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for label, size in (("10k", args.small), ("100k", args.members)):
                rt = runtime_for(Path(tmp) / label, port, args.connections)
                seed(rt, size)
                n, t, _ = enqueue(rt)
                _, _, peak = enqueue(rt, trace=True)  # a second news item, traced for memory
                figures.update(
                    {
                        f"enqueue_{label}_members": n,
                        f"enqueue_{label}_s": round(t, 2),
                        f"enqueue_{label}_peak_mib": round(peak, 1),
                    }
                )
                sent, t = deliver(rt, args.deliver, args.seconds)
                figures.update(
                    {
                        f"deliver_{label}_queue_msgs": sent,
                        f"deliver_{label}_queue_msgs_per_s": round(sent / t, 1),
                        f"deliver_{label}_queue_peak_mib": round(delivery_peak_memory(rt, 2000), 1),
                    }
                )
                raw, sender, recipient = sample_message(rt)
                rt.engine.dispose()

            ceiling = raw_ceiling(port, raw, sender, recipient, args.deliver, args.connections)
            ours = float(figures["deliver_10k_queue_msgs_per_s"])
            figures.update(
                raw_aiosmtplib_msgs_per_s=round(ceiling, 1),
                message_bytes=len(raw),
                ratio_to_raw=round(ours / ceiling, 3),
            )

            key = Path(tmp) / "dkim.pem"
            subprocess.run(
                ["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True
            )
            signed = runtime_for(Path(tmp) / "dkim", port, args.connections, key)
            seed(signed, args.dkim_deliver)
            enqueue(signed)
            sent, t = deliver(signed, args.dkim_deliver, args.seconds)
            figures.update(dkim_deliver_msgs=sent, dkim_deliver_msgs_per_s=round(sent / t, 1))
            signed.engine.dispose()
    finally:
        sink.terminate()
    return report("outbound: enqueue news, deliver to a null sink vs raw aiosmtplib", figures)


if __name__ == "__main__":
    main()
