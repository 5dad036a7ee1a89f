"""``convene person``: data protection requests, export and erasure of what is held about an
address."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mailer.cli.context import pass_services, pass_session
from mailer.cli.options import echo_json

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mailer.domain.services import Services


@click.group("person", subcommand_metavar="ACTION [ARGS]...")
def people() -> None:
    """Data protection requests."""


@people.command()
@click.argument("email")
@pass_session
def export(session: Session, email: str) -> None:
    """Everything held about an address, as JSON."""
    from mailer.domain.privacy import export_person

    echo_json(export_person(session, email))


@people.command()
@click.argument("email")
@click.option("--yes", is_flag=True, help="confirm: this cannot be undone")
@pass_services
@pass_session
def erase(services: Services, session: Session, email: str, yes: bool) -> None:
    """Erase an address's personal data, keeping anonymous counts.

    Without --yes nothing is erased and the exit status is 2.
    """
    from mailer.domain.privacy import erase_person

    if not yes:
        click.echo(
            f"This removes everything held about {email} and cannot be undone. "
            "Run again with --yes.",
            err=True,
        )
        click.get_current_context().exit(2)
    result = erase_person(session, email, actor="cli", services=services)
    click.echo(
        f"Erased {email}: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result.items())
    )
