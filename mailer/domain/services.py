"""What domain rules need besides a session: configuration, link signing and
email rendering. Built once per process from the configuration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mailer.config import Config, effective_secret_key
from mailer.domain.links import LinkSigner
from mailer.domain.models import utcnow
from mailer.rendering import EmailRenderer


@dataclass(frozen=True)
class Services:
    config: Config
    links: LinkSigner
    emails: EmailRenderer
    #: What time it is, for rules a person meets at a moment (a login code); tests fix it.
    clock: Callable[[], datetime] = utcnow

    def list_address(self, slug: str) -> str:
        return self.config.addresses.list_address(slug)


def build_services(config: Config) -> Services:
    links = LinkSigner(
        effective_secret_key(config),
        config.service.base_url,
        timedelta(days=config.links.max_age_days),
        timedelta(days=config.links.confirm_days),
    )
    emails = EmailRenderer(
        globals={"base_url": links.base_url, "service_name": config.service.name}
    )
    return Services(config=config, links=links, emails=emails)
