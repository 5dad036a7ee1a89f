"""The service's figures in the Prometheus text format, built with prometheus_client: one fresh
registry per scrape, so every figure is read from the database when asked for and the web
workers share nothing."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from mailer.domain.health import Figures


def prometheus_text(figures: Figures) -> tuple[bytes, str]:
    """The exposition text of ``figures``, and its content type."""
    registry = CollectorRegistry()
    inbound = Gauge(
        "convene_inbound_messages",
        "Inbound messages by status (new and processing are the backlog)",
        ["status"],
        registry=registry,
    )
    for status, count in figures.inbound.items():
        inbound.labels(status).set(count)
    outbox = Gauge(
        "convene_outbox_messages", "Outgoing messages by status", ["status"], registry=registry
    )
    for status, count in figures.outbox.items():
        outbox.labels(status).set(count)
    Gauge(
        "convene_outbox_oldest_queued_seconds",
        "Age of the oldest message waiting to be sent (0: none waits)",
        registry=registry,
    ).set(figures.oldest_queued_seconds)
    Gauge(
        "convene_inbound_oldest_unread_seconds",
        "Age of the oldest inbound message not yet handled (0: none waits)",
        registry=registry,
    ).set(figures.oldest_unread_seconds)
    Gauge("convene_sent_last_hour", "Messages delivered in the last hour", registry=registry).set(
        figures.sent_last_hour
    )
    bounces = Gauge("convene_bounces", "Bounces recorded, by kind", ["kind"], registry=registry)
    for kind, count in figures.bounces_by_kind.items():
        bounces.labels(kind).set(count)
    workers = Gauge(
        "convene_worker_last_seen_seconds",
        "Seconds since each running worker was last seen at work",
        ["worker"],
        registry=registry,
    )
    for worker, ago in figures.workers.items():
        workers.labels(worker).set(ago)
    Gauge("convene_workers", "Workers that have said they are running", registry=registry).set(
        len(figures.workers)
    )
    return generate_latest(registry), CONTENT_TYPE_LATEST
