"""`convene backup` and `convene restore`: a backup taken while mail arrives holds every message
acknowledged before it began and every answer recorded, and a restore into a new data directory
brings them all back; a restore never overwrites a database unasked, nor takes a file that is
not a whole Convene database. On PostgreSQL the commands point to pg_dump."""

from __future__ import annotations

import smtplib
import threading
from pathlib import Path

from sqlalchemy import select

from mailer.db import make_engine, make_sessionmaker
from mailer.domain.models import AttendanceMode, InboundMessage, Rsvp, RsvpResponse
from mailer.domain.rsvp import record_rsvp
from mailer.domain.services import build_services
from mailer.runtime import Runtime
from tests.conftest import make_test_config, run
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting
from tests.support.net import wait_for
from tests.support.servers import RunningService


def test_a_backup_under_load_restores_everything_acknowledged_before_it(
    sqlite_only_database: TestDatabase, tmp_path: Path
) -> None:
    database = sqlite_only_database
    config = make_test_config(tmp_path, database.url)
    services = build_services(config)
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    for n in range(20):
        with database.sessions() as s:
            record_rsvp(
                s,
                services,
                meeting_id=meeting.id,
                email=f"delegate{n}@example.org",
                response=RsvpResponse.ATTENDING,
                mode=AttendanceMode.REMOTE,
                source="panel",
            )
    runtime = Runtime(config, database.engine, database.sessions, build_services(config))
    acknowledged: list[str] = []
    stop = threading.Event()
    before_backup: list[str] = []

    def sender() -> None:
        with smtplib.SMTP(config.inbound.host, config.inbound.port, timeout=30) as client:
            n = 0
            while not stop.is_set() and n < 2_000:
                message_id = f"<m{n}@example.org>"
                client.sendmail(
                    f"p{n}@example.org",
                    ["forum@lists.test"],
                    f"Message-ID: {message_id}\r\nSubject: {n}\r\n\r\nHello.\r\n",
                )
                acknowledged.append(message_id)  # after its 250
                n += 1

    target = tmp_path / "backups" / "convene.db"
    with RunningService(runtime, worker=False, web=False):
        thread = threading.Thread(target=sender)
        thread.start()
        wait_for(lambda: len(acknowledged) >= 50, message="mail flowing")
        before_backup[:] = acknowledged
        code, out, err = run(
            "--config", str(_config_file(tmp_path, database)), "backup", str(target)
        )
        stop.set()
        thread.join(60)
    assert code == 0 and "Backed up to" in out, err
    assert len(acknowledged) > len(before_backup)  # mail went on arriving during the backup

    new_home = tmp_path / "restored"
    restored_config = _config_file(new_home, None)
    code, out, err = run("--config", str(restored_config), "restore", str(target))
    assert code == 0 and "Restored" in out, err
    engine = make_engine(f"sqlite:///{new_home / 'var' / 'convene.db'}")
    with make_sessionmaker(engine)() as s:
        stored = {  # read from what was stored: the worker, stopped here, fills message_id in
            raw.split(b"\r\n", 1)[0].decode().removeprefix("Message-ID: ")
            for raw in s.scalars(select(InboundMessage.raw))
        }
        assert set(before_backup) <= stored
        assert len(s.scalars(select(Rsvp)).all()) == 20
    engine.dispose()
    again = run("--config", str(restored_config), "restore", str(target))
    assert again[0] != 0 and "--replace" in again[2]
    assert run("--config", str(restored_config), "restore", str(target), "--replace")[0] == 0
    not_ours = tmp_path / "notes.txt"
    not_ours.write_text("hello")
    refused = run("--config", str(restored_config), "restore", str(not_ours), "--replace")
    assert refused[0] != 0 and "not a SQLite database" in refused[2]
    exists = run("--config", str(_config_file(tmp_path, database)), "backup", str(target))
    assert exists[0] != 0 and "already exists" in exists[2]


def _config_file(home: Path, database: TestDatabase | None) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "convene.toml"
    url = f'[database]\nurl = "{database.url}"\n' if database else ""
    path.write_text(f'[service]\ndev_mode = true\ndata_dir = "{home / "var"}"\n{url}')
    return path


def test_on_postgresql_the_backup_points_to_pg_dump(
    postgresql_database: TestDatabase, tmp_path: Path
) -> None:
    path = _config_file(tmp_path, postgresql_database)
    code, _, err = run("--config", str(path), "backup", str(tmp_path / "x.db"))
    assert code != 0 and "pg_dump --format=custom" in err and "pg_restore" in err
    assert not (tmp_path / "x.db").exists()
