"""The labelled corpora (tests/corpus/dev and tests/corpus/frozen) through the real service: SMTP
in, the worker, the database and the outbox out (see tests/support/corpus.py).

Not one state change the labels do not expect, on either corpus. How many
messages come out as labelled may not fall below what has been reached
(the development corpus 181 of 183, the frozen 133 of 149, on 2026-12-02);
the aims are every development message and 97% of the frozen corpus, and
docs/benchmarks.md records the figures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mailer.domain.services import build_services
from mailer.runtime import Runtime
from tests.conftest import make_test_config
from tests.support.corpus import Score, corpus_inbound_settings, run_corpus
from tests.support.databases import TestDatabase
from tests.support.servers import RunningService


def _run(database: TestDatabase, tmp_path: Path, part: str) -> Score:
    config = make_test_config(tmp_path, database.url, inbound=corpus_inbound_settings())
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
    assert score.right >= 181, score.report("dev")


@pytest.mark.timeout(900)
def test_the_frozen_corpus_makes_no_wrong_change_and_keeps_its_figure(
    database: TestDatabase, tmp_path: Path
) -> None:
    score = _run(database, tmp_path, "frozen")
    print(score.report(f"frozen corpus, {database.backend}"))
    assert not score.wrong_changes, score.report("frozen")
    assert score.right >= 133, score.report("frozen")
