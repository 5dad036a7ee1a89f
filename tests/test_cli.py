"""The convene command: init, organiser commands with --json, clean start and stop of serve."""

from __future__ import annotations

import json
import smtplib
from pathlib import Path

import pytest

from mailer.cli import build_parser
from tests.conftest import run
from tests.support.databases import TestDatabase
from tests.support.net import free_port, wait_for
from tests.support.servers import convene_process


def test_every_command_has_help() -> None:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, __import__("argparse")._SubParsersAction)]
    seen = 0
    for name, sub in actions[0].choices.items():
        assert sub.format_help().startswith("usage: convene " + name)
        for a in sub._actions:
            if isinstance(a, __import__("argparse")._SubParsersAction):
                for child in a.choices.values():
                    assert "usage:" in child.format_help()
                    seen += 1
        seen += 1
    assert seen >= 15


def test_init_creates_the_first_organiser_once(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "init", "--admin-email", "chair@example.org")
    assert code == 0 and "Created the first organiser (admin): chair@example.org" in out
    assert "Password (shown once):" in out
    code, out, _ = run(capsys, "init")
    assert code == 0 and "Password" not in out


def test_init_demo_seeds_an_empty_database(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "init", "--demo")
    assert code == 0
    assert "List address:   forum@lists.test" in out and "Demo password:" in out and "/panel/" in out
    code, out, _ = run(capsys, "list", "show", "--json")
    assert json.loads(out)[0]["name"].startswith("[Demo]")
    code, out, _ = run(capsys, "init", "--demo")
    assert "Seeded" not in out


def test_lists_meetings_members_and_attendees(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "init")
    code, out, _ = run(capsys, "list", "create", "forum", "--name", "Leaders Forum", "--json")
    assert code == 0 and json.loads(out)["address"] == "forum@lists.test"
    assert run(capsys, "list", "add-member", "forum", "Sam@Example.org", "--name", "Sam")[0] == 0
    code, out, _ = run(capsys, "list", "members", "forum", "--json")
    assert json.loads(out) == [{"email": "sam@example.org", "name": "Sam", "status": "active"}]
    code, out, _ = run(capsys, "meeting", "create", "--list", "forum", "--title", "Spring Forum",
                       "--starts", "2099-03-12 14:00", "--ends", "2099-03-12 16:00", "--venue", "Room 1",
                       "--capacity", "30", "--json")
    meeting = json.loads(out)
    assert meeting["starts_at"] == "2099-03-12T14:00:00+00:00"  # GMT in March
    code, out, _ = run(capsys, "meeting", "attendees", str(meeting["id"]), "--json")
    assert json.loads(out)["counts"] == {"in_person": 0, "remote": 0, "undecided": 0, "declined": 0, "waitlist": 0}


def test_bad_input_gets_a_message_and_exit_code(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "init")
    code, _, err = run(capsys, "list", "create", "Bad Slug!", "--name", "x")
    assert code == 1 and "lower-case letters" in err
    code, _, err = run(capsys, "meeting", "create", "--list", "nope", "--title", "t", "--starts", "2099-01-01 10:00",
                       "--ends", "2099-01-01 11:00", "--format", "remote")
    assert code == 1 and "no list called 'nope'" in err
    code, _, err = run(capsys, "meeting", "create", "--list", "nope", "--title", "t", "--starts", "tomorrow",
                       "--ends", "2099-01-01 11:00")
    assert code == 1 and "is not a date and time" in err


def test_config_error_is_reported_not_raised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text("[service]\nsecret_key = \"change-me-to-a-long-random-string\"\n")
    code, _, err = run(capsys, "--config", str(bad), "list", "show")
    assert code == 2 and "placeholder" in err


def test_serve_starts_and_stops_cleanly_on_sigint(sqlite_only_database: TestDatabase, tmp_path: Path) -> None:
    """The real process: `convene init` then `convene serve`, answering SMTP and HTTP, then Ctrl-C."""
    smtp_port, web_port = free_port(), free_port()
    config = tmp_path / "convene.toml"
    config.write_text(f'[service]\ndev_mode = true\ndata_dir = "{tmp_path / "var"}"\n'
                      f'base_url = "http://127.0.0.1:{web_port}"\n'
                      f'[inbound]\nport = {smtp_port}\n[web]\nport = {web_port}\n')
    with convene_process(config, smtp_port) as (_, finished):
        import urllib.request
        wait_for(lambda: urllib.request.urlopen(f"http://127.0.0.1:{web_port}/healthz", timeout=2).status == 200,
                 timeout=30, message="convene serve to answer HTTP")
    out, err, returncode = finished
    assert returncode == "0", err
    assert "Stopped." in out
    assert "Traceback" not in err


def test_serve_refuses_an_uninitialised_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "convene.toml"
    config.write_text(f'[service]\ndev_mode = true\ndata_dir = "{tmp_path / "var"}"\n')
    code, _, err = run(capsys, "--config", str(config), "serve")
    assert code == 2 and "convene init" in err


def test_inbound_log_json(cli_env: Path, database: TestDatabase, capsys: pytest.CaptureFixture[str]) -> None:
    from mailer.config import load_config
    from mailer.domain.queue import store_inbound
    from mailer.domain.services import build_services
    from mailer.inbound.process import process_inbound

    run(capsys, "init")
    run(capsys, "list", "create", "forum", "--name", "Forum")
    with database.sessions() as s:
        inbound_id = store_inbound(s, mail_from="sam@example.org", rcpt_to=["forum@lists.test"],
                                   raw=b"From: sam@example.org\r\nMessage-ID: <q1@x>\r\nSubject: hi\r\n\r\n"
                                       b"What time does it start?\r\n")
    process_inbound(database.sessions, build_services(load_config()), inbound_id)
    code, out, _ = run(capsys, "inbound", "--json")
    [row] = json.loads(out)
    assert code == 0 and row["message_id"] == "<q1@x>" and row["intent"] == "unclear"
    assert row["status"] == "triage" and row["list"] == "forum" and "triage" in row["outcome"]


def test_meeting_invite_agenda_update_cancel(cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "init")
    run(capsys, "list", "create", "forum", "--name", "Forum")
    run(capsys, "list", "add-member", "forum", "ana@example.org")
    code, out, _ = run(capsys, "meeting", "create", "--list", "forum", "--title", "Forum", "--starts", "2099-03-12 14:00",
                       "--ends", "2099-03-12 16:00", "--venue", "Room 1", "--json")
    meeting_id = str(json.loads(out)["id"])
    code, out, _ = run(capsys, "meeting", "invite", meeting_id, "--json")
    assert json.loads(out) == {"meeting": int(meeting_id), "invited": 1}
    agenda = tmp_path / "agenda.md"
    agenda.write_text("1. Welcome\n")
    assert run(capsys, "meeting", "agenda", meeting_id, "--file", str(agenda), "--days-before", "5")[0] == 0
    code, out, _ = run(capsys, "meeting", "update", meeting_id, "--starts", "2099-03-12 15:00",
                       "--ends", "2099-03-12 17:00")
    assert code == 0 and "1 person(s) told" in out
    code, out, _ = run(capsys, "meeting", "cancel", meeting_id, "--reason", "Strike")
    assert code == 0 and "1 person(s) told" in out


def test_person_export_and_erase(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "init")
    run(capsys, "list", "create", "forum", "--name", "Forum")
    run(capsys, "list", "add-member", "forum", "ana@example.org", "--name", "Ana")
    code, out, _ = run(capsys, "person", "export", "ana@example.org")
    assert code == 0 and json.loads(out)["subscriptions"][0]["address"] == "forum"
    code, _, err = run(capsys, "person", "erase", "ana@example.org")
    assert code == 2 and "--yes" in err
    code, out, _ = run(capsys, "person", "erase", "ana@example.org", "--yes")
    assert code == 0 and "Erased ana@example.org" in out
    code, _, err = run(capsys, "person", "export", "ana@example.org")
    assert code == 1 and "Nothing is held" in err


def test_doctor_reports_and_fails_on_problems(cli_env: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    fresh = tmp_path / "fresh.toml"
    fresh.write_text(f'[service]\ndev_mode = true\ndata_dir = "{tmp_path / "fresh"}"\n')
    code, out, _ = run(capsys, "--config", str(fresh), "doctor")
    assert code == 1 and "FAIL  database: reachable but not initialised" in out
    run(capsys, "init")
    code, out, _ = run(capsys, "doctor")
    assert code == 0 and "ok    database: schema up to date" in out
    assert "_dmarc.lists.test. TXT" in out and "lists.test. MX 10" in out


def test_list_configure(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "init")
    run(capsys, "list", "create", "forum", "--name", "Forum")
    code, out, _ = run(capsys, "list", "configure", "forum", "--allowed-domains", "*.gov.uk", "--trust-dmarc")
    assert code == 0 and "*.gov.uk" in out and "yes" in out
    code, _, err = run(capsys, "list", "configure", "forum", "--allowed-domains", "bad domain!")
    assert code == 1 and "is not a domain" in err


def test_secrets_and_tokens_never_reach_the_logs(tmp_path: Path, sqlite_only_database: TestDatabase) -> None:
    """A real `convene serve` with a secret key and a smarthost password, used by mail and by a link."""
    import re
    import urllib.request

    from tests.support.servers import SmtpSink

    secret, password = "S3cret-" + "k" * 40, "smarthost-Pa55word-xyz"
    with SmtpSink() as sink:
        smtp_port, web_port = free_port(), free_port()
        config = tmp_path / "convene.toml"
        config.write_text(f'[service]\ndev_mode = true\ndata_dir = "{tmp_path / "var"}"\n'
                          f'base_url = "http://127.0.0.1:{web_port}"\n[mail]\ndomain = "lists.test"\n'
                          f'[inbound]\nport = {smtp_port}\n[web]\nport = {web_port}\n'
                          f'[delivery]\nbackend = "smtp"\n[delivery.smarthost]\nhost = "127.0.0.1"\n'
                          f'port = {sink.port}\nsecurity = "none"\nusername = ""\n')
        secrets_env = {"CONVENE_SECRET_KEY": secret, "CONVENE_SMARTHOST_PASSWORD": password}
        with convene_process(config, smtp_port, secrets_env) as (init, finished):
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as c:
                c.sendmail("sam@example.org", ["forum@lists.test"],
                           b"From: sam@example.org\r\nSubject: hi\r\n\r\nPlease register me\r\n")
            [reply] = sink.wait_for_count(1)
            link = re.search(r"(http://\S+/remote)\s", reply.text).group(1)
            token = link.split("/")[-2]
            urllib.request.urlopen(link, timeout=10).read()
    out, err, _ = finished
    logs = init.stdout + init.stderr + out + err
    assert "registered for meeting" in logs  # the log does say what happened...
    for leaked in (secret, password, token):  # ...but never a secret or a signed token
        assert leaked not in logs
