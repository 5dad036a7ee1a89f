"""``convene doctor``: is this installation ready? Checks what can be checked from here and
prints the DNS records the mail domain should publish."""

from __future__ import annotations

import asyncio
import base64
import subprocess
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory

from mailer.config import Config, secret_key_problem
from mailer.db import alembic_config, current_revision, make_engine


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_database(config: Config) -> Check:
    try:
        engine = make_engine(config.database_url)
        try:
            revision = current_revision(engine)
        finally:
            engine.dispose()
    except Exception as exc:  # any failure to connect is the answer
        return Check(
            "database", False, f"cannot connect: {exc.__class__.__name__}: {exc}".splitlines()[0]
        )
    head = ScriptDirectory.from_config(alembic_config(config.database_url)).get_current_head()
    if revision is None:
        return Check("database", False, "reachable but not initialised: run 'convene init'")
    if revision != head:
        return Check(
            "database",
            False,
            f"schema at {revision}, newest is {head}: run 'convene init' to upgrade",
        )
    return Check("database", True, f"schema up to date ({head})")


def check_secret(config: Config) -> Check:
    key = config.service.secret_key
    if not key:
        if config.service.dev_mode:
            return Check("secret key", True, "dev mode: a generated key is used")
        return Check("secret key", False, "missing: set [service] secret_key")
    problem = secret_key_problem(key)
    return Check("secret key", problem is None, problem or "set, 32 characters or more")


def check_smarthost(config: Config) -> Check:
    if config.delivery.backend != "smtp":
        return Check(
            "smarthost", True, f"not used: mail goes to the dev mailbox at {config.maildir_path}"
        )
    from mailer.outbound.senders import SmtpSender

    async def connect() -> str:
        sender = SmtpSender(config.delivery.smarthost)
        client = await sender._connect()
        try:
            return "connected" + (" and logged in" if config.delivery.smarthost.username else "")
        finally:
            await client.quit()

    try:
        return Check(
            "smarthost",
            True,
            f"{config.delivery.smarthost.host}:{config.delivery.smarthost.port} "
            f"{asyncio.run(connect())}",
        )
    except Exception as exc:  # reported, with the reason
        return Check(
            "smarthost",
            False,
            f"{config.delivery.smarthost.host}:{config.delivery.smarthost.port}: {exc}",
        )


def dkim_public_key(private_key_file: str) -> str:
    der = subprocess.run(
        ["openssl", "rsa", "-in", private_key_file, "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return base64.b64encode(der).decode()


def check_dkim(config: Config) -> tuple[Check, str | None]:
    dkim = config.delivery.dkim
    if not dkim.selector:
        return Check("DKIM", True, "not configured (recommended for real delivery)"), None
    try:
        from mailer.outbound.compose import make_dkim_signer

        signer = make_dkim_signer(config)
        assert signer is not None
        signer.sign(b"From: a@b\r\nTo: c@d\r\nSubject: t\r\n\r\nbody\r\n")
        public = dkim_public_key(dkim.private_key_file)
    except Exception as exc:
        return Check("DKIM", False, f"cannot sign with {dkim.private_key_file}: {exc}"), None
    return Check("DKIM", True, f"signing as selector {dkim.selector}"), public


def dns_records(config: Config, dkim_public: str | None) -> list[str]:
    domain = config.mail.domain
    host = config.service.base_url.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    records = [
        f"{domain}. MX 10 <your inbound MTA's host name>.",
        f'{domain}. TXT "v=spf1 include:<your smarthost\'s SPF domain> -all"',
        f'_dmarc.{domain}. TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@{domain}"',
    ]
    if dkim_public:
        records.append(
            f"{config.delivery.dkim.selector}._domainkey.{config.delivery.dkim.domain or domain}. "
            f'TXT "v=DKIM1; k=rsa; p={dkim_public}"'
        )
    records.append(
        f"{host}. A/AAAA <your web server> (links in emails point to {config.service.base_url})"
    )
    return records


def run_doctor(config: Config) -> tuple[list[Check], list[str]]:
    checks = [
        Check(
            "configuration", True, f"loaded from {config.source or 'built-in defaults (dev mode)'}"
        ),
        check_secret(config),
        check_database(config),
        check_smarthost(config),
        Check(
            "data directory",
            data_dir_writable(config.data_path),
            f"{config.data_path} must be writable",
        ),
    ]
    dkim_check, public = check_dkim(config)
    checks.append(dkim_check)
    if not config.service.base_url.startswith("https://") and not config.service.dev_mode:
        checks.append(
            Check(
                "base URL",
                False,
                f"{config.service.base_url} is not https: links would be sent in the clear",
            )
        )
    if config.inbound.authserv_id:
        checks.append(
            Check(
                "Authentication-Results", True, f"trusting authserv-id {config.inbound.authserv_id}"
            )
        )
    return checks, dns_records(config, public)


def data_dir_writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".doctor"
        probe.write_text("ok")
        probe.unlink()
        return True
    except OSError:
        return False
