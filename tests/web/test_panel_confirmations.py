"""Every send and destructive action in the panel asks first, naming how many and what each person
gets; only the confirming POST does it."""

from __future__ import annotations

from sqlalchemy import func, select

from mailer.domain.consultations import create_consultation
from mailer.domain.lists import add_member
from mailer.domain.models import (
    AttendanceMode,
    OutboxMessage,
    RsvpResponse,
    Subscription,
    SubscriptionStatus,
)
from mailer.domain.news import create_news
from mailer.domain.rsvp import record_rsvp
from mailer.domain.services import build_services
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_list, make_meeting, make_organiser
from tests.support.http import HttpClient
from tests.support.servers import RunningService


def outbox_count(database: TestDatabase) -> int:
    with database.sessions() as s:
        return s.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def members(database: TestDatabase, *who: str) -> None:
    for name in who:
        with database.sessions() as s:
            add_member(s, slug="forum", email=f"{name}@example.org", actor="test")


def confirm(client: HttpClient, page_url: str) -> tuple[str, str]:
    """Open a confirmation page; returns its body and the body after pressing its button."""
    page = client.get(page_url)
    assert page.status == 200 and 'id="confirm"' in page.body
    form = page.body.split('id="confirm-question"', 1)[1]  # after the header's own forms
    action = form.split('<form method="post" action="', 1)[1].split('"', 1)[0]
    fields = {"csrf_token": client.csrf_token(page.body)}
    for name in ("email",):
        marker = f'type="hidden" name="{name}" value="'
        if marker in page.body:
            fields[name] = page.body.split(marker, 1)[1].split('"', 1)[0]
    return page.body, client.post(action, fields).body


def test_invitations_and_the_agenda_go_only_after_the_count_is_confirmed(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    make_organiser(database.sessions)
    members(database, "ana", "ben", "cy")
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    asked = client.get(f"/panel/meetings/{meeting.id}/invite").body
    assert "Send the invitation to 3 members?" in asked and "Yes, send 3 invitations" in asked
    assert outbox_count(database) == 0  # asking sends nothing
    _, done = confirm(client, f"/panel/meetings/{meeting.id}/invite")
    assert "Invitations are on their way to 3 members." in done and outbox_count(database) == 3
    again = client.get(f"/panel/meetings/{meeting.id}/invite")
    assert "Send the invitation again to 3 members who have not answered?" in again.body

    services = build_services(web_service.config)
    with database.sessions() as s:
        for name, mode in (("ana", AttendanceMode.IN_PERSON), ("ben", AttendanceMode.REMOTE)):
            record_rsvp(
                s,
                services,
                meeting_id=meeting.id,
                email=f"{name}@example.org",
                response=RsvpResponse.ATTENDING,
                mode=mode,
                source="panel",
            )
    one_left = client.get(f"/panel/meetings/{meeting.id}/invite").body
    assert "Send the invitation again to 1 member who has not answered?" in one_left
    before = outbox_count(database)
    page = client.get(f"/panel/meetings/{meeting.id}/agenda/send").body
    assert "Send the agenda to 2 delegates now?" in page and outbox_count(database) == before
    assert "1 in-person delegate: the agenda and the venue." in page
    assert "1 remote delegate: the agenda and the joining details." in page
    _, done = confirm(client, f"/panel/meetings/{meeting.id}/agenda/send")
    assert "on its way to 2 delegates" in done and outbox_count(database) == before + 2
    with database.sessions() as s:
        record_rsvp(
            s,
            services,
            meeting_id=meeting.id,
            email="cy@example.org",
            response=RsvpResponse.DECLINED,
            mode=None,
            source="panel",
        )
    nobody = client.get(f"/panel/meetings/{meeting.id}/invite")
    assert "There is no one to invite" in nobody.body and 'id="confirm"' not in nobody.body


def test_news_and_consultations_name_their_count_before_going(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    make_organiser(database.sessions)
    members(database, "ana", "ben")
    with database.sessions() as s:
        news = create_news(
            s, list_slug="forum", subject="Spring update", body_markdown="News.", actor="t"
        )
    with database.sessions() as s:
        consultation = create_consultation(
            s, list_slug="forum", title="Views", question_markdown="What now?", actor="t"
        )
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    assert 'href="/panel/news/' in client.get(f"/panel/news/{news.id}").body
    page, done = confirm(client, f"/panel/news/{news.id}/send")
    assert "Send “Spring update” to 2 people now?" in page
    assert "It goes to everyone on Leaders of Networks Forum" in page
    assert "Sending to 2 people." in done
    page, done = confirm(client, f"/panel/consultations/{consultation.id}/send")
    assert "Send “Views” to 2 members now?" in page and "You will see who wrote" in page
    assert "Sending to 2 members" in done
    page, done = confirm(client, f"/panel/consultations/{consultation.id}/close")
    assert "govuk-button--warning" in page and "Closed." in done


def test_removing_a_member_is_confirmed_with_a_warning_button(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    make_organiser(database.sessions)
    members(database, "ana")
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    listing = client.get("/panel/lists/forum")
    assert "/panel/lists/forum/remove?email=ana@example.org" in listing.body
    page = client.get("/panel/lists/forum/remove?email=ana@example.org")
    assert "Remove ana@example.org from Leaders of Networks Forum?" in page.body
    assert "govuk-button--warning" in page.body
    with database.sessions() as s:  # nothing happens on the way to the question
        assert s.scalar(select(Subscription.status)) is SubscriptionStatus.ACTIVE
    _, done = confirm(client, "/panel/lists/forum/remove?email=ana@example.org")
    assert "Removed ana@example.org" in done
    with database.sessions() as s:
        assert s.scalar(select(Subscription.status)) is SubscriptionStatus.REMOVED
