"""The consultation commands, end to end through the CLI with --json: create, send, answers, tag,
CSV, volunteers, accept; bad input gets a message and exit code 1."""

from __future__ import annotations

import json
from pathlib import Path

from mailer.config import load_config
from mailer.domain.consultations import record_answer
from mailer.domain.outbox import ReplyThread
from mailer.domain.services import build_services
from tests.conftest import run
from tests.support.databases import TestDatabase
from tests.support.factories import answer_claim


def test_consultation_commands(cli_env: Path, database: TestDatabase, tmp_path: Path) -> None:
    run("init")
    run("list", "create", "forum", "--name", "Leaders Forum")
    for who in ("ana", "ben"):
        run("list", "add-member", "forum", f"{who}@dept.gov.uk")
    question = tmp_path / "q.md"
    question.write_text("Who can help at the conference?", encoding="utf-8")
    code, out, _ = run(
        "consultation",
        "create",
        "--list",
        "forum",
        "--title",
        "Volunteers",
        "--body-file",
        str(question),
        "--role",
        "Project delivery",
        "--role",
        "Communications: comms",
        "--closes",
        "2099-03-12 17:00",
        "--json",
    )
    created = json.loads(out)
    assert code == 0 and created["kind"] == "volunteers" and created["status"] == "draft"
    cid = created["id"]
    code, out, _ = run("consultation", "preview", str(cid))
    assert "Subject: Volunteers" in out and "Communications" in out
    code, out, _ = run("consultation", "send", str(cid), "--json")
    assert json.loads(out) == {"id": cid, "recipients": 2}
    code, _, err = run("consultation", "send", str(cid))
    assert code == 1 and "already been sent" in err

    config = load_config(path=cli_env, environ={})
    with database.sessions() as s:
        record_answer(
            s,
            build_services(config),
            claim=answer_claim(s, cid, "ana@dept.gov.uk"),
            email="ana@dept.gov.uk",
            display_name="Ana",
            text="Comms, and project delivery too.",
            thread=ReplyThread("<a@client.example>"),
        )
    code, out, _ = run("consultation", "answers", str(cid), "--json")
    [answer] = json.loads(out)
    assert (
        answer["email"] == "ana@dept.gov.uk"
        and answer["text"] == "Comms, and project delivery too."
    )
    assert run("consultation", "tag", answer["id"], "Delivery")[0] == 0
    code, out, _ = run("consultation", "answers", str(cid), "--tag", "delivery", "--json")
    assert json.loads(out)[0]["tags"] == ["delivery"]
    code, out, _ = run("consultation", "answers", str(cid), "--csv")
    assert "Comms, and project delivery too." in out and out.splitlines()[0].lstrip(
        "\ufeff"
    ).startswith("Name,Email")

    code, out, _ = run("consultation", "volunteers", str(cid), "--json")
    roles = {r["role"]: r["offers"] for r in json.loads(out)}
    assert [o["email"] for o in roles["Project delivery"]] == ["ana@dept.gov.uk"]
    assert [o["email"] for o in roles["Communications"]] == ["ana@dept.gov.uk"]
    code, out, _ = run("consultation", "accept", str(roles["Communications"][0]["offer"]), "--json")
    assert json.loads(out)["status"] == "accepted"
    code, out, _ = run("consultation", "list", "--json")
    assert json.loads(out)[0]["recipients"] == 2

    code, _, err = run(
        "consultation",
        "create",
        "--list",
        "forum",
        "--title",
        "Anon volunteers",
        "--body-file",
        str(question),
        "--role",
        "Policy",
        "--anonymous",
    )
    assert code == 1 and "cannot be anonymous" in err
    code, _, err = run("consultation", "close", "999")
    assert code == 1 and "no such consultation" in err
