"""The ``convene`` command: run the service, and do what the panel does, from scripts.

One click group per area lives in its own module (``lists``, ``meetings``, ...);
``mailer.cli.context`` gives commands their Config and database session, and
``mailer.cli.options`` holds the shared options and the ``--json`` output.
Commands import the domain inside their body, so ``convene --help`` and a
mistyped option answer without loading the whole service.

Exit statuses: 0 done; 1 a domain rule refused the request (``DomainError``),
a ``doctor`` check failed or a listener could not start; 2 a usage error, a
configuration error (``ConfigError``), a database that ``convene init`` has not
initialised yet (``DatabaseNotInitialised``, for every command but ``init`` and
``doctor``), or ``person erase`` without ``--yes``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import click

from mailer.cli import (
    api_tokens,
    consultations,
    inbound,
    lists,
    meetings,
    news,
    organisers,
    people,
    service,
)
from mailer.cli.context import CliState, DatabaseNotInitialised
from mailer.config import ConfigError
from mailer.domain.errors import DomainError


class ConveneGroup(click.Group):
    """The root group; the one place where a refused request becomes a message on standard error
    and an exit status: a ``ConfigError`` or ``DatabaseNotInitialised`` exits 2, a
    ``DomainError`` exits 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"convene: configuration error: {exc}", err=True)
            ctx.exit(2)
        except DatabaseNotInitialised as exc:
            click.echo(f"convene: {exc}", err=True)
            ctx.exit(2)
        except DomainError as exc:
            click.echo(f"convene: {exc}", err=True)
            ctx.exit(1)


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        for noisy in ("alembic", "mail.log", "werkzeug"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


@click.group(cls=ConveneGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "-c",
    "config_path",
    metavar="PATH",
    help="TOML configuration file (default: $CONVENE_CONFIG, then ./convene.toml)",
)
@click.option("--verbose", "-v", is_flag=True, help="log debugging detail")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Email-first mailing lists and meeting RSVPs."""
    _configure_logging(verbose)
    ctx.obj = CliState(config_path)
    ctx.call_on_close(ctx.obj.close)


for command in [
    *service.commands,
    lists.lists,
    meetings.meetings,
    inbound.inbound,
    news.news,
    consultations.consultations,
    api_tokens.api_tokens,
    people.people,
    organisers.organisers,
]:
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command (``argv``, default the process's arguments) and return its exit status.

    The console script calls it; so can tests, with a list of arguments.
    """
    try:
        cli.main(args=None if argv is None else list(argv), prog_name="convene")
    except SystemExit as exc:  # how click ends every run, successful or not
        return int(exc.code or 0)
    return 0
