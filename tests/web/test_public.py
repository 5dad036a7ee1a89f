"""Public signed-link pages: friendly errors, never a 500, nothing personal shown."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urljoin

from sqlalchemy import select

from mailer.domain.models import Meeting, Person, Rsvp
from mailer.domain.services import build_services
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting
from tests.support.http import HttpClient
from tests.support.servers import RunningService


def link_for(
    database: TestDatabase,
    service: RunningService,
    meeting_id: int,
    choice: str = "remote",
    email: str = "sam.example@example.org",
) -> str:
    services = build_services(service.config)
    with database.sessions() as s, s.begin():
        person = s.scalars(select(Person).where(Person.email == email)).one_or_none()
        if person is None:
            person = Person(email=email, display_name="Sam Example")
            s.add(person)
            s.flush()
        return services.links.rsvp_url(person, s.get(Meeting, meeting_id), choice)


def test_get_shows_the_meeting_and_nothing_of_the_person(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    """A forwarded link shows whoever opens it the meeting and the button: not the name, not the
    answer (an answer is a fact about the person), with no-store and no-referrer."""
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, title="Spring Forum")
    url = link_for(database, web_service, meeting.id)
    first = client.get(url)
    client.post(url, {"csrf_token": client.csrf_token(first.body)})
    page = HttpClient(web_service.config.service.base_url).get(url)
    assert page.status == 200 and "Spring Forum" in page.body
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    for private in (
        "Sam",
        "sam.example@example.org",
        "Example",
        "Room 1.01",
        "secret-room",
        "current answer",
        "joining remotely",
    ):
        assert private not in page.body
    with database.sessions() as s:  # the press recorded the answer; the page does not say so
        assert s.scalars(select(Rsvp)).one().mode.value == "remote"


def test_tampered_token_gets_a_friendly_400(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    url = link_for(database, web_service, meeting.id)
    token = url.split("/")[-2]
    for bad in (
        url.replace(token, token[:-3] + "xyz"),
        url.replace(token, "garbage"),
        url.replace(token, token[:10]),
        url.rsplit("/", 1)[0] + "/maybe",
    ):
        response = client.get(bad)
        assert response.status == 400, bad
        assert "This link is not valid" in response.body
        posted = client.post(bad, {"csrf_token": "whatever"})
        assert posted.status == 400
    with database.sessions() as s:
        assert s.scalars(select(Rsvp)).all() == []


def test_link_of_a_meeting_that_is_over_says_expired(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    past = make_meeting(database.sessions, starts_in=timedelta(days=-3), deadline_before=None)
    response = client.get(link_for(database, web_service, past.id))
    assert response.status == 400 and "This link has expired" in response.body


def test_post_without_csrf_changes_nothing(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    url = link_for(database, web_service, meeting.id)
    client.get(url)
    assert client.post(url, {}).status == 400
    with database.sessions() as s:
        assert s.scalars(select(Rsvp)).all() == []


def test_the_other_answers_are_linked_relatively_to_the_same_link(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    """The page's links to the other two answers resolve, from its own address, to the same signed
    link with the other choice (as a browser resolves them)."""
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    remote = link_for(database, web_service, meeting.id)
    assert remote.endswith("/remote")
    page = client.get(remote)
    others = re.findall(r'<a href="([^"]+)">', page.body.split("Not what you meant?", 1)[1])
    assert [urljoin(remote, href) for href in others] == [
        remote.removesuffix("remote") + choice for choice in ("in-person", "decline")
    ]
    assert all(client.get(urljoin(remote, href)).status == 200 for href in others)


def test_signed_link_pages_set_no_cookie_and_their_form_token_is_bound_to_the_link(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    """Opening a link from an email leaves nothing in the browser; a page's token works for its
    own link only."""
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    mine = link_for(database, web_service, meeting.id)
    theirs = link_for(database, web_service, meeting.id, email="alex@example.org")
    page = client.get(mine)
    assert page.status == 200 and "Set-Cookie" not in page.headers
    token = client.csrf_token(page.body)
    refused = client.post(theirs, {"csrf_token": token})
    assert refused.status == 400 and "Your form expired" in refused.body
    with database.sessions() as s:
        assert s.scalars(select(Rsvp)).all() == []
    done = client.post(mine, {"csrf_token": token})
    assert done.status == 200 and "Set-Cookie" not in done.headers
    assert len(client.cookies) == 0
    with database.sessions() as s:
        assert [r.person_id for r in s.scalars(select(Rsvp))] == [
            s.scalars(select(Person.id).where(Person.email == "sam.example@example.org")).one()
        ]


def test_after_deadline_the_page_explains_and_post_is_refused(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(
        database.sessions, starts_in=timedelta(days=1), deadline_before=timedelta(days=2)
    )
    url = link_for(database, web_service, meeting.id)
    page = client.get(url)
    assert page.status == 200 and "RSVP deadline" in page.body and 'id="confirm"' not in page.body
    # A page opened before the deadline still holds a good form token: the POST itself is refused.
    opened_earlier = build_services(web_service.config).links.form_token(url.split("/")[-2])
    refused = client.post(url, {"csrf_token": opened_earlier})
    assert refused.status == 409 and "RSVP deadline" in refused.body
    with database.sessions() as s:
        assert s.scalars(select(Rsvp)).all() == []


def test_privacy_page_and_security_headers(client: HttpClient) -> None:
    page = client.get("/privacy")
    assert page.status == 200 and "sexual orientation" in page.body
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]


def test_https_sites_tell_browsers_to_use_nothing_else(web_config, database) -> None:  # type: ignore[no-untyped-def]
    from web import create_app

    plain = create_app(web_config, session_factory=database.sessions).test_client()
    assert "Strict-Transport-Security" not in plain.get("/privacy").headers
    https = web_config.replace(service={"base_url": "https://forum.example.org"})
    secure = create_app(https, session_factory=database.sessions).test_client()
    assert secure.get("/privacy").headers["Strict-Transport-Security"] == "max-age=31536000"
    off = https.replace(web={"hsts_seconds": 0})
    assert "Strict-Transport-Security" not in (
        create_app(off, session_factory=database.sessions).test_client().get("/privacy").headers
    )


def test_unknown_page_is_a_404_page(client: HttpClient) -> None:
    response = client.get("/no/such/page")
    assert response.status == 404 and "Page not found" in response.body


def test_join_confirmation_page_get_changes_nothing_post_confirms(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    from mailer.domain.models import Subscription, SubscriptionStatus

    mailing_list = make_list(database.sessions)
    services = build_services(web_service.config)
    with database.sessions() as s, s.begin():
        person = Person(email="alex@example.org")
        s.add(person)
        s.flush()
        s.add(
            Subscription(
                person_id=person.id, list_id=mailing_list.id, status=SubscriptionStatus.PENDING
            )
        )
        url = services.links.confirm_url(
            services.links.confirm_token(person.id, mailing_list.id, 1)
        )
    page = client.get(url)
    assert (
        page.status == 200 and 'id="confirm"' in page.body and "alex@example.org" not in page.body
    )
    with database.sessions() as s:
        assert s.scalars(select(Subscription)).one().status is SubscriptionStatus.PENDING
    done = client.post(url, {"csrf_token": client.csrf_token(page.body)})
    assert "You are on Leaders of Networks Forum" in done.body
    with database.sessions() as s:
        assert s.scalars(select(Subscription)).one().status is SubscriptionStatus.ACTIVE
    assert client.get(url[:-5] + "xxxxx").status == 400


def test_public_meeting_page_and_links_by_email(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    from mailer.domain.lists import add_member
    from mailer.domain.models import OutboxMessage, Person

    make_list(database.sessions)
    meeting = make_meeting(database.sessions, title="Spring Forum", capacity=40)
    with database.sessions() as s:
        add_member(s, slug="forum", email="robin@example.org", actor="test")
    page = client.get(f"/meetings/{meeting.id}")
    assert (
        page.status == 200
        and "Spring Forum" in page.body
        and "40 in-person places left" in page.body
    )
    assert "Room 1.01" not in page.body and "secret-room" not in page.body
    bad = client.post(
        f"/meetings/{meeting.id}",
        {"csrf_token": client.csrf_token(page.body), "email": "not-an-email"},
    )
    assert bad.status == 400 and "There is a problem" in bad.body
    sent = client.post(
        f"/meetings/{meeting.id}",
        {"csrf_token": client.csrf_token(page.body), "email": "Robin@Example.org"},
    )
    assert sent.status == 200 and 'id="sent"' in sent.body
    with database.sessions() as s:
        [row] = s.scalars(select(OutboxMessage)).all()
    assert (
        row.kind == "your_links"
        and row.recipient == "robin@example.org"
        and "/rsvp/" in row.body_text
    )
    # An address that is on no list: the page says the same, and nothing is sent or stored.
    unknown = client.post(
        f"/meetings/{meeting.id}",
        {"csrf_token": client.csrf_token(page.body), "email": "stranger@example.org"},
    )
    assert unknown.status == 200 and 'id="sent"' in unknown.body
    with database.sessions() as s:
        assert len(s.scalars(select(OutboxMessage)).all()) == 1
        assert [p.email for p in s.scalars(select(Person))] == ["robin@example.org"]
    assert client.get("/meetings/999").status == 404


def test_access_needs_go_to_organisers_and_never_back_onto_the_page(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    url = link_for(database, web_service, meeting.id, choice="in-person")
    page = client.get(url)
    assert "accessible for you" in page.body
    assert "accessible for you" not in client.get(url.replace("/in-person", "/decline")).body
    too_long = client.post(
        url, {"csrf_token": client.csrf_token(page.body), "access_needs": "x" * 1001}
    )
    assert too_long.status == 400 and "1,000 characters" in too_long.body
    with database.sessions() as s:
        assert s.scalars(select(Rsvp)).all() == []  # nothing recorded
    done = client.post(
        url,
        {"csrf_token": client.csrf_token(page.body), "access_needs": "A BSL interpreter, please"},
    )
    assert done.status == 200
    with database.sessions() as s:
        assert s.scalar(select(Rsvp.access_needs)) == "A BSL interpreter, please"
    again = client.get(url)  # says neither what was said nor whether anything was
    assert "BSL interpreter" not in again.body and 'id="access-needs-held"' not in again.body
    tokens = re.compile(r'value="[^"]*"')
    assert tokens.sub("", again.body) == tokens.sub("", page.body)  # the same page as before
    # The same answer pressed again with a new need: the need is taken, and the page says so.
    noted = client.post(
        url, {"csrf_token": client.csrf_token(again.body), "access_needs": "Step-free access"}
    )
    assert "What you need is noted" in noted.body and "Nothing has changed" not in noted.body
    with database.sessions() as s:
        assert s.scalar(select(Rsvp.access_needs)) == "Step-free access"


def test_the_done_page_says_what_the_press_did_and_only_to_that_request(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, capacity=1)
    first = link_for(database, web_service, meeting.id, "in-person", "first@example.org")
    second = link_for(database, web_service, meeting.id, "in-person", "second@example.org")
    taken = client.post(first, {"csrf_token": client.csrf_token(client.get(first).body)})
    assert taken.status == 200 and "You are attending in person." in taken.body
    assert "We have emailed you a confirmation" in taken.body
    waiting = client.post(second, {"csrf_token": client.csrf_token(client.get(second).body)})
    assert "You are on the waiting list for an in-person place: number 1 in line." in waiting.body
    assert "attending in person" not in waiting.body
    again = client.post(second, {"csrf_token": client.csrf_token(client.get(second).body)})
    assert "Nothing changed" in again.body and "no email was sent" in again.body
    # A press that changed nothing says nothing of the answer held (the link may be forwarded).
    assert "waiting list" not in again.body and "number 1 in line" not in again.body
    # The old address of a done page says nothing: it is the link's own page.
    later = HttpClient(web_service.config.service.base_url).get(second + "/done")
    assert later.status == 200 and "You are on the waiting list" not in later.body
    assert "number 1 in line" not in later.body
    # The places are all taken, which the public page says too: every in-person link warns
    # alike, the holder of the place and the one waiting.
    assert 'id="places-full"' in later.body
    holder = HttpClient(web_service.config.service.base_url).get(first)
    tokens = re.compile(r'value="[^"]*"')
    assert tokens.sub("", holder.body) == tokens.sub("", later.body)
    assert "Thank you" not in later.body and "Answer recorded" not in later.body


def test_the_public_page_shows_the_public_summary_and_location_never_the_agenda(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    from mailer.domain.schedules import send_agenda_now, set_agenda

    make_list(database.sessions)
    meeting = make_meeting(
        database.sessions,
        title="Spring Forum",
        location="Manchester and online",
        description="Network leaders share what worked this quarter.",
    )
    with database.sessions() as s:
        set_agenda(s, meeting.id, agenda="1. Budget bids for Pride", actor="test")
        send_agenda_now(s, build_services(web_service.config), meeting.id, actor="test")
    page = client.get(f"/meetings/{meeting.id}")
    assert page.status == 200
    assert "Manchester and online." in page.body and "London" not in page.body
    assert "Network leaders share what worked this quarter." in page.body
    assert "Budget bids" not in page.body and "Agenda" not in page.body


def test_a_meeting_without_a_location_is_described_by_its_format_alone(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    hybrid = make_meeting(database.sessions)
    online = make_meeting(database.sessions, format="remote", title="Online catch-up")
    assert "In person or online." in client.get(f"/meetings/{hybrid.id}").body
    body = client.get(f"/meetings/{online.id}").body
    assert "Online." in body and "In person" not in body


def test_the_page_of_a_meeting_that_is_over_says_so_and_offers_nothing(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    make_list(database.sessions)
    past = make_meeting(database.sessions, starts_in=timedelta(days=-3), deadline_before=None)
    page = client.get(f"/meetings/{past.id}")
    assert page.status == 200 and "This meeting has finished." in page.body
    assert "Email me my links" not in page.body and "places left" not in page.body


def test_a_cancelled_meetings_pages_offer_nothing(
    client: HttpClient, web_service: RunningService, database: TestDatabase
) -> None:
    from mailer.domain.schedules import cancel_meeting

    make_list(database.sessions)
    meeting = make_meeting(database.sessions, capacity=1)
    url = link_for(database, web_service, meeting.id, "in-person")
    with database.sessions() as s:
        cancel_meeting(s, build_services(web_service.config), meeting.id, actor="test")
    page = client.get(f"/meetings/{meeting.id}")
    assert "This meeting has been cancelled." in page.body
    assert "place" not in page.body.split("This meeting has been cancelled.")[0].split("<h1")[1]
    assert "Email me my links" not in page.body
    link_page = client.get(url)
    assert "cancelled" in link_page.body and "Only the button" not in link_page.body
