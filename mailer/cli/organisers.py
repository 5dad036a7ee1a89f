"""``convene organiser``: organiser accounts for the panel."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mailer.cli.context import pass_services, pass_session

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mailer.domain.services import Services


@click.group("organiser", subcommand_metavar="ACTION [ARGS]...")
def organisers() -> None:
    """Organiser accounts."""


@organisers.command()
@click.argument("email")
@click.option("--name", default="")
@click.option("--admin", is_flag=True, help="give the admin role (runs every list)")
@click.option(
    "--list",
    "lists",
    multiple=True,
    metavar="SLUG",
    help="a list a plain organiser runs (repeat for more); they see no other",
)
@pass_session
def create(session: Session, email: str, name: str, admin: bool, lists: tuple[str, ...]) -> None:
    """Create an organiser; prints a generated password once. (The panel's Organisers page
    invites one by email instead, with a link to choose their own password.)"""
    from mailer.domain.models import OrganiserRole
    from mailer.domain.organisers import create_organiser, generate_password, set_organiser_lists

    if not admin and not lists:
        raise click.UsageError("Give --list SLUG for each list they run, or --admin.")
    password = generate_password()
    organiser = create_organiser(
        session,
        email=email,
        password=password,
        name=name,
        role=OrganiserRole.ADMIN if admin else OrganiserRole.ORGANISER,
        actor="cli",
    )
    if lists and not admin:
        set_organiser_lists(session, organiser.id, list(lists), actor="cli")
    click.echo(f"Created organiser {email}. Password (shown once): {password}")


@organisers.command("reset-password")
@click.argument("email")
@pass_session
def reset_password(session: Session, email: str) -> None:
    """Set a new generated password; prints it once."""
    from mailer.domain.organisers import generate_password, set_password

    password = generate_password()
    set_password(session, email=email, password=password, actor="cli")
    click.echo(f"New password for {email} (shown once): {password}")


@organisers.command("turn-off-code")
@click.argument("email")
@pass_services
@pass_session
def turn_off_code(services: Services, session: Session, email: str) -> None:
    """Stop asking an organiser for a code from their authenticator app (a lost phone): they log
    in with the password alone, and are logged out everywhere."""
    from mailer.domain.organisers import organiser_id_for
    from mailer.domain.second_step import turn_off

    organiser = turn_off(
        session,
        services,
        organiser_id_for(session, email),
        actor_id=None,
        now=services.clock(),
    )
    click.echo(f"Logging in no longer asks {organiser.email} for a code.")
