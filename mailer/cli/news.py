"""``convene news``: news to a list, written in Markdown: preview, a test copy, send, report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from mailer.cli.context import pass_services, pass_session
from mailer.cli.options import echo_result, json_option, markdown_file_option, timezone_option
from mailer.rendering import counted

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mailer.domain.services import Services


@click.group("news", subcommand_metavar="ACTION [ARGS]...")
def news() -> None:
    """News to a list."""


@news.command()
@click.option("--list", "list_slug", required=True, help="the list's slug")
@click.option("--subject", required=True)
@markdown_file_option("--body-file", "body")
@json_option
@pass_session
def create(session: Session, list_slug: str, subject: str, body: str, as_json: bool) -> None:
    """Write a news item (Markdown) as a draft."""
    from mailer.domain.news import create_news

    item = create_news(
        session, list_slug=list_slug, subject=subject, body_markdown=body, actor="cli"
    )
    echo_result(
        as_json, {"id": item.id, "status": item.status.value}, f"Created news {item.id} (draft)."
    )


@news.command("list")
@json_option
@pass_session
def list_(session: Session, as_json: bool) -> None:
    """List news items."""
    from mailer.domain.news import list_news

    rows: list[dict[str, Any]] = [
        {
            "id": n.id,
            "list": n.mailing_list.slug,
            "subject": n.subject,
            "status": n.status.value,
            "scheduled_at": n.scheduled_at.isoformat() if n.scheduled_at else None,
            "sent_at": n.sent_at.isoformat() if n.sent_at else None,
        }
        for n in list_news(session)
    ]
    echo_result(
        as_json,
        rows,
        (f"{row['id']:>5}  {row['status']:10} {row['list']:16} {row['subject']}" for row in rows),
    )


@news.command()
@click.argument("news_id", type=int)
@click.option("--html", is_flag=True, help="print the HTML part instead of the text")
@pass_services
@pass_session
def preview(services: Services, session: Session, news_id: int, html: bool) -> None:
    """Show a news item as members will get it."""
    from mailer.domain.news import preview_news

    rendered = preview_news(session, services, news_id)
    click.echo(rendered.html if html else f"Subject: {rendered.subject}\n\n{rendered.text}")


@news.command()
@click.argument("news_id", type=int)
@click.argument("email")
@pass_services
@pass_session
def test(services: Services, session: Session, news_id: int, email: str) -> None:
    """Send one test copy to an address."""
    from mailer.domain.news import send_test

    send_test(session, services, news_id, to_email=email, actor="cli")
    click.echo(f"Queued a test copy to {email}.")


@news.command()
@click.argument("news_id", type=int)
@click.option("--at", help="local time to send, e.g. '2026-03-12 09:00'")
@timezone_option
@json_option
@pass_services
@pass_session
def send(
    services: Services, session: Session, news_id: int, at: str | None, timezone: str, as_json: bool
) -> None:
    """Send a news item now, or schedule it with --at."""
    from mailer.domain.meetings import parse_local_datetime
    from mailer.domain.news import schedule_news, send_news_now

    if at:
        when = parse_local_datetime(at, timezone, "at")
        schedule_news(session, news_id, at=when, actor="cli")
        echo_result(
            as_json,
            {"id": news_id, "status": "scheduled", "at": when.isoformat()},
            f"News {news_id} scheduled for {when.isoformat()}.",
        )
    else:
        count = send_news_now(session, services, news_id, actor="cli")
        echo_result(
            as_json,
            {"id": news_id, "status": "sent", "recipients": count},
            f"News {news_id} queued for {counted(count, 'member')}.",
        )


@news.command()
@click.argument("news_id", type=int)
@json_option
@pass_session
def report(session: Session, news_id: int, as_json: bool) -> None:
    """Delivery results of a sent news item."""
    from mailer.domain.news import delivery_report, get_news

    item = get_news(session, news_id)
    if item.mailing_id is None:
        click.echo(f"News {item.id} has not been sent ({item.status.value}).")
        return
    result = delivery_report(session, item.mailing_id)
    data = {
        "queued": result.queued,
        "sending": result.sending,
        "sent": result.sent,
        "failed": result.failed,
        "failures": [{"recipient": r, "error": e} for r, e in result.recent_failures],
    }
    echo_result(
        as_json,
        data,
        [
            f"sent {result.sent}, queued {result.queued}, sending {result.sending}, failed "
            f"{result.failed}",
            *(f"  {r}: {e}" for r, e in result.recent_failures),
        ],
    )
