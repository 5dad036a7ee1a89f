"""Setting up and running the service: init, serve (or its parts smtp, worker, web), doctor."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mailer.cli.context import open_runtime, pass_config, require_initialised
from mailer.config import Config

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger("convene")


@click.command()
@click.option("--admin-email", help="address of the first organiser (default admin@<mail domain>)")
@click.option(
    "--demo", is_flag=True, help="on an empty database, seed a labelled demo list and meeting"
)
@pass_config
def init(config: Config, admin_email: str | None, demo: bool) -> None:
    """Create or upgrade the database and the first organiser."""
    from mailer.db import migrate

    # Its own runtime: the one commands are given is only for a database init has made.
    with open_runtime(config) as runtime:
        migrate(runtime.engine)
        click.echo(f"Database ready: {runtime.engine.url.render_as_string(hide_password=True)}")
        with runtime.sessions() as session:
            _first_organiser(config, session, admin_email=admin_email, demo=demo)


def _first_organiser(
    config: Config, session: Session, *, admin_email: str | None, demo: bool
) -> None:
    """On a database with no organiser: the demo list, meeting and organiser (``demo``, on an
    empty database), or else the first admin; its password is printed once."""
    from mailer.domain.demo import database_is_empty, seed_demo
    from mailer.domain.models import OrganiserRole
    from mailer.domain.organisers import count_organisers, create_organiser, generate_password

    if demo and database_is_empty(session) and count_organisers(session) == 0:
        seed = seed_demo(session, domain=config.mail.domain)
        base = config.service.base_url.rstrip("/")
        click.echo(
            "\nSeeded a DEMO list and meeting (labelled [Demo]; delete them when you set up "
            "your own)."
        )
        click.echo(f"  List address:   {seed.list_address}")
        click.echo(f"  Panel:          {base}/panel/")
        click.echo(f"  Demo login:     {seed.organiser_email}")
        click.echo(
            f"  Demo password:  {seed.organiser_password}   (shown once; reset with "
            f"'convene organiser reset-password {seed.organiser_email}')"
        )
        click.echo(
            f"  Try it:         python3 -c \"import smtplib; smtplib.SMTP('{config.inbound.host}', "
            f"{config.inbound.port}).sendmail('you@example.org', '{seed.list_address}', "
            f"b'From: You <you@example.org>\\r\\nSubject: Forum\\r\\n\\r\\nPlease register me, "
            f"I will join remotely.')\""
        )
        click.echo(f"  Then open:      {base}/panel/mailbox\n")
    elif count_organisers(session) == 0:
        email = admin_email or f"admin@{config.mail.domain}"
        password = generate_password()
        create_organiser(
            session,
            email=email,
            password=password,
            name="Administrator",
            role=OrganiserRole.ADMIN,
            actor="system",
        )
        click.echo(f"\nCreated the first organiser (admin): {email}")
        click.echo(f"Password (shown once): {password}\n")


def _run_parts(
    config: Config, *, lmtp: bool = False, smtp: bool = True, worker: bool = True, web: bool = True
) -> None:
    """Run the chosen parts until Ctrl-C or SIGTERM. Raises ``DatabaseNotInitialised`` before
    ``convene init``; exit status 1 when a listener cannot start."""
    from mailer.runtime import serve

    ctx = click.get_current_context()
    if lmtp:
        config = config.replace(inbound={"lmtp": True})
    require_initialised(config)
    with open_runtime(config) as runtime:
        parts = [name for name, on in (("smtp", smtp), ("worker", worker), ("web", web)) if on]
        log.info(
            "starting %s (%s)",
            ", ".join(parts),
            "dev mode" if config.service.dev_mode else "production",
        )
        try:
            asyncio.run(serve(runtime, smtp=smtp, worker=worker, web=web))
        except KeyboardInterrupt:
            pass
        except OSError as exc:
            click.echo(f"convene: {exc}", err=True)
            ctx.exit(1)
    click.echo("Stopped.")


lmtp_option = click.option(
    "--lmtp", is_flag=True, help="speak LMTP instead of SMTP (behind Postfix or Exim)"
)


@click.command()
@lmtp_option
@pass_config
def serve(config: Config, lmtp: bool) -> None:
    """Run SMTP in, the worker and the web app in one process."""
    _run_parts(config, lmtp=lmtp)


@click.command()
@lmtp_option
@pass_config
def smtp(config: Config, lmtp: bool) -> None:
    """Run the inbound SMTP/LMTP server."""
    _run_parts(config, lmtp=lmtp, worker=False, web=False)


@click.command()
@pass_config
def worker(config: Config) -> None:
    """Run the worker (inbound processing, delivery)."""
    _run_parts(config, smtp=False, web=False)


@click.command()
@pass_config
def web(config: Config) -> None:
    """Run the web app (development server)."""
    _run_parts(config, smtp=False, worker=False)


@click.command()
@pass_config
def doctor(config: Config) -> None:
    """Check configuration, database, smarthost and DKIM.

    Then print the DNS records to publish for the mail domain. The exit status
    is 1 if any check fails.
    """
    from mailer.doctor import run_doctor

    checks, records = run_doctor(config)
    for check in checks:
        click.echo(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    click.echo("\nDNS records to publish for the mail domain:")
    for record in records:
        click.echo(f"  {record}")
    if not all(check.ok for check in checks):
        click.get_current_context().exit(1)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@pass_config
def backup_command(config: Config, path: Path) -> None:
    """Copy the database to PATH, consistently, while Convene runs (SQLite; on PostgreSQL it
    says how to use pg_dump). The copy holds personal data: keep it encrypted."""
    from mailer.backup import BackupError, backup

    try:
        result = backup(config.database_url, path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backed up to {result.path} ({result.size:,} bytes).")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--replace", is_flag=True, help="put it in place of an existing database (stop Convene first)"
)
@pass_config
def restore_command(config: Config, path: Path, replace: bool) -> None:
    """Put a backup made by 'convene backup' in place of the database, then run 'convene init'
    to bring it up to this version."""
    from mailer.backup import BackupError, restore

    try:
        result = restore(path, config.database_url, replace=replace)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Restored {path} to {result.path}. Now run 'convene init', then start Convene.")


commands = [init, serve, smtp, worker, web, doctor, backup_command, restore_command]
