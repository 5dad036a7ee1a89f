"""``convene meeting``: meetings and series, invitations, updates, the agenda, who is coming."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mailer.cli.context import pass_config, pass_services, pass_session
from mailer.cli.options import (
    echo_json,
    echo_result,
    json_option,
    markdown_file_option,
    timezone_option,
)
from mailer.config import Config
from mailer.rendering import counted

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mailer.domain.services import Services

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = click.Choice(["in_person", "remote", "hybrid"])


@click.group("meeting", subcommand_metavar="ACTION [ARGS]...")
def meetings() -> None:
    """Meetings."""


def meeting_details(command: F) -> F:
    """The options ``meeting create`` and ``meeting series`` share, after --starts and --ends."""
    for option in reversed(
        [
            timezone_option,
            click.option(
                "--format", "meeting_format", type=FORMATS, default="hybrid", show_default=True
            ),
            click.option("--venue", default="", help="sent only to in-person delegates"),
            click.option("--dial-in", default="", help="sent only to remote delegates"),
            click.option(
                "--description", default="", help="public: on its page and in invitations"
            ),
            click.option(
                "--location",
                default="",
                help="public, in a few words, e.g. 'London and online' (never the venue)",
            ),
            click.option("--capacity", type=int, help="in-person places"),
        ]
    ):
        command = option(command)
    return command


@meetings.command()
@click.option("--list", "list_slug", required=True, help="the list's slug")
@click.option("--title", required=True)
@click.option("--starts", required=True, help="local start, e.g. '2026-03-12 14:00'")
@click.option("--ends", required=True, help="local end, e.g. '2026-03-12 16:00'")
@meeting_details
@click.option("--deadline", help="RSVP deadline, local time")
@click.option(
    "--status",
    type=click.Choice(["draft", "published", "cancelled"]),
    default="published",
    show_default=True,
)
@json_option
@pass_session
def create(
    session: Session,
    list_slug: str,
    title: str,
    starts: str,
    ends: str,
    timezone: str,
    meeting_format: str,
    venue: str,
    dial_in: str,
    description: str,
    location: str,
    capacity: int | None,
    deadline: str | None,
    status: str,
    as_json: bool,
) -> None:
    """Create a meeting for a list."""
    from mailer.domain.meetings import create_meeting

    meeting = create_meeting(
        session,
        list_slug=list_slug,
        title=title,
        starts_at=starts,
        ends_at=ends,
        timezone_name=timezone,
        format=meeting_format,
        venue=venue,
        dial_in=dial_in,
        description=description,
        location=location,
        capacity=capacity,
        rsvp_deadline=deadline,
        status=status,
        actor="cli",
    )
    result = {
        "id": meeting.id,
        "title": meeting.title,
        "starts_at": meeting.starts_at.isoformat(),
        "ends_at": meeting.ends_at.isoformat(),
        "status": meeting.status.value,
    }
    echo_result(as_json, result, f"Created meeting {meeting.id}: {meeting.title}")


@meetings.command()
@click.option("--list", "list_slug", required=True, help="the list's slug")
@click.option("--title", required=True)
@click.option("--starts", required=True, help="first occurrence, local time")
@click.option("--ends", required=True, help="end of the first occurrence, local time")
@click.option("--rrule", required=True, help="e.g. 'FREQ=MONTHLY;INTERVAL=3' for quarterly")
@click.option(
    "--count",
    type=int,
    default=4,
    show_default=True,
    help="how many occurrences to create now (at most 24)",
)
@meeting_details
@click.option("--deadline-days-before", type=int, help="RSVP deadline, days before each occurrence")
@json_option
@pass_session
def series(
    session: Session,
    list_slug: str,
    title: str,
    starts: str,
    ends: str,
    rrule: str,
    count: int,
    timezone: str,
    meeting_format: str,
    venue: str,
    dial_in: str,
    description: str,
    location: str,
    capacity: int | None,
    deadline_days_before: int | None,
    as_json: bool,
) -> None:
    """Create a recurring meeting and its next occurrences.

    The recurrence is an RFC 5545 RRULE; each occurrence is a meeting of its own.
    """
    from mailer.domain.meetings import create_series

    created = create_series(
        session,
        list_slug=list_slug,
        title=title,
        starts_at=starts,
        ends_at=ends,
        rrule=rrule,
        count=count,
        timezone_name=timezone,
        format=meeting_format,
        venue=venue,
        dial_in=dial_in,
        description=description,
        location=location,
        capacity=capacity,
        deadline_days_before=deadline_days_before,
        actor="cli",
    )
    rows = [
        {"id": m.id, "starts_at": m.starts_at.isoformat(), "ends_at": m.ends_at.isoformat()}
        for m in created
    ]
    echo_result(as_json, rows, (f"Created meeting {row['id']}: {row['starts_at']}" for row in rows))


@meetings.command("list")
@click.option("--list", "list_slug", help="only this list's meetings")
@json_option
@pass_session
def list_(session: Session, list_slug: str | None, as_json: bool) -> None:
    """List meetings."""
    from mailer.domain.meetings import list_meetings

    rows: list[dict[str, Any]] = [
        {
            "id": m.id,
            "title": m.title,
            "list": m.mailing_list.slug,
            "starts_at": m.starts_at.isoformat(),
            "status": m.status.value,
        }
        for m in list_meetings(session, list_slug)
    ]
    echo_result(
        as_json,
        rows,
        (
            f"{row['id']:>5}  {row['starts_at'][:16]}  {row['status']:10} {row['title']}"
            for row in rows
        ),
    )


@meetings.command()
@click.argument("meeting_id", type=int)
@json_option
@pass_services
@pass_session
def invite(services: Services, session: Session, meeting_id: int, as_json: bool) -> None:
    """Email an invitation to every member who has not replied.

    Each gets their own signed links and a calendar request.
    """
    from mailer.domain.invitations import send_invitations

    count = send_invitations(session, services, meeting_id, actor="cli")
    echo_result(
        as_json,
        {"meeting": meeting_id, "invited": count},
        f"Invited {counted(count, 'member')} to meeting {meeting_id}.",
    )


@meetings.command()
@click.argument("meeting_id", type=int)
@click.option("--title")
@click.option("--starts")
@click.option("--ends")
@click.option("--location", help="public, e.g. 'London and online'")
@click.option("--venue")
@click.option("--dial-in")
@pass_services
@pass_session
def update(
    services: Services,
    session: Session,
    meeting_id: int,
    title: str | None,
    starts: str | None,
    ends: str | None,
    location: str | None,
    venue: str | None,
    dial_in: str | None,
) -> None:
    """Change a meeting's title, time or place.

    Delegates and invitees get an update with the calendar.
    """
    from mailer.domain.schedules import update_meeting

    told = update_meeting(
        session,
        services,
        meeting_id,
        actor="cli",
        title=title,
        starts_at=starts,
        ends_at=ends,
        location=location,
        venue=venue,
        dial_in=dial_in,
    )
    click.echo(
        f"Meeting {meeting_id} updated; {counted(told, 'person', 'people')} told of the change."
    )


@meetings.command()
@click.argument("meeting_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_session
def attach(session: Session, meeting_id: int, file: Path) -> None:
    """Attach a file to the invitation and the agenda.

    E.g. the terms of reference.
    """
    from mailer.domain.attachments import add_attachment

    info = add_attachment(
        session, meeting_id, filename=file.name, data=file.read_bytes(), actor="cli"
    )
    click.echo(
        f"Attached {info.filename} ({info.size} bytes) to meeting {meeting_id}: it goes with the "
        "invitation and the agenda."
    )


@meetings.command()
@click.argument("meeting_id", type=int)
@pass_session
def publish(session: Session, meeting_id: int) -> None:
    """Publish a draft meeting: it then takes answers, and members can be invited."""
    from mailer.domain.meetings import publish_meeting

    publish_meeting(session, meeting_id, published=True, actor="cli")
    click.echo(f"Meeting {meeting_id} is published.")


@meetings.command()
@click.argument("meeting_id", type=int)
@pass_session
def unpublish(session: Session, meeting_id: int) -> None:
    """Take a published meeting back to draft (only before anyone is invited or answers)."""
    from mailer.domain.meetings import publish_meeting

    publish_meeting(session, meeting_id, published=False, actor="cli")
    click.echo(f"Meeting {meeting_id} is a draft again.")


@meetings.command()
@click.argument("meeting_id", type=int)
@click.option("--reason", default="")
@pass_services
@pass_session
def cancel(services: Services, session: Session, meeting_id: int, reason: str) -> None:
    """Cancel a meeting and send calendar cancellations."""
    from mailer.domain.schedules import cancel_meeting

    told = cancel_meeting(session, services, meeting_id, actor="cli", reason=reason)
    click.echo(f"Meeting {meeting_id} cancelled; {counted(told, 'person', 'people')} told.")


@meetings.command()
@click.argument("meeting_id", type=int)
@markdown_file_option("--file", "agenda")
@click.option("--days-before", type=int, help="days before the meeting to send it (default 7)")
@pass_session
def agenda(session: Session, meeting_id: int, agenda: str, days_before: int | None) -> None:
    """Set the agenda sent before the meeting.

    The agenda is Markdown; it goes to registered delegates, by default a week before.
    """
    from mailer.domain.schedules import set_agenda

    set_agenda(session, meeting_id, agenda=agenda, days_before=days_before, actor="cli")
    click.echo(f"Agenda saved for meeting {meeting_id}.")


@meetings.command()
@click.argument("meeting_id", type=int)
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="CSV for Excel on standard output")
@pass_config
@pass_session
def attendees(
    config: Config, session: Session, meeting_id: int, as_json: bool, as_csv: bool
) -> None:
    """Who is coming to a meeting."""
    from mailer.domain.meetings import attendee_report
    from mailer.domain.places import STATUS_LABELS
    from mailer.domain.reports import attendees_csv

    report = attendee_report(session, meeting_id)
    if as_json:
        echo_json(report.as_dict())
    elif as_csv:
        click.echo(attendees_csv(report, config.organisations), nl=False)
    else:
        click.echo(
            f"{report.meeting.title}: {report.in_person} in person, "
            f"{report.waitlist} on the waiting list, {report.remote} remote, "
            f"{report.undecided} registered without a mode, {report.declined} declined"
        )
        for a in report.attendees:
            click.echo(f"  {a.email:40} {STATUS_LABELS[a.status]:20} via {a.source}")
