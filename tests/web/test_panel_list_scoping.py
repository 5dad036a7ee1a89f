"""A plain organiser sees only the lists they run: every panel route, walked with the ids of
another list's meeting, news, consultation, answer, offer, import, inbound message and sent mail,
is refused (403); the pages that list things show only their own lists'; and the admins' pages
are refused. Membership of a list reveals orientation or gender identity, so this is the line
between one network's members and another's."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from mailer.domain.consultations import (
    RoleSpec,
    create_consultation,
    record_answer,
    send_consultation,
)
from mailer.domain.imports import ImportRow, start_import
from mailer.domain.invitations import send_invitations
from mailer.domain.lists import add_member
from mailer.domain.models import (
    AttendanceMode,
    ConsultationAnswer,
    ConsultationKind,
    ImportJob,
    Organiser,
    OrganiserRole,
    Person,
    RsvpResponse,
    VolunteerOffer,
)
from mailer.domain.news import create_news
from mailer.domain.outbox import ReplyThread
from mailer.domain.queue import store_inbound
from mailer.domain.rsvp import record_rsvp
from mailer.domain.services import build_services
from tests.support.databases import TestDatabase
from tests.support.delivery import deliver_once
from tests.support.factories import (
    ORGANISER_PASSWORD,
    answer_claim,
    make_list,
    make_meeting,
    make_organiser,
)
from tests.support.http import HttpClient
from tests.support.servers import RunningService
from web import create_app
from web.auth import ADMINS_ONLY

THEIR_MEMBER = "hidden.member@other.example"


def other_lists_things(database: TestDatabase, web_service: RunningService) -> dict[str, object]:
    """Everything a panel address can name, all of the list Sam does not run."""
    config = web_service.config
    services = build_services(config)
    make_list(database.sessions, slug="other", name="Other Network")
    meeting = make_meeting(database.sessions, list_slug="other", title="Hidden Forum", capacity=1)
    with database.sessions() as s:
        add_member(s, slug="other", email=THEIR_MEMBER, display_name="Hidden", actor="test")
    for email in (THEIR_MEMBER, "waiting@other.example"):
        with database.sessions() as s:
            record_rsvp(
                s,
                services,
                meeting_id=meeting.id,
                email=email,
                response=RsvpResponse.ATTENDING,
                mode=AttendanceMode.IN_PERSON,
                source="panel",
            )
    with database.sessions() as s:
        news = create_news(
            s, list_slug="other", subject="Hidden news", body_markdown="Hidden.", actor="test"
        )
    with database.sessions() as s:
        consultation = create_consultation(
            s,
            list_slug="other",
            title="Hidden volunteers",
            question_markdown="Can you help?",
            kind=ConsultationKind.VOLUNTEERS,
            roles=[RoleSpec("Communications")],
            actor="test",
        )
    with database.sessions() as s:
        send_consultation(s, services, consultation.id, actor="test")
    with database.sessions() as s:
        record_answer(
            s,
            services,
            claim=answer_claim(s, consultation.id, THEIR_MEMBER),
            email=THEIR_MEMBER,
            display_name="Hidden",
            text="Communications, gladly.",
            thread=ReplyThread("<hidden@other.example>"),
        )
    with database.sessions() as s:
        start_import(s, slug="other", rows=[ImportRow(2, "new@other.example", "")], actor="t")
    with database.sessions() as s:
        inbound_id = store_inbound(
            s,
            mail_from=THEIR_MEMBER,
            rcpt_to=["other@lists.test"],
            raw=b"From: " + THEIR_MEMBER.encode() + b"\r\nSubject: Hidden\r\n\r\nHello.\r\n",
        )
        stray_id = store_inbound(
            s,
            mail_from="someone@example.org",
            rcpt_to=["nobody@lists.test"],
            raw=b"From: someone@example.org\r\nSubject: Stray\r\n\r\nHello.\r\n",
        )
    with database.sessions() as s:
        send_invitations(s, services, meeting.id, actor="test")
    deliver_once(database, config)
    with database.sessions() as s:
        waiting = s.scalars(select(Person.id).where(Person.email == "waiting@other.example")).one()
        answer = s.scalars(select(ConsultationAnswer.id)).first()
        offer = s.scalars(select(VolunteerOffer.id)).first()
        job = s.scalars(select(ImportJob.id)).one()
        admin = s.scalars(select(Organiser.id).where(Organiser.role == OrganiserRole.ADMIN)).one()
    return {
        "meeting_id": meeting.id,
        "slug": "other",
        "news_id": news.id,
        "consultation_id": consultation.id,
        "answer_id": answer or "no-answer",
        "offer_id": offer or 999_999,
        "job_id": job,
        "inbound_id": inbound_id,
        "stray_id": stray_id,
        "person_id": waiting,
        "which": "invitation",
        "organiser_id": admin,
    }


def test_every_panel_route_refuses_another_lists_things(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    make_organiser(database.sessions)  # the admin
    make_organiser(
        database.sessions, email="sam@example.org", role=OrganiserRole.ORGANISER, lists=("forum",)
    )
    things = other_lists_things(database, web_service)
    admin = HttpClient(web_service.config.service.base_url)
    admin.login("organiser@example.org", ORGANISER_PASSWORD)
    mailbox = admin.get("/panel/mailbox").body
    things["key"] = re.search(r'/panel/mailbox/([^"/]+)"', mailbox).group(1)

    page = client.login("sam@example.org", ORGANISER_PASSWORD)
    token = client.csrf_token(page.body)
    walked: list[str] = []
    rules = [
        rule
        for rule in create_app(web_service.config).url_map.iter_rules()
        if rule.endpoint.startswith("panel.")
    ]
    for rule in rules:
        admins_only = rule.endpoint in ADMINS_ONLY or rule.endpoint.startswith("panel.organiser")
        if not rule.arguments and not admins_only:
            continue  # the pages of one's own lists: checked below
        # A list's address is found in any case, so it is tried in capitals too.
        for spelling in ("other", "OTHER") if "slug" in rule.arguments else ("other",):
            path = rule.rule
            for name in rule.arguments:
                value = spelling if name == "slug" else things[name]
                path = re.sub(rf"<(?:\w+:)?{name}>", str(value), path)
            for method in sorted((rule.methods or set()) & {"GET", "POST"}):
                response = (
                    client.get(path)
                    if method == "GET"
                    else client.post(path, {"csrf_token": token})
                )
                assert response.status == 403, f"{method} {path} gave {response.status}"
                assert THEIR_MEMBER not in response.body and "Hidden" not in response.body
                walked.append(f"{method} {path}")
    assert len(walked) > 60  # every route with an id, not a handful
    # The JSON API's attendee list keeps to the same lists.
    api = client.get(f"/api/meetings/{things['meeting_id']}/attendees")
    assert api.status == 403 and THEIR_MEMBER not in api.body
    assert client.get("/panel/lists/no-such-list").status == 404
    # The stray message (to no list) is an admin's to see.
    assert client.get(f"/panel/inbound/{things['stray_id']}").status == 403
    # ?meeting= on the news form and ?copy= on the new meeting form name a meeting too.
    assert client.get(f"/panel/news/new?meeting={things['meeting_id']}").status == 403
    assert client.get(f"/panel/meetings/new?copy={things['meeting_id']}").status == 403


def test_the_pages_that_list_things_show_only_the_organisers_own_lists(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    visible = make_meeting(database.sessions, title="Visible Forum", starts_in=timedelta(days=20))
    make_organiser(database.sessions)
    make_organiser(
        database.sessions, email="sam@example.org", role=OrganiserRole.ORGANISER, lists=("forum",)
    )
    with database.sessions() as s:  # a confirmation from Sam's own list, with no List-Id
        record_rsvp(
            s,
            build_services(web_service.config),
            meeting_id=visible.id,
            email="own.member@example.org",
            response=RsvpResponse.ATTENDING,
            mode=AttendanceMode.REMOTE,
            source="panel",
        )
    other_lists_things(database, web_service)
    client.login("sam@example.org", ORGANISER_PASSWORD)
    assert "own.member@example.org" in client.get("/panel/mailbox").body
    for path in (
        "/panel/",
        "/panel/news",
        "/panel/consultations",
        "/panel/inbound",
        "/panel/mailbox",
        "/panel/meetings/new",
        "/panel/news/new",
        "/panel/consultations/new",
        "/panel/account",
    ):
        page = client.get(path)
        assert page.status == 200, path
        for hidden in ("Other Network", "Hidden", THEIR_MEMBER, "Stray"):
            assert hidden not in page.body, f"{hidden} shown on {path}"
    assert "Visible Forum" in client.get("/panel/").body
    # A form sent with another list's name creates nothing there.
    form = client.get("/panel/news/new")
    sent = client.post(
        "/panel/news/new",
        {
            "csrf_token": client.csrf_token(form.body),
            "list_slug": "other",
            "subject": "Sneaky",
            "body": "Hello",
        },
    )
    assert sent.status == 400
    admin = HttpClient(web_service.config.service.base_url)
    admin.login("organiser@example.org", ORGANISER_PASSWORD)
    assert "Sneaky" not in admin.get("/panel/news").body


def test_sharing_a_member_with_another_list_changes_nothing_of_theirs_there(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    """Someone on both lists: Sam, who runs one, can neither rename them (their name is one for
    all their lists) nor, by taking them off Sam's list, end the links the other list sent."""
    make_list(database.sessions)
    make_organiser(database.sessions)
    make_organiser(
        database.sessions, email="sam@example.org", role=OrganiserRole.ORGANISER, lists=("forum",)
    )
    things = other_lists_things(database, web_service)
    with database.sessions() as s:
        add_member(s, slug="forum", email=THEIR_MEMBER, actor="test")
        person = s.scalars(select(Person).where(Person.email == THEIR_MEMBER)).one()
        version = person.link_version
    page = client.login("sam@example.org", ORGANISER_PASSWORD)
    token = client.csrf_token(page.body)
    renamed = client.post(
        f"/panel/lists/forum/name?email={THEIR_MEMBER}", {"csrf_token": token, "name": "X"}
    )
    assert renamed.status == 403
    client.post("/panel/lists/forum/remove", {"csrf_token": token, "email": THEIR_MEMBER})
    with database.sessions() as s:
        person = s.scalars(select(Person).where(Person.email == THEIR_MEMBER)).one()
        assert person.display_name == "Hidden" and person.link_version == version
    assert things["meeting_id"]  # the other list's links (same version) still work
    with database.sessions() as s:
        add_member(s, slug="forum", email=THEIR_MEMBER, actor="test")  # back on Sam's list
    page = client.get("/panel/lists/forum").body
    csv = client.get("/panel/lists/forum/members.csv").body
    assert THEIR_MEMBER in page and "Hidden" not in page  # the other list's name for them
    assert THEIR_MEMBER in csv and "Hidden" not in csv
