"""Convene's configuration: one typed object, loaded from TOML plus environment.

Every key has a default so that Convene runs with no file at all (dev mode:
SQLite and a Maildir under ``var/``). Secrets may come from the environment
so they never need to sit in a file: ``CONVENE_SECRET_KEY``,
``CONVENE_DATABASE_URL`` and ``CONVENE_SMARTHOST_PASSWORD``.
``config.example.toml`` documents every key; ``tests/test_config.py`` checks
that the two agree.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mailer.mail.addresses import Addresses

#: The placeholder shipped in config.example.toml; never accepted outside dev mode.
EXAMPLE_SECRET_KEY = "change-me-to-a-long-random-string"

ENV_CONFIG_PATH = "CONVENE_CONFIG"


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class ServiceConfig:
    #: True when Convene runs with no configuration file; a file must opt in.
    dev_mode: bool = True
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    data_dir: str = "var"
    name: str = "Convene"


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = ""
    echo: bool = False


@dataclass(frozen=True)
class MailConfig:
    domain: str = "convene.localhost"
    from_name: str = "Convene"
    bounce_local_part: str = "bounces"
    privacy_contact: str = ""
    #: Minutes before a meeting that calendar invitations remind the person (a VALARM); 0: none.
    calendar_alarm_minutes: int = 24 * 60


@dataclass(frozen=True)
class InboundConfig:
    host: str = "127.0.0.1"
    port: int = 8025
    max_message_size: int = 10 * 1024 * 1024
    #: Recipients one message may name; the next gets 452 and the sender sends it again later.
    max_recipients: int = 100
    #: A connection that sends nothing for this long is closed (RFC 5321 4.5.3.2 suggests 5
    #: minutes); one is closed after this long in all, however busy.
    idle_timeout_seconds: float = 300.0
    session_timeout_seconds: float = 1800.0
    lmtp: bool = False
    #: The authserv-id of the upstream MTA whose Authentication-Results headers we trust;
    #: empty trusts none (every first-time join is then confirmed by the address owner).
    authserv_id: str = ""
    #: Languages (comma-separated codes) whose mail-client reply headers mark where the quoted
    #: original begins ("Von: ... Gesendet:") and whose out-of-office replies are recognised
    #: ("Abwesenheitsnotiz"); English is always read. Welsh (cy) and Portuguese (pt) add the
    #: out-of-office rules only. Each language adds regex work to every message, so list only
    #: those your members' mail clients use.
    reply_languages: str = "en"

    @property
    def reply_language_codes(self) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys(
                ["en", *(c.strip().lower() for c in self.reply_languages.split(",") if c.strip())]
            )
        )


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    secure_cookies: bool = False
    #: Reverse proxies in front of the web app whose X-Forwarded-For is believed (0: none, the
    #: client is the connection's peer). Limits per client depend on it.
    trusted_proxies: int = 0
    #: "Email me my links" on a meeting's public page: requests from one client, and emails to
    #: one address, per hour.
    links_per_client_per_hour: int = 10
    links_per_address_per_hour: int = 3
    #: When base_url is https, browsers are told to use nothing else for this long (HSTS);
    #: 0 sends no such header.
    hsts_seconds: int = 31_536_000
    #: /healthz fails when no worker has been seen for this long.
    worker_silence_seconds: int = 120
    #: /metrics answers requests from this machine, and others that bring this token
    #: (``Authorization: Bearer <token>``); empty: this machine only.
    metrics_token: str = ""
    #: Admins log in with a code from an authenticator app as well as their password (any
    #: organiser may choose to); an admin without one sets it up before anything else.
    admins_need_second_step: bool = False


@dataclass(frozen=True)
class SmarthostConfig:
    host: str = ""
    port: int = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password: str = ""
    timeout: float = 30.0
    #: PEM file of CA certificates to trust instead of the system's (an internal relay).
    ca_file: str = ""


@dataclass(frozen=True)
class DkimConfig:
    selector: str = ""
    private_key_file: str = ""
    #: The d= domain; empty means [mail] domain.
    domain: str = ""


@dataclass(frozen=True)
class DeliveryConfig:
    backend: Literal["maildir", "smtp"] = "maildir"
    maildir: str = ""
    #: Concurrent smarthost connections per worker, each reused for many messages.
    connections: int = 4
    #: Across all workers; 0 means no limit.
    max_per_minute: int = 0
    max_per_day: int = 0
    #: Hard bounces after which delivery to a member is suspended (soft ones count half).
    bounce_threshold: int = 3
    smarthost: SmarthostConfig = field(default_factory=SmarthostConfig)
    dkim: DkimConfig = field(default_factory=DkimConfig)


@dataclass(frozen=True)
class WorkerConfig:
    poll_interval: float = 1.0
    batch_size: int = 100
    #: Inbound messages handled in one write transaction (each in a SAVEPOINT of its own): more
    #: handles more messages a second, fewer keeps SMTP and web writes waiting less behind it
    #: (SQLite has one writer at a time). 1 gives every message a transaction of its own.
    messages_per_transaction: int = 20
    lease_seconds: int = 300
    retry_base_seconds: float = 60.0
    give_up_after_hours: float = 48.0
    #: Automatic replies (help, acknowledgements, questions back) to one mailbox an hour, its
    #: ``+tag`` addresses counted together.
    replies_per_sender_per_hour: int = 10
    #: Notices about a person's own record (an answer recorded, a place offered, "was this you?")
    #: to one mailbox an hour: a limit of their own, which other requests cannot use up.
    record_notices_per_person_per_hour: int = 10
    #: Automatic replies of every kind to addresses that are not members of any list, an hour,
    #: for the whole service: what anyone forging mail could make us send to strangers.
    replies_to_non_members_per_hour: int = 100


@dataclass(frozen=True)
class RetentionConfig:
    #: Days raw inbound mail is kept; 0 keeps it for ever.
    inbound_days: int = 30
    #: Days consultation answers and volunteer offers are kept after the consultation closes; 0
    #: keeps them.
    answers_days: int = 365
    #: Days after a meeting ends that what attendees said about their access needs is deleted.
    access_needs_days: int = 1


@dataclass(frozen=True)
class LinksConfig:
    max_age_days: int = 180
    #: How long a join confirmation link or token stays valid.
    confirm_days: int = 7


@dataclass(frozen=True)
class Config:
    service: ServiceConfig = field(default_factory=ServiceConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    mail: MailConfig = field(default_factory=MailConfig)
    inbound: InboundConfig = field(default_factory=InboundConfig)
    web: WebConfig = field(default_factory=WebConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    links: LinksConfig = field(default_factory=LinksConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    #: Email domain → organisation, for reports of which departments are represented.
    organisations: dict[str, str] = field(default_factory=dict)
    #: Where the file came from, for messages; None when built from defaults.
    source: str | None = None

    @property
    def data_path(self) -> Path:
        return Path(self.service.data_dir)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_path / 'convene.db'}"

    @property
    def maildir_path(self) -> Path:
        return Path(self.delivery.maildir) if self.delivery.maildir else self.data_path / "mailbox"

    @property
    def addresses(self) -> Addresses:
        """Every address of ours: the list and command addresses, VERP, postmaster."""
        return Addresses(self.mail.domain, self.mail.bounce_local_part)

    @property
    def bounce_address(self) -> str:
        return self.addresses.bounce_address()

    def replace(self, **sections: Any) -> Config:
        """A copy with whole sections or single keys replaced: ``replace(web={"port": 0})``."""
        changes: dict[str, Any] = {}
        for name, value in sections.items():
            current = getattr(self, name)
            if (
                isinstance(value, Mapping)
                and dataclasses.is_dataclass(current)
                and not isinstance(current, type)
            ):
                changes[name] = _build(
                    type(current), {**dataclasses.asdict(current), **value}, name
                )
            else:
                changes[name] = value
        return dataclasses.replace(self, **changes)


def _build(cls: type, data: Mapping[str, Any], where: str) -> Any:
    """``cls`` from the TOML table ``data``. ``where`` is the table's name as the file writes it
    (``web``, ``delivery.smarthost``; empty for the top level), so that messages name a setting
    as the person will find it: ``[web] port``, ``[delivery.smarthost]``."""
    known = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        table = f"{where}.{key}" if where else key
        if key not in known:
            if isinstance(value, Mapping):
                raise ConfigError(f"unknown section [{table}]")
            raise ConfigError(
                f"unknown setting [{where}] {key}" if where else f"unknown setting {key}"
            )
        f = known[key]
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if isinstance(default, dict):
            if not isinstance(value, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise ConfigError(f'[{table}] must be a table of "domain" = "name" strings')
            kwargs[key] = {k.lower(): v for k, v in value.items()}
            continue
        if dataclasses.is_dataclass(default):
            if not isinstance(value, Mapping):
                raise ConfigError(f"[{table}] must be a table")
            kwargs[key] = _build(type(default), value, table)
            continue
        kwargs[key] = _coerce(value, default, f"[{where}] {key}" if where else key)
    return cls(**kwargs)


def _coerce(value: Any, default: Any, label: str) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
        }:
            return value.lower() in {"1", "true", "yes", "on"}
        raise ConfigError(f"{label} must be true or false, not {value!r}")
    if isinstance(default, int):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{label} must be a whole number, not {value!r}") from None
    if isinstance(default, float):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{label} must be a number, not {value!r}") from None
    if not isinstance(value, str):
        raise ConfigError(f"{label} must be a string, not {value!r}")
    return value


_ENV_OVERRIDES: dict[str, tuple[str, str] | tuple[str, str, str]] = {
    "CONVENE_SECRET_KEY": ("service", "secret_key"),
    "CONVENE_DATABASE_URL": ("database", "url"),
    "CONVENE_SMARTHOST_PASSWORD": ("delivery", "smarthost", "password"),
    "CONVENE_BASE_URL": ("service", "base_url"),
    "CONVENE_DEV_MODE": ("service", "dev_mode"),
    "CONVENE_METRICS_TOKEN": ("web", "metrics_token"),
}


def load_config(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Load and validate the configuration.

    ``path`` falls back to ``$CONVENE_CONFIG``, then to ``./convene.toml`` if
    present; with none of them, built-in defaults (dev mode) apply. Values from
    the environment (see ``_ENV_OVERRIDES``) win over the file. Raises
    ``ConfigError`` with a message meant for the person running the service.
    """
    env = os.environ if environ is None else environ
    chosen = (
        path
        or env.get(ENV_CONFIG_PATH)
        or ("convene.toml" if Path("convene.toml").exists() else None)
    )
    data: dict[str, Any] = {}
    if chosen:
        try:
            with open(chosen, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"configuration file not found: {chosen}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{chosen} is not valid TOML: {exc}") from None
        # A configuration file describes a real installation: dev mode only when it says so.
        service = data.setdefault("service", {})
        if isinstance(service, dict):
            service.setdefault("dev_mode", False)
    for var, keys in _ENV_OVERRIDES.items():
        if var in env:
            table = data
            for key in keys[:-1]:
                table = table.setdefault(key, {})
            table[keys[-1]] = env[var]
    data.pop("source", None)
    config = _build(Config, data, "")
    config = dataclasses.replace(config, source=str(chosen) if chosen else None)
    validate(config)
    return config


def validate(config: Config) -> None:
    """Refuse settings that would make a real deployment unsafe or broken."""
    if config.delivery.backend not in ("maildir", "smtp"):
        raise ConfigError('[delivery] backend must be "maildir" or "smtp"')
    if config.delivery.smarthost.security not in ("starttls", "tls", "none"):
        raise ConfigError('[delivery.smarthost] security must be "starttls", "tls" or "none"')
    if config.delivery.backend == "smtp" and not config.delivery.smarthost.host:
        raise ConfigError('[delivery] backend is "smtp" but [delivery.smarthost] host is empty')
    if config.delivery.connections < 1:
        raise ConfigError("[delivery] connections must be at least 1")
    if config.worker.messages_per_transaction < 1:
        raise ConfigError(
            "[worker] messages_per_transaction must be 1 (one message per transaction) or more"
        )
    if config.inbound.max_recipients < 1:
        raise ConfigError("[inbound] max_recipients must be 1 or more")
    if config.inbound.idle_timeout_seconds <= 0 or config.inbound.session_timeout_seconds <= 0:
        raise ConfigError(
            "[inbound] idle_timeout_seconds and session_timeout_seconds must be more than 0"
        )
    if config.delivery.max_per_minute < 0 or config.delivery.max_per_day < 0:
        raise ConfigError("[delivery] max_per_minute and max_per_day must be 0 (no limit) or more")
    dkim = config.delivery.dkim
    if bool(dkim.selector) != bool(dkim.private_key_file):
        raise ConfigError("[delivery.dkim] needs both selector and private_key_file, or neither")
    if dkim.private_key_file and not Path(dkim.private_key_file).is_file():
        raise ConfigError(
            f"[delivery.dkim] private_key_file {dkim.private_key_file} does not exist"
        )
    from mailer.mail.automated import AWAY_LANGUAGES
    from mailer.mail.read import REPLY_LANGUAGES

    known = REPLY_LANGUAGES | AWAY_LANGUAGES
    unknown = [c for c in config.inbound.reply_language_codes if c not in known]
    if unknown:
        raise ConfigError(
            f"[inbound] reply_languages: {', '.join(unknown)} not known; "
            f"choose from {', '.join(sorted(known))}"
        )
    if not config.mail.domain or "@" in config.mail.domain:
        raise ConfigError("[mail] domain must be a bare domain such as lists.example.org")
    key = config.service.secret_key
    if not key and not config.service.dev_mode:
        raise ConfigError(
            "no secret key: set [service] secret_key or the CONVENE_SECRET_KEY environment "
            "variable to a long random string (python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')"
        )
    problem = secret_key_problem(key)
    if problem:  # in dev mode too: whoever knows the key can forge logins and links
        raise ConfigError(problem)


def secret_key_problem(key: str) -> str | None:
    """Why a configured secret key must not be used (the placeholder everyone can read in
    config.example.toml, or too short to resist guessing), or None. An empty key is no key: dev
    mode then makes its own."""
    if not key:
        return None
    if key == EXAMPLE_SECRET_KEY:
        return (
            "the secret key is still the placeholder from config.example.toml: set "
            "CONVENE_SECRET_KEY or [service] secret_key to a long random string, or leave it "
            "unset in dev mode to have one made"
        )
    if len(key) < 32:
        return "the secret key is too short: use at least 32 random characters"
    return None


def effective_secret_key(config: Config) -> str:
    """The key that signs links and sessions.

    In dev mode with no key configured, a random key is generated once and kept
    in ``<data_dir>/dev-secret-key`` so links keep working across restarts.
    """
    if config.service.secret_key:
        return config.service.secret_key
    if not config.service.dev_mode:
        raise ConfigError("no secret key configured")
    key_file = config.data_path / "dev-secret-key"
    if key_file.exists():
        return key_file.read_text().strip()
    config.data_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    tmp = key_file.with_name(f".dev-secret-key.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    try:
        os.link(
            tmp, key_file
        )  # atomic: the first process to get here wins, the file is never half-written
    except FileExistsError:
        key = key_file.read_text().strip()
    finally:
        tmp.unlink()
    return key_file.read_text().strip()
