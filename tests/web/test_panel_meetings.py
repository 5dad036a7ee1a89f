"""The panel's meeting page: counts including the waitlist, and sending invitations."""

from __future__ import annotations

import re

from sqlalchemy import select

from mailer.domain.lists import add_member
from mailer.domain.models import OutboxMessage
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_list, make_meeting, make_organiser
from tests.support.http import HttpClient


def test_send_invitations_from_the_meeting_page(client: HttpClient, database: TestDatabase) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, capacity=10)
    make_organiser(database.sessions)
    for who in ("ana", "ben", "cy"):
        with database.sessions() as s:
            add_member(s, slug="forum", email=f"{who}@example.org", actor="test")
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    page = client.get(f"/panel/meetings/{meeting.id}")
    assert 'id="send-invitations"' in page.body and re.search(r'id="count-waitlist">0<', page.body)
    assert client.post(f"/panel/meetings/{meeting.id}/invite", {}).status == 400  # no CSRF token
    done = client.post(
        f"/panel/meetings/{meeting.id}/invite", {"csrf_token": client.csrf_token(page.body)}
    )
    assert "Invitations are on their way to 3 members" in done.body
    assert "Invite members who have not replied" in done.body
    with database.sessions() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "invitation")).all()
    assert sorted(r.recipient for r in rows) == [
        "ana@example.org",
        "ben@example.org",
        "cy@example.org",
    ]
    assert all(r.body_calendar and "METHOD:REQUEST" in r.body_calendar for r in rows)


def test_attendee_csv_download(client: HttpClient, database: TestDatabase, web_service) -> None:  # type: ignore[no-untyped-def]
    from mailer.domain.models import AttendanceMode, RsvpResponse
    from mailer.domain.rsvp import record_rsvp
    from mailer.domain.services import build_services

    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    make_organiser(database.sessions)
    with database.sessions() as s:
        record_rsvp(
            s,
            build_services(web_service.config),
            meeting_id=meeting.id,
            email="alex@dwp.gov.uk",
            response=RsvpResponse.ATTENDING,
            mode=AttendanceMode.IN_PERSON,
            source="panel",
        )
    anonymous = HttpClient(client.base_url, follow_redirects=False)
    assert anonymous.get(f"/panel/meetings/{meeting.id}/attendees.csv").status == 302
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    response = client.get(f"/panel/meetings/{meeting.id}/attendees.csv")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    assert "alex@dwp.gov.uk" in response.body and "in person" in response.body


def test_attach_a_file_from_the_meeting_page(web_service, database: TestDatabase) -> None:  # type: ignore[no-untyped-def]
    import urllib.request
    import uuid

    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    make_organiser(database.sessions)
    client = HttpClient(web_service.config.service.base_url)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    page = client.get(f"/panel/meetings/{meeting.id}")
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{client.csrf_token(page.body)}\r\n--{boundary}\r\nContent-Disposition: form-data; "
        f'name="file"; '
        f'filename="ToR.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 test\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    request = urllib.request.Request(
        f"{client.base_url}/panel/meetings/{meeting.id}/attachments",
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with client.opener.open(request, timeout=10) as response:
        shown = response.read().decode()
    assert "Attached ToR.pdf" in shown and 'id="files"' in shown


def test_agenda_set_previewed_and_sent_now_exactly_once(
    client: HttpClient, database: TestDatabase, web_service
) -> None:  # type: ignore[no-untyped-def]
    from mailer.domain.models import AttendanceMode, RsvpResponse
    from mailer.domain.rsvp import record_rsvp
    from mailer.domain.services import build_services

    make_list(database.sessions)
    meeting = make_meeting(database.sessions, title="Winter Forum")
    make_organiser(database.sessions)
    services = build_services(web_service.config)
    for who, mode in (("ana", AttendanceMode.IN_PERSON), ("ben", AttendanceMode.REMOTE)):
        with database.sessions() as s:
            record_rsvp(
                s,
                services,
                meeting_id=meeting.id,
                email=f"{who}@example.org",
                response=RsvpResponse.ATTENDING,
                mode=mode,
                source="panel",
            )
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    page = client.get(f"/panel/meetings/{meeting.id}")
    assert "7 days before the meeting" in page.body
    token = client.csrf_token(page.body)
    bad = client.post(
        f"/panel/meetings/{meeting.id}/agenda",
        {"csrf_token": token, "agenda": "x", "days_before": "99"},
    )
    assert "Not saved" in bad.body
    saved = client.post(
        f"/panel/meetings/{meeting.id}/agenda",
        {"csrf_token": token, "agenda": "1. Welcome\n2. **Allyship** at work", "days_before": "5"},
    )
    assert "Agenda saved" in saved.body and "5 days before" in saved.body

    # Every email of the meeting can be previewed as a member gets it; venue only in person, dial-in
    # only remote.
    in_person = client.get(f"/panel/meetings/{meeting.id}/emails/agenda-in-person")
    assert (
        in_person.status == 200 and "Allyship" in in_person.body and "Room 1.01" in in_person.body
    )
    assert "secret-room" not in in_person.body
    remote = client.get(f"/panel/meetings/{meeting.id}/emails/agenda-remote")
    assert "secret-room" in remote.body and "Room 1.01" not in remote.body
    html = client.get(f"/panel/meetings/{meeting.id}/emails/agenda-in-person/html")
    assert (
        "<strong>Allyship</strong>" in html.body
        and "script-src" not in html.headers["Content-Security-Policy"]
    )
    for which in ("invitation", "reminder"):
        assert client.get(f"/panel/meetings/{meeting.id}/emails/{which}").status == 200
    assert client.get(f"/panel/meetings/{meeting.id}/emails/nonsense").status == 404
    with database.sessions() as s:
        assert (
            s.scalars(select(OutboxMessage).where(OutboxMessage.kind != "rsvp_confirmation")).all()
            == []
        )  # previews send nothing

    sent = client.post(f"/panel/meetings/{meeting.id}/agenda/send", {"csrf_token": token})
    assert "on its way to 2 delegates" in sent.body and 'id="send-agenda"' not in sent.body
    again = client.post(f"/panel/meetings/{meeting.id}/agenda/send", {"csrf_token": token})
    assert "already been sent" in again.body  # a second press sends nobody a second copy
    with database.sessions() as s:
        details = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "meeting_details")
        ).all()
    assert sorted(m.recipient for m in details) == ["ana@example.org", "ben@example.org"]
    ana = next(m for m in details if m.recipient == "ana@example.org")
    assert "Room 1.01" in ana.body_text and "secret-room" not in ana.body_text
    # Changed after it went: saved, the organiser told who has the old one, and asked before
    # it goes again.
    changed = client.post(
        f"/panel/meetings/{meeting.id}/agenda",
        {"csrf_token": token, "agenda": "1. Welcome\n2. Allyship\n3. AOB", "days_before": "5"},
    )
    assert "not sent this one unless you choose" in changed.body
    assert 'id="send-agenda-again"' in changed.body
    asked = client.get(f"/panel/meetings/{meeting.id}/agenda/send")
    assert "Send the agenda again to 2 delegates?" in asked.body
    resent = client.post(
        f"/panel/meetings/{meeting.id}/agenda/send", {"csrf_token": token, "again": "yes"}
    )
    assert "on its way to 2 delegates" in resent.body
    with database.sessions() as s:
        newest = s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "meeting_details")
            .order_by(OutboxMessage.id.desc())
        ).first()
    assert "3. AOB" in newest.body_text


def test_a_draft_is_published_from_the_meeting_page(
    client: HttpClient, database: TestDatabase
) -> None:
    from mailer.domain.models import Meeting, MeetingStatus

    make_list(database.sessions)
    meeting = make_meeting(database.sessions, status="draft")
    make_organiser(database.sessions)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    page = client.get(f"/panel/meetings/{meeting.id}")
    assert 'id="draft-status"' in page.body and 'id="send-invitations"' not in page.body
    done = client.post(
        f"/panel/meetings/{meeting.id}/publish",
        {"csrf_token": client.csrf_token(page.body), "published": "yes"},
    )
    assert "Published: it takes answers" in done.body and 'id="send-invitations"' in done.body
    with database.sessions() as s:
        assert s.get_one(Meeting, meeting.id).status is MeetingStatus.PUBLISHED
    back = client.post(
        f"/panel/meetings/{meeting.id}/publish",
        {"csrf_token": client.csrf_token(done.body), "published": "no"},
    )
    assert "Back to draft" in back.body
    with database.sessions() as s:
        assert s.get_one(Meeting, meeting.id).status is MeetingStatus.DRAFT


def test_details_sent_without_an_agenda_are_not_called_the_agenda(
    client: HttpClient, database: TestDatabase
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions)
    make_organiser(database.sessions)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    page = client.get(f"/panel/meetings/{meeting.id}")
    sent = client.post(
        f"/panel/meetings/{meeting.id}/agenda/send", {"csrf_token": client.csrf_token(page.body)}
    )
    assert "The agenda went" not in sent.body
    assert "with no agenda (none was written)" in sent.body


def test_replies_are_searched_filtered_and_paged_on_the_meeting_page(
    client: HttpClient, database: TestDatabase, web_service
) -> None:  # type: ignore[no-untyped-def]
    from mailer.domain.models import AttendanceMode, RsvpResponse
    from mailer.domain.rsvp import record_rsvp
    from mailer.domain.services import build_services

    services = build_services(web_service.config)
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, capacity=None)
    make_organiser(database.sessions)
    for n in range(55):
        with database.sessions() as s:
            record_rsvp(
                s,
                services,
                meeting_id=meeting.id,
                email=f"member{n:02}@example.org",
                response=RsvpResponse.DECLINED if n == 7 else RsvpResponse.ATTENDING,
                mode=None if n == 7 else AttendanceMode.REMOTE,
                source="panel",
            )
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    first = client.get(f"/panel/meetings/{meeting.id}")
    assert "Showing 1 to 50 of 55 replies" in first.body and 'rel="next"' in first.body
    second = client.get(f"/panel/meetings/{meeting.id}?page=2")
    assert "Showing 51 to 55 of 55 replies" in second.body
    declined = client.get(f"/panel/meetings/{meeting.id}?status=declined")
    assert "1 reply found" in declined.body and "member07@example.org" in declined.body
    one = client.get(f"/panel/meetings/{meeting.id}?q=MEMBER12")
    assert "1 reply found" in one.body and "member12@example.org" in one.body
    none = client.get(f"/panel/meetings/{meeting.id}?q=nobody")
    assert "No replies match" in none.body and 'id="attendees"' not in none.body
    assert client.get(f"/panel/meetings/{meeting.id}?status=bogus&page=x").status == 200
    assert re.search(r'id="count-remote">54<', none.body)  # the counts are of everyone


def test_the_meeting_page_shows_what_it_sends_and_to_whom(
    client: HttpClient, database: TestDatabase
) -> None:
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, location="London and online")
    make_organiser(database.sessions)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    page = client.get(f"/panel/meetings/{meeting.id}").body
    sends = page.split('id="what-it-sends"', 1)[1].split("</dl>", 1)[0]
    assert "London and online" in sends and "Room 1.01" in sends
    assert "Only to delegates coming in person" in sends
    assert "Only to delegates joining remotely" in sends and "40; then a waiting list" in sends
