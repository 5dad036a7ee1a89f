"""The convene command: every command and its help, the installed entry point, init, lists, meetings
and people with --json, exit statuses for refused requests, clean start and stop of serve."""

from __future__ import annotations

import json
import os
import smtplib
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pytest
from sqlalchemy import select

from mailer.cli import cli, main
from mailer.domain.services import Services
from tests.conftest import run
from tests.support.databases import TestDatabase
from tests.support.net import free_port, wait_for
from tests.support.servers import convene_process

# Every command scripts may call: renaming one breaks them.
COMMANDS = [
    "init",
    "serve",
    "smtp",
    "worker",
    "web",
    "doctor",
    "backup",
    "restore",
    "inbound",
    "list create",
    "list configure",
    "list show",
    "list add-member",
    "list members",
    "meeting create",
    "meeting series",
    "meeting list",
    "meeting invite",
    "meeting update",
    "meeting attach",
    "meeting cancel",
    "meeting agenda",
    "meeting attendees",
    "meeting publish",
    "meeting unpublish",
    "news create",
    "news list",
    "news preview",
    "news test",
    "news send",
    "news report",
    "consultation create",
    "consultation list",
    "consultation preview",
    "consultation send",
    "consultation close",
    "consultation answers",
    "consultation tag",
    "consultation volunteers",
    "consultation accept",
    "api-token create",
    "api-token revoke",
    "person export",
    "person erase",
    "organiser create",
    "organiser reset-password",
    "organiser turn-off-code",
]


def _command_paths(group: click.Group, prefix: str = "") -> list[str]:
    paths = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            paths += _command_paths(command, f"{prefix}{name} ")
        else:
            paths.append(prefix + name)
    return paths


def test_every_command_is_still_there_and_answers_help() -> None:
    assert sorted(_command_paths(cli)) == sorted(COMMANDS)
    for path in COMMANDS:
        code, out, _ = run(*path.split(), "--help")
        assert code == 0 and out.startswith(f"Usage: convene {path} "), path
    code, out, _ = run("-h")
    assert code == 0 and "Email-first mailing lists" in out and "consultation" in out


def test_a_missing_or_unknown_command_is_a_usage_error() -> None:
    assert run()[0] == 2
    code, _, err = run("meetings", "list")
    assert code == 2 and "No such command 'meetings'" in err
    code, _, err = run("list", "create")
    assert code == 2 and "Missing argument 'SLUG'" in err


def test_the_readme_documents_every_command() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The `convene` command", 1)[1].split("\n## ", 1)[0]
    missing = [
        path for path in COMMANDS if f"`convene {path}" not in section and f"`{path}" not in section
    ]
    assert missing == []


def test_the_installed_convene_command_runs_against_a_sqlite_database(tmp_path: Path) -> None:
    """The console script pip installed (pyproject's [project.scripts]), as a real process."""
    convene = Path(sys.executable).with_name("convene")
    config = tmp_path / "convene.toml"
    config.write_text(
        f'[service]\ndev_mode = true\ndata_dir = "{tmp_path / "var"}"\n'
        '[mail]\ndomain = "lists.test"\n'
    )
    env = {**os.environ, "CONVENE_CONFIG": str(config)}

    def convene_run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(convene), *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            check=False,
        )

    shown = convene_run("--help")
    assert shown.returncode == 0 and shown.stdout.startswith("Usage: convene [OPTIONS] COMMAND")
    assert "consultation" in shown.stdout and "organiser" in shown.stdout
    init = convene_run("init")
    assert init.returncode == 0 and "Database ready: sqlite" in init.stdout, init.stderr
    created = convene_run("list", "create", "forum", "--name", "Forum", "--json")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["address"] == "forum@lists.test"
    again = convene_run("list", "create", "forum", "--name", "Forum")
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr == "convene: A list with the address 'forum' already exists.\n"


def test_a_missing_file_is_a_usage_error(cli_env: Path, tmp_path: Path) -> None:
    run("init")
    run("list", "create", "forum", "--name", "Forum")
    code, _, err = run(
        "news",
        "create",
        "--list",
        "forum",
        "--subject",
        "S",
        "--body-file",
        str(tmp_path / "missing.md"),
    )
    assert code == 2 and "Invalid value for '--body-file'" in err
    code, _, err = run("meeting", "attach", "1", str(tmp_path / "missing.pdf"))
    assert code == 2 and "does not exist" in err


def test_a_body_can_come_from_standard_input(cli_env: Path) -> None:
    run("init")
    run("list", "create", "forum", "--name", "Forum")
    code, out, _ = run(
        "news",
        "create",
        "--list",
        "forum",
        "--subject",
        "Hello",
        "--body-file",
        "-",
        "--json",
        stdin="Hello **members**.\n",
    )
    assert code == 0
    news_id = str(json.loads(out)["id"])
    code, out, _ = run("news", "preview", news_id)
    assert out.startswith("Subject: Hello\n\nHello members.\n")  # the text part reads as text
    code, out, _ = run("news", "preview", news_id, "--html")
    assert "<strong>members</strong>" in out


def test_main_returns_the_exit_status_instead_of_exiting(tmp_path: Path) -> None:
    assert main(["--help"]) == 0
    assert main(["--config", str(tmp_path / "missing.toml"), "list", "show"]) == 2
    assert main(["list", "create"]) == 2


def test_init_creates_the_first_organiser_once(cli_env: Path) -> None:
    code, out, _ = run("init", "--admin-email", "chair@example.org")
    assert code == 0 and "Created the first organiser (admin): chair@example.org" in out
    assert "Password (shown once):" in out
    code, out, _ = run("init")
    assert code == 0 and "Password" not in out


def test_init_demo_seeds_an_empty_database(cli_env: Path) -> None:
    code, out, _ = run("init", "--demo")
    assert code == 0
    assert (
        "List address:   forum@lists.test" in out and "Demo password:" in out and "/panel/" in out
    )
    code, out, _ = run("list", "show", "--json")
    assert json.loads(out)[0]["name"].startswith("[Demo]")
    code, out, _ = run("init", "--demo")
    assert "Seeded" not in out


def test_lists_meetings_members_and_attendees(cli_env: Path) -> None:
    run("init")
    code, out, _ = run("list", "create", "forum", "--name", "Leaders Forum", "--json")
    assert code == 0 and json.loads(out)["address"] == "forum@lists.test"
    assert run("list", "add-member", "forum", "Sam@Example.org", "--name", "Sam")[0] == 0
    code, out, _ = run("list", "members", "forum", "--json")
    assert json.loads(out) == [{"email": "sam@example.org", "name": "Sam", "status": "active"}]
    code, out, _ = run(
        "meeting",
        "create",
        "--list",
        "forum",
        "--title",
        "Spring Forum",
        "--starts",
        "2099-03-12 14:00",
        "--ends",
        "2099-03-12 16:00",
        "--venue",
        "Room 1",
        "--capacity",
        "30",
        "--json",
    )
    meeting = json.loads(out)
    assert meeting["starts_at"] == "2099-03-12T14:00:00+00:00"  # GMT in March
    code, out, _ = run("meeting", "attendees", str(meeting["id"]), "--json")
    assert json.loads(out)["counts"] == {
        "in_person": 0,
        "remote": 0,
        "undecided": 0,
        "declined": 0,
        "waitlist": 0,
    }


def test_bad_input_gets_a_message_and_exit_code(cli_env: Path) -> None:
    run("init")
    code, _, err = run("list", "create", "Bad Slug!", "--name", "x")
    assert code == 1 and "lower-case letters" in err
    code, _, err = run(
        "meeting",
        "create",
        "--list",
        "nope",
        "--title",
        "t",
        "--starts",
        "2099-01-01 10:00",
        "--ends",
        "2099-01-01 11:00",
        "--format",
        "remote",
    )
    assert code == 1 and "no list called 'nope'" in err
    code, _, err = run(
        "meeting",
        "create",
        "--list",
        "nope",
        "--title",
        "t",
        "--starts",
        "tomorrow",
        "--ends",
        "2099-01-01 11:00",
    )
    assert code == 1 and "is not a date and time" in err


def test_config_error_is_reported_not_raised(tmp_path: Path) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text('[service]\nsecret_key = "change-me-to-a-long-random-string"\n')
    code, _, err = run("--config", str(bad), "list", "show")
    assert code == 2 and "placeholder" in err


def test_serve_starts_and_stops_cleanly_on_sigint(
    sqlite_only_database: TestDatabase, tmp_path: Path
) -> None:
    """The real process: `convene init` then `convene serve`, answering SMTP and HTTP, then
    Ctrl-C."""
    smtp_port, web_port = free_port(), free_port()
    config = tmp_path / "convene.toml"
    config.write_text(
        f'[service]\ndev_mode = true\ndata_dir = "{tmp_path / "var"}"\n'
        f'base_url = "http://127.0.0.1:{web_port}"\n'
        f"[inbound]\nport = {smtp_port}\n[web]\nport = {web_port}\n"
    )
    with convene_process(config, smtp_port) as (_, finished):
        import urllib.error
        import urllib.request

        def healthy() -> bool:
            """Healthy: the web answers, and the worker has said it is at work."""
            try:
                url = f"http://127.0.0.1:{web_port}/healthz"
                return urllib.request.urlopen(url, timeout=2).status == 200
            except urllib.error.HTTPError:  # 503 until the worker's first heartbeat
                return False

        wait_for(healthy, timeout=30, message="convene serve to be healthy")
    out, err, returncode = finished
    assert returncode == "0", err
    assert "Stopped." in out
    assert "Traceback" not in err


def test_serve_refuses_an_uninitialised_database(tmp_path: Path) -> None:
    config = tmp_path / "convene.toml"
    config.write_text(f'[service]\ndev_mode = true\ndata_dir = "{tmp_path / "var"}"\n')
    code, _, err = run("--config", str(config), "serve")
    assert code == 2 and "convene init" in err


NOT_INITIALISED = (
    "convene: the database (sqlite:///var/convene.db) is not initialised: "
    "run 'convene init' first.\n"
)


def _no_configuration_here(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in ``directory`` as someone would who has not set Convene up: no file, no
    environment."""
    monkeypatch.chdir(directory)
    for var in [name for name in os.environ if name.startswith("CONVENE_")]:
        monkeypatch.delenv(var)


def test_a_command_before_init_says_to_run_init_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_configuration_here(tmp_path, monkeypatch)
    for argv in (
        ("list", "show"),
        ("inbound", "--json"),
        ("list", "members", "forum"),
        ("news", "preview", "1"),  # given the services before the session
        ("serve",),
    ):
        code, out, err = run(*argv)
        assert (code, out, err) == (2, "", NOT_INITIALISED), argv
    assert list(tmp_path.iterdir()) == []  # no database file, no dev secret key


def test_a_database_file_without_the_schema_is_not_initialised_either(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_configuration_here(tmp_path, monkeypatch)
    (tmp_path / "var").mkdir()
    sqlite3.connect(tmp_path / "var" / "convene.db").close()  # an empty database file
    assert run("list", "show") == (2, "", NOT_INITIALISED)
    code, out, _ = run("init")
    assert code == 0 and "Database ready" in out
    assert run("list", "show")[0] == 0


def test_the_command_before_init_as_a_real_process(tmp_path: Path) -> None:
    """As typed in an empty directory: one line saying what to do, no traceback."""
    root = Path(__file__).parents[1]
    env = {name: value for name, value in os.environ.items() if not name.startswith("CONVENE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    shown = subprocess.run(
        [sys.executable, "-m", "mailer.cli", "list", "show"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (shown.returncode, shown.stdout, shown.stderr) == (2, "", NOT_INITIALISED)
    assert list(tmp_path.iterdir()) == []


def test_inbound_log_json(cli_env: Path, database: TestDatabase) -> None:
    from mailer.config import load_config
    from mailer.domain.queue import store_inbound
    from mailer.domain.services import build_services
    from mailer.inbound.process import process_inbound

    run("init")
    run("list", "create", "forum", "--name", "Forum")
    with database.sessions() as s:
        inbound_id = store_inbound(
            s,
            mail_from="sam@example.org",
            rcpt_to=["forum@lists.test"],
            raw=b"From: sam@example.org\r\nMessage-ID: <q1@x>\r\nSubject: hi\r\n\r\n"
            b"What time does it start?\r\n",
        )
    process_inbound(database.sessions, build_services(load_config()), inbound_id)
    code, out, _ = run("inbound", "--json")
    [row] = json.loads(out)
    assert code == 0 and row["message_id"] == "<q1@x>" and row["intent"] == "unclear"
    assert row["status"] == "triage" and row["list"] == "forum" and "triage" in row["outcome"]
    assert row["new_text"] == "What time does it start?" and row["subject"] == "hi"
    assert row["understood"]["kind"] == "unclear" and row["understood"]["answering"] is None
    assert row["replied"] is True and row["replies"] == ["triage_ack"]


def test_meeting_invite_agenda_update_cancel(cli_env: Path, tmp_path: Path) -> None:
    run("init")
    run("list", "create", "forum", "--name", "Forum")
    run("list", "add-member", "forum", "ana@example.org")
    code, out, _ = run(
        "meeting",
        "create",
        "--list",
        "forum",
        "--title",
        "Forum",
        "--starts",
        "2099-03-12 14:00",
        "--ends",
        "2099-03-12 16:00",
        "--venue",
        "Room 1",
        "--json",
    )
    meeting_id = str(json.loads(out)["id"])
    code, out, _ = run("meeting", "invite", meeting_id, "--json")
    assert json.loads(out) == {"meeting": int(meeting_id), "invited": 1}
    agenda = tmp_path / "agenda.md"
    agenda.write_text("1. Welcome\n")
    assert run("meeting", "agenda", meeting_id, "--file", str(agenda), "--days-before", "5")[0] == 0
    code, out, _ = run(
        "meeting",
        "update",
        meeting_id,
        "--starts",
        "2099-03-12 15:00",
        "--ends",
        "2099-03-12 17:00",
    )
    assert code == 0 and "1 person told" in out
    code, out, _ = run("meeting", "cancel", meeting_id, "--reason", "Strike")
    assert code == 0 and "1 person told" in out


def test_person_export_and_erase(cli_env: Path) -> None:
    run("init")
    run("list", "create", "forum", "--name", "Forum")
    run("list", "add-member", "forum", "ana@example.org", "--name", "Ana")
    code, out, _ = run("person", "export", "ana@example.org")
    assert code == 0 and json.loads(out)["subscriptions"][0]["address"] == "forum"
    code, _, err = run("person", "erase", "ana@example.org")
    assert code == 2 and "--yes" in err
    code, out, _ = run("person", "erase", "ana@example.org", "--yes")
    assert code == 0 and "Erased ana@example.org" in out
    code, _, err = run("person", "export", "ana@example.org")
    assert code == 1 and "Nothing is held" in err


def test_doctor_reports_and_fails_on_problems(cli_env: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.toml"
    fresh.write_text(f'[service]\ndev_mode = true\ndata_dir = "{tmp_path / "fresh"}"\n')
    code, out, _ = run("--config", str(fresh), "doctor")
    assert code == 1 and "FAIL  database: reachable but not initialised" in out
    run("init")
    code, out, _ = run("doctor")
    assert code == 0 and "ok    database: schema up to date" in out
    assert "_dmarc.lists.test. TXT" in out and "lists.test. MX 10" in out


def test_list_configure(cli_env: Path) -> None:
    run("init")
    run("list", "create", "forum", "--name", "Forum")
    code, out, _ = run(
        "list", "configure", "forum", "--allowed-domains", "*.gov.uk", "--trust-dmarc"
    )
    assert code == 0 and "*.gov.uk" in out and "yes" in out
    code, _, err = run("list", "configure", "forum", "--allowed-domains", "bad domain!")
    assert code == 1 and "is not a domain" in err


def test_secrets_and_tokens_never_reach_the_logs(
    tmp_path: Path, sqlite_only_database: TestDatabase
) -> None:
    """A real `convene serve` with a secret key and a smarthost password, used by mail and by a
    link."""
    import re
    import urllib.request

    from tests.support.servers import SmtpSink

    secret, password = "S3cret-" + "k" * 40, "smarthost-Pa55word-xyz"
    with SmtpSink() as sink:
        smtp_port, web_port = free_port(), free_port()
        config = tmp_path / "convene.toml"
        config.write_text(
            f'[service]\ndev_mode = true\ndata_dir = "{tmp_path / "var"}"\n'
            f'base_url = "http://127.0.0.1:{web_port}"\n[mail]\ndomain = "lists.test"\n'
            f"[inbound]\nport = {smtp_port}\n[web]\nport = {web_port}\n"
            f'[delivery]\nbackend = "smtp"\n[delivery.smarthost]\nhost = "127.0.0.1"\n'
            f'port = {sink.port}\nsecurity = "none"\nusername = ""\n'
        )
        secrets_env = {"CONVENE_SECRET_KEY": secret, "CONVENE_SMARTHOST_PASSWORD": password}
        with convene_process(config, smtp_port, secrets_env) as (init, finished):
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as c:
                c.sendmail(
                    "sam@example.org",
                    ["forum@lists.test"],
                    b"From: sam@example.org\r\nSubject: hi\r\n\r\nPlease register me\r\n",
                )
            [reply] = sink.wait_for_count(1)
            link = re.search(r"(http://\S+/remote)\s", reply.text).group(1)
            token = link.split("/")[-2]
            urllib.request.urlopen(link, timeout=10).read()
    out, err, _ = finished
    logs = init.stdout + init.stderr + out + err
    assert "asked the address owner to confirm by link" in logs  # the log says what happened...
    for leaked in (secret, password, token):  # ...but never a secret or a signed token
        assert leaked not in logs


def test_a_draft_meeting_is_published_and_back_to_draft_until_anyone_answers(
    cli_env: Path,
) -> None:
    run("init")
    run("list", "create", "forum", "--name", "Leaders Forum")
    code, out, _ = run(
        "meeting",
        "create",
        "--list",
        "forum",
        "--title",
        "Spring Forum",
        "--starts",
        "2099-03-12 14:00",
        "--ends",
        "2099-03-12 16:00",
        "--status",
        "draft",
        "--json",
    )
    meeting = str(json.loads(out)["id"])
    assert json.loads(out)["status"] == "draft"
    assert run("meeting", "publish", meeting) == (0, f"Meeting {meeting} is published.\n", "")
    assert run("meeting", "unpublish", meeting)[0] == 0
    assert run("meeting", "publish", meeting)[0] == 0
    run("list", "add-member", "forum", "sam@example.org")
    assert run("meeting", "invite", meeting)[0] == 0
    code, _, err = run("meeting", "unpublish", meeting)
    assert code == 1 and "cannot go back to draft" in err


def test_a_plain_organiser_is_created_for_the_lists_named(
    cli_env: Path, database: TestDatabase
) -> None:
    from mailer.domain.models import Organiser
    from mailer.domain.organisers import organiser_lists

    run("init")
    run("list", "create", "forum", "--name", "Forum")
    code, _, err = run("organiser", "create", "sam@example.org")
    assert code != 0 and "Give --list SLUG" in err
    code, out, _ = run("organiser", "create", "sam@example.org", "--list", "forum")
    assert code == 0 and "Password (shown once)" in out
    with database.sessions() as s:
        sam = s.scalars(select(Organiser).where(Organiser.email == "sam@example.org")).one()
        assert organiser_lists(s, sam.id) == ["forum"]


def test_an_organiser_who_lost_their_phone_has_the_code_turned_off(
    cli_env: Path, database: TestDatabase, services: Services
) -> None:
    from datetime import UTC, datetime

    import pyotp

    from mailer.domain import second_step
    from mailer.domain.models import Organiser

    run("init", "--admin-email", "chair@example.org")
    secret, now = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", datetime(2027, 3, 11, 9, 30, tzinfo=UTC)
    with database.sessions() as s:
        chair = s.scalars(select(Organiser)).one()
    with database.sessions() as s:
        second_step.turn_on(
            s, services, chair.id, secret=secret, code=pyotp.TOTP(secret).at(now), now=now
        )
    code, out, _ = run("organiser", "turn-off-code", "Chair@Example.org")
    assert code == 0 and out == "Logging in no longer asks chair@example.org for a code.\n"
    with database.sessions() as s:
        assert s.get(Organiser, chair.id).totp_secret is None
    code, _, err = run("organiser", "turn-off-code", "chair@example.org")
    assert code == 1 and "does not ask them for a code" in err
    code, _, err = run("organiser", "turn-off-code", "nobody@example.org")
    assert code == 1 and "No organiser has the address nobody@example.org" in err
