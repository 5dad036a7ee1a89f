"""The panel's consultations over real HTTP: create (with errors shown), preview, send, read
answers, search, tag, count tags, export CSV, accept volunteers; and the public volunteer link (GET
changes
nothing)."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import func, select

from mailer.domain.consultations import record_answer
from mailer.domain.lists import add_member
from mailer.domain.models import (
    Consultation,
    ConsultationStatus,
    OfferStatus,
    OutboxMessage,
    VolunteerOffer,
    VolunteerRole,
)
from mailer.domain.outbox import ReplyThread
from mailer.domain.services import build_services
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, answer_claim, make_list, make_organiser
from tests.support.http import HttpClient
from tests.support.servers import RunningService

XSS = '<script>alert("x")</script>'


def logged_in(client: HttpClient, database: TestDatabase) -> None:
    make_list(database.sessions)
    make_organiser(database.sessions)
    for who in ("ana", "ben"):
        with database.sessions() as s:
            add_member(
                s, slug="forum", email=f"{who}@dept.gov.uk", display_name=who.title(), actor="test"
            )
    client.login("organiser@example.org", ORGANISER_PASSWORD)


def create(client: HttpClient, **fields: str) -> tuple[int, str]:
    form = client.get("/panel/consultations/new")
    response = client.post(
        "/panel/consultations/new",
        {
            "csrf_token": client.csrf_token(form.body),
            "list_slug": "forum",
            "kind": "question",
            **fields,
        },
    )
    match = re.search(r"/panel/consultations/(\d+)/send", response.body)
    return (int(match.group(1)) if match else 0), response.body


def answer(database: TestDatabase, config, consultation_id: int, email: str, text: str) -> None:  # type: ignore[no-untyped-def]
    with database.sessions() as s:
        record_answer(
            s,
            build_services(config),
            claim=answer_claim(s, consultation_id, email),
            email=email,
            display_name=None,
            text=text,
            thread=ReplyThread(f"<{abs(hash(text))}@client.example>", subject="Re: x"),
        )


def test_create_preview_send_search_tag_and_export(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    logged_in(client, database)
    cid, body = create(
        client,
        title=f"Conference {XSS}",
        question="What would you like to **gain**?",
        closes_at="2099-03-01",
    )
    assert cid and "Draft saved" in body
    assert "What would you like to gain?" in body and "Please reply by" in body  # the preview
    assert "<script>alert" not in body and "&lt;script&gt;" in body
    sent = client.post(f"/panel/consultations/{cid}/send", {"csrf_token": client.csrf_token(body)})
    assert "Sending to 2 members" in sent.body and re.search(
        r'id="consultation-status">Open<', sent.body
    )
    with database.sessions() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.kind == "consultation")
            )
            == 2
        )
        assert (
            s.get(Consultation, cid).closes_at.isoformat() == "2099-03-01T23:59:00+00:00"
        )  # end of day, UK

    config = web_service.config
    answer(database, config, cid, "ana@dept.gov.uk", "More networking time, please.")
    answer(database, config, cid, "ben@dept.gov.uk", f"=1+2 {XSS} and a session on allyship")
    page = client.get(f"/panel/consultations/{cid}")
    assert "More networking time" in page.body and 'id="answer-count">2 answers' in page.body
    assert "<script>alert" not in page.body

    found = client.get(f"/panel/consultations/{cid}?q=allyship")
    assert 'id="answer-count">1 answer' in found.body and "More networking" not in found.body
    answer_id = re.search(r'id="answer-([0-9a-f]{32})"', found.body).group(1)
    token = client.csrf_token(found.body)
    client.post(
        f"/panel/consultations/{cid}/answers/{answer_id}/tags",
        {"csrf_token": token, "tag": "Allyship "},
    )
    tagged = client.get(f"/panel/consultations/{cid}")
    assert "allyship (1)" in tagged.body
    only = client.get(f"/panel/consultations/{cid}?tag=allyship")
    assert 'id="answer-count">1 answer' in only.body

    export = client.get(f"/panel/consultations/{cid}/answers.csv")
    assert export.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.body.lstrip("\ufeff"))))
    assert rows[0][:2] == ["Name", "Email"] and len(rows) == 3
    ben = next(r for r in rows if r[1] == "ben@dept.gov.uk")
    assert ben[-1].startswith("'=1+2") and ben[-2] == "allyship"

    closed = client.post(f"/panel/consultations/{cid}/close", {"csrf_token": token})
    assert re.search(r'id="consultation-status">Closed<', closed.body)


def test_form_errors_are_shown_and_nothing_is_created(
    client: HttpClient, database: TestDatabase
) -> None:
    logged_in(client, database)
    _, body = create(client, title="", question="")
    assert "There is a problem" in body and "Enter a title" in body and "Write the question" in body
    _, body = create(client, title="Volunteers", question="Help?", kind="volunteers", roles="")
    assert "Name at least one role" in body
    _, body = create(
        client,
        title="Volunteers",
        question="Help?",
        kind="volunteers",
        roles="Policy",
        anonymous="y",
    )
    assert "cannot be anonymous" in body
    _, body = create(client, title="Old", question="Q?", closes_at="2001-01-01")
    assert "must be in the future" in body
    with database.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Consultation)) == 0


def test_volunteer_link_get_changes_nothing_post_records_and_organiser_accepts(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    logged_in(client, database)
    cid, body = create(
        client,
        title="Volunteers 2027",
        question="Can you help?",
        kind="volunteers",
        roles="Project delivery\nCommunications: comms, social media",
    )
    client.post(f"/panel/consultations/{cid}/send", {"csrf_token": client.csrf_token(body)})
    with database.sessions() as s:
        email = s.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "ana@dept.gov.uk"))
        comms = s.scalar(select(VolunteerRole).where(VolunteerRole.name == "Communications"))
    link = next(u for u in re.findall(r"https?://\S+/volunteer/\S+", email.body_text))
    path = link.split(web_service.config.service.base_url, 1)[1]
    member = HttpClient(web_service.config.service.base_url)
    page = member.get(path)
    assert page.status == 200 and "Volunteer: " in page.body and "ana@dept.gov.uk" not in page.body
    with database.sessions() as s:
        assert (
            s.scalar(select(func.count()).select_from(VolunteerOffer)) == 0
        )  # the GET recorded nothing
    assert member.post(path, {}).status == 400  # no CSRF token
    done = member.post(path, {"csrf_token": member.csrf_token(page.body)})
    assert done.status == 200 and "You have offered to help with" in done.body
    assert member.get(path[:-3] + "abc").status == 400  # a tampered link is refused

    with database.sessions() as s:
        offer = s.scalar(select(VolunteerOffer))
        assert (
            offer.source == "link" and offer.role_id != comms.id
        )  # the first link: Project delivery
        assert (
            s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.kind == "volunteer_thanks")
            )
            == 1
        )
    panel = client.get(f"/panel/consultations/{cid}")
    assert "ana@dept.gov.uk" in panel.body  # organisers see who offered
    accepted = client.post(
        f"/panel/consultations/{cid}/offers/{offer.id}/accept",
        {"csrf_token": client.csrf_token(panel.body)},
    )
    assert "We have emailed the volunteer" in accepted.body
    with database.sessions() as s:
        assert s.get(VolunteerOffer, offer.id).status is OfferStatus.ACCEPTED
        row = s.scalar(select(OutboxMessage).where(OutboxMessage.kind == "volunteer_accepted"))
        assert (
            row.recipient == "ana@dept.gov.uk"
            and row.subject == "You're on the team: Project delivery"
        )
        assert s.get(Consultation, cid).status is ConsultationStatus.OPEN


def test_answers_come_a_page_at_a_time_and_the_search_keeps_to_its_pages(
    client: HttpClient, web_service: RunningService, database: TestDatabase, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import web.panel.consultations

    monkeypatch.setattr(web.panel.consultations, "ANSWERS_PER_PAGE", 1)
    logged_in(client, database)
    cid, body = create(client, title="Conference", question="What would you like?")
    client.post(f"/panel/consultations/{cid}/send", {"csrf_token": client.csrf_token(body)})
    answer(database, web_service.config, cid, "ana@dept.gov.uk", "More on pronouns, please.")
    answer(database, web_service.config, cid, "ben@dept.gov.uk", "Pronouns and allyship.")
    first = client.get(f"/panel/consultations/{cid}")
    assert "Showing 1 to 1 of 2 answers" in first.body and 'rel="next"' in first.body
    second = client.get(f"/panel/consultations/{cid}?page=2")
    assert "Showing 2 to 2 of 2 answers" in second.body and 'rel="prev"' in second.body
    found = client.get(f"/panel/consultations/{cid}?q=allyship")
    assert "1 answer containing “allyship”" in found.body and "govuk-pagination" not in found.body
