from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailer.config import Config
from mailer.domain.services import build_services
from mailer.runtime import Runtime
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.http import HttpClient
from tests.support.servers import RunningService


@pytest.fixture
def web_config(database: TestDatabase, tmp_path: Path) -> Config:
    return make_test_config(tmp_path, database.url)


@pytest.fixture
def web_service(database: TestDatabase, web_config: Config) -> Iterator[RunningService]:
    runtime = Runtime(web_config, database.engine, database.sessions, build_services(web_config))
    with RunningService(runtime, smtp=False, worker=False) as service:
        yield service


@pytest.fixture
def client(web_service: RunningService) -> HttpClient:
    return HttpClient(web_service.config.service.base_url)
