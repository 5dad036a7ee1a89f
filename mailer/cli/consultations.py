"""``convene consultation``: ask a list's members a question, or call for volunteers; collect the
replies, tag themes, export them, accept volunteers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from mailer.cli.context import pass_services, pass_session
from mailer.cli.options import echo_result, json_option, markdown_file_option, timezone_option
from mailer.rendering import counted

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mailer.domain.models import Consultation
    from mailer.domain.services import Services


@click.group("consultation", subcommand_metavar="ACTION [ARGS]...")
def consultations() -> None:
    """Consultations and calls for volunteers."""


@consultations.command()
@click.option("--list", "list_slug", required=True, help="the list's slug")
@click.option("--title", required=True, help="also the email's subject")
@markdown_file_option("--body-file", "question")
@click.option(
    "--role",
    "roles",
    multiple=True,
    help="a role volunteers can offer for, e.g. 'Communications: comms' (repeat for each role)",
)
@click.option("--anonymous", is_flag=True, help="store answers with no link to who wrote them")
@click.option("--closes", help="local closing time, e.g. '2026-03-12 17:00'")
@timezone_option
@json_option
@pass_session
def create(
    session: Session,
    list_slug: str,
    title: str,
    question: str,
    roles: tuple[str, ...],
    anonymous: bool,
    closes: str | None,
    timezone: str,
    as_json: bool,
) -> None:
    """Write a question (Markdown) for a list's members, as a draft.

    With --role, a call for volunteers.
    """
    from mailer.domain.consultations import RoleSpec, create_consultation
    from mailer.domain.meetings import parse_local_datetime
    from mailer.domain.models import ConsultationKind

    specs = [
        RoleSpec(name=name, aliases=aliases)
        for name, _, aliases in (spec.partition(":") for spec in roles)
    ]
    closes_at = parse_local_datetime(closes, timezone, "closes") if closes else None
    consultation = create_consultation(
        session,
        list_slug=list_slug,
        title=title,
        question_markdown=question,
        kind=ConsultationKind.VOLUNTEERS if specs else ConsultationKind.QUESTION,
        anonymous=anonymous,
        closes_at=closes_at,
        roles=specs,
        actor="cli",
    )
    result = {
        "id": consultation.id,
        "kind": consultation.kind.value,
        "status": consultation.status.value,
        "anonymous": consultation.anonymous,
    }
    echo_result(as_json, result, f"Created consultation {consultation.id} (draft).")


def _consultation_row(c: Consultation) -> dict[str, Any]:
    return {
        "id": c.id,
        "list": c.mailing_list.slug,
        "kind": c.kind.value,
        "title": c.title,
        "status": c.status.value,
        "anonymous": c.anonymous,
        "recipients": c.recipients,
        "closes_at": c.closes_at.isoformat() if c.closes_at else None,
        "sent_at": c.sent_at.isoformat() if c.sent_at else None,
    }


@consultations.command("list")
@json_option
@pass_session
def list_(session: Session, as_json: bool) -> None:
    """List consultations."""
    from mailer.domain.consultations import list_consultations

    rows = [_consultation_row(c) for c in list_consultations(session)]
    echo_result(
        as_json,
        rows,
        (
            f"{row['id']:>5}  {row['status']:7} {row['kind']:10} {row['list']:16} {row['title']}"
            for row in rows
        ),
    )


@consultations.command()
@click.argument("consultation_id", type=int)
@click.option("--html", is_flag=True, help="print the HTML part instead of the text")
@pass_services
@pass_session
def preview(services: Services, session: Session, consultation_id: int, html: bool) -> None:
    """Show a consultation as members will get it."""
    from mailer.domain.consultations import preview_consultation

    rendered = preview_consultation(session, services, consultation_id)
    click.echo(rendered.html or "" if html else f"Subject: {rendered.subject}\n\n{rendered.text}")


@consultations.command()
@click.argument("consultation_id", type=int)
@json_option
@pass_services
@pass_session
def send(services: Services, session: Session, consultation_id: int, as_json: bool) -> None:
    """Send a draft to every active member, one message each."""
    from mailer.domain.consultations import send_consultation

    count = send_consultation(session, services, consultation_id, actor="cli")
    echo_result(
        as_json,
        {"id": consultation_id, "recipients": count},
        f"Consultation {consultation_id} queued for {counted(count, 'member')}.",
    )


@consultations.command()
@click.argument("consultation_id", type=int)
@pass_session
def close(session: Session, consultation_id: int) -> None:
    """Stop taking answers (later replies are kept, marked late)."""
    from mailer.domain.consultations import close_consultation

    close_consultation(session, consultation_id, actor="cli")
    click.echo(f"Consultation {consultation_id} closed.")


@consultations.command()
@click.argument("consultation_id", type=int)
@click.option("--search", default="", help="only answers containing this text")
@click.option("--tag", default="", help="only answers with this tag")
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="CSV for Excel on standard output")
@pass_session
def answers(
    session: Session, consultation_id: int, search: str, tag: str, as_json: bool, as_csv: bool
) -> None:
    """The answers collected so far."""
    from mailer.domain.consultations import answers_csv, find_answers, get_consultation

    consultation = get_consultation(session, consultation_id)
    found = find_answers(session, consultation_id, search=search, tag=tag)
    if as_csv:
        click.echo(answers_csv(consultation, found), nl=False)
        return
    hidden = consultation.anonymous
    rows: list[dict[str, Any]] = [
        {
            "id": a.id,
            "email": None if hidden or a.person is None else a.person.email,
            "received_at": None if hidden else a.received_at.isoformat(),
            "late": a.late,
            "replies": a.replies,
            "tags": [t.tag for t in a.tags],
            "text": a.text,
        }
        for a in found
    ]
    echo_result(
        as_json,
        rows,
        (
            f"--- {row['id']}  {row['email'] or 'anonymous'}  {row['received_at'] or ''}"
            f"{'  late' if row['late'] else ''}  {', '.join(row['tags'])}\n{row['text']}\n"
            for row in rows
        ),
    )


@consultations.command()
@click.argument("answer_id")
@click.argument("tag")
@click.option("--remove", is_flag=True, help="remove the tag instead of adding it")
@pass_session
def tag(session: Session, answer_id: str, tag: str, remove: bool) -> None:
    """Tag an answer (or --remove a tag) to group themes."""
    from mailer.domain.consultations import tag_answer, untag_answer

    if remove:
        untag_answer(session, answer_id, tag, actor="cli")
    else:
        tag_answer(session, answer_id, tag, actor="cli")


@consultations.command()
@click.argument("consultation_id", type=int)
@json_option
@pass_session
def volunteers(session: Session, consultation_id: int, as_json: bool) -> None:
    """Who offered to help, per role."""
    from mailer.domain.consultations import volunteers_by_role

    rows: list[dict[str, Any]] = [
        {
            "role": rv.role.name,
            "offers": [
                {
                    "offer": o.id,
                    "email": o.person.email,
                    "name": o.person.display_name,
                    "status": o.status.value,
                    "via": o.source,
                    "at": o.created_at.isoformat(),
                }
                for o in rv.offers
            ],
        }
        for rv in volunteers_by_role(session, consultation_id)
    ]
    echo_result(
        as_json,
        rows,
        [
            line
            for row in rows
            for line in (
                f"{row['role']} ({len(row['offers'])})",
                *(f"  {o['offer']:>5}  {o['status']:9} {o['email']}" for o in row["offers"]),
            )
        ],
    )


@consultations.command()
@click.argument("offer_id", type=int)
@json_option
@pass_services
@pass_session
def accept(services: Services, session: Session, offer_id: int, as_json: bool) -> None:
    """Accept a volunteer's offer and email them."""
    from mailer.domain.consultations import accept_offer

    offer = accept_offer(session, services, offer_id, actor="cli")
    echo_result(
        as_json,
        {"offer": offer.id, "status": offer.status.value},
        f"Offer {offer.id} accepted; the volunteer has been emailed.",
    )
