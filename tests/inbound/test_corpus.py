"""The labelled corpora (tests/corpus/dev and tests/corpus/frozen) through the real service: SMTP
in, the worker, the database and the outbox out (see tests/support/corpus.py).

The development corpus is understood exactly as labelled. The frozen corpus,
written before the rules and never used to build them, measures: at least
97% as labelled and not one state change its labels do not expect.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mailer.domain.services import build_services
from mailer.runtime import Runtime
from tests.conftest import make_test_config
from tests.support.corpus import AUTHSERV_ID, Score, run_corpus
from tests.support.databases import TestDatabase
from tests.support.servers import RunningService


def _run(database: TestDatabase, tmp_path: Path, part: str) -> Score:
    config = make_test_config(tmp_path, database.url, inbound={"authserv_id": AUTHSERV_ID})
    services = build_services(config)
    runtime = Runtime(config, database.engine, database.sessions, services)
    with RunningService(runtime, web=False):
        return run_corpus(database, services, config, part)


@pytest.mark.timeout(900)
def test_the_development_corpus_is_understood_as_labelled(
    database: TestDatabase, tmp_path: Path
) -> None:
    score = _run(database, tmp_path, "dev")
    print(score.report(f"dev corpus, {database.backend}"))
    assert not score.wrong_changes, score.report("dev")
    assert score.right == len(score.results), score.report("dev")


@pytest.mark.timeout(900)
def test_the_frozen_corpus_measures_at_least_97_percent_and_no_wrong_change(
    database: TestDatabase, tmp_path: Path
) -> None:
    score = _run(database, tmp_path, "frozen")
    print(score.report(f"frozen corpus, {database.backend}"))
    assert not score.wrong_changes, score.report("frozen")
    assert score.share() >= 0.97, score.report("frozen")
