"""How well Convene understands the labelled corpora: every message of tests/corpus/dev and
tests/corpus/frozen sent over SMTP to a real ``convene smtp`` and handled by a real worker on a
new SQLite database, then scored against its label (tests/support/corpus.py). Prints one JSON line
per corpus; ``--verbose`` lists what went wrong."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.common import report
from mailer.db import make_engine, make_sessionmaker, migrate
from mailer.domain.services import build_services
from mailer.runtime import Runtime
from tests.conftest import make_test_config
from tests.support.corpus import corpus_inbound_settings, json_summary, run_corpus
from tests.support.databases import TestDatabase
from tests.support.servers import RunningService


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=["dev", "frozen"], action="append")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    for part in args.part or ["dev", "frozen"]:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/corpus.db"
            engine = make_engine(url)
            migrate(engine)
            database = TestDatabase(url, engine, make_sessionmaker(engine))
            config = make_test_config(Path(tmp), url, inbound=corpus_inbound_settings())
            services = build_services(config)
            with RunningService(Runtime(config, engine, database.sessions, services), web=False):
                score = run_corpus(database, services, config, part)
            engine.dispose()
        if args.verbose:
            print(score.report(part))
        report(f"corpus: {part}", json_summary(score))


if __name__ == "__main__":
    main()
