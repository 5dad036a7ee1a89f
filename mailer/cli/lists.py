"""``convene list``: mailing lists, their settings and their members."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from mailer.cli.context import pass_config, pass_session
from mailer.cli.options import echo_result, json_option
from mailer.config import Config
from mailer.rendering import counted

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@click.group("list", subcommand_metavar="ACTION [ARGS]...")
def lists() -> None:
    """Mailing lists."""


@lists.command()
@click.argument("slug")
@click.option("--name", required=True, help="the list's name as members see it")
@click.option("--description", default="")
@json_option
@pass_config
@pass_session
def create(
    config: Config, session: Session, slug: str, name: str, description: str, as_json: bool
) -> None:
    """Create a list.

    SLUG is the local part of the list address, e.g. forum.
    """
    from mailer.domain.lists import create_list

    created = create_list(session, slug=slug, name=name, description=description, actor="cli")
    result = {
        "id": created.id,
        "slug": created.slug,
        "name": created.name,
        "address": config.addresses.list_address(created.slug),
    }
    echo_result(as_json, result, f"Created list {created.name}: {result['address']}")


@lists.command()
@click.argument("slug")
@click.option("--name")
@click.option("--allowed-domains", help="comma-separated, e.g. '*.gov.uk, nhs.net'; '' allows any")
@click.option(
    "--trust-dmarc/--no-trust-dmarc",
    default=None,
    help="let an aligned DMARC pass (from the trusted MTA) skip join confirmation",
)
@pass_session
def configure(
    session: Session,
    slug: str,
    name: str | None,
    allowed_domains: str | None,
    trust_dmarc: bool | None,
) -> None:
    """Change a list's name, sender domains or DMARC trust."""
    from mailer.domain.lists import configure_list

    updated = configure_list(
        session,
        slug=slug,
        actor="cli",
        name=name,
        allowed_sender_domains=allowed_domains,
        trust_dmarc=trust_dmarc,
    )
    click.echo(
        f"{updated.name}: allowed sender domains: {updated.allowed_sender_domains or 'any'}; "
        f"DMARC pass skips join confirmation: {'yes' if updated.trust_dmarc else 'no'}"
    )


@lists.command()
@json_option
@pass_config
@pass_session
def show(config: Config, session: Session, as_json: bool) -> None:
    """Show all lists."""
    from mailer.domain.lists import all_lists

    rows = [
        {"slug": ml.slug, "name": ml.name, "address": config.addresses.list_address(ml.slug)}
        for ml in all_lists(session)
    ]
    echo_result(as_json, rows, (f"{row['address']:40} {row['name']}" for row in rows))


@lists.command("add-member")
@click.argument("slug")
@click.argument("email")
@click.option("--name")
@pass_session
def add_member_to_list(session: Session, slug: str, email: str, name: str | None) -> None:
    """Add an active member to a list."""
    from mailer.domain.lists import add_member

    add_member(session, slug=slug, email=email, display_name=name, actor="cli")
    click.echo(f"Added {email} to {slug}.")


@lists.command()
@click.argument("slug")
@json_option
@pass_session
def members(session: Session, slug: str, as_json: bool) -> None:
    """List a list's members."""
    from mailer.domain.lists import list_members

    rows: list[dict[str, Any]] = [
        {"email": m.email, "name": m.display_name, "status": m.status.value}
        for m in list_members(session, slug)
    ]
    echo_result(
        as_json,
        rows,
        [
            *(f"{row['email']:40} {row['status']:12} {row['name'] or ''}" for row in rows),
            counted(len(rows), "member"),
        ],
    )
