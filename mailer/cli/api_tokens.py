"""``convene api-token``: bearer tokens for the read-only JSON API."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mailer.cli.context import pass_session
from mailer.rendering import counted

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@click.group("api-token", subcommand_metavar="ACTION [ARGS]...")
def api_tokens() -> None:
    """Tokens for the read-only JSON API."""


@api_tokens.command()
@click.argument("name")
@pass_session
def create(session: Session, name: str) -> None:
    """Create a token; prints it once.

    NAME says what will use it, e.g. website.
    """
    from mailer.domain.api_tokens import create_token

    token = create_token(session, name=name, actor="cli")
    click.echo(f"API token for {name} (shown once; keep it secret): {token}")


@api_tokens.command()
@click.argument("name")
@pass_session
def revoke(session: Session, name: str) -> None:
    """Revoke every active token with this name."""
    from mailer.domain.api_tokens import revoke_token

    count = revoke_token(session, name=name, actor="cli")
    click.echo(f"Revoked {counted(count, 'token')} called {name}.")
