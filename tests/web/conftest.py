from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailer.config import Config
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.http import HttpClient
from tests.support.servers import RunningService, web_only


@pytest.fixture
def web_config(database: TestDatabase, tmp_path: Path) -> Config:
    return make_test_config(tmp_path, database.url)


@pytest.fixture
def web_service(database: TestDatabase, web_config: Config) -> Iterator[RunningService]:
    with web_only(web_config, database) as service:
        yield service


@pytest.fixture
def client(web_service: RunningService) -> HttpClient:
    return HttpClient(web_service.config.service.base_url)
