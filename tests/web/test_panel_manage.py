"""The panel's forms for lists, members and meetings: same rules as the CLI, errors next to
fields."""

from __future__ import annotations

import re

from sqlalchemy import select

from mailer.domain.models import Meeting, Subscription, SubscriptionStatus
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_organiser
from tests.support.http import HttpClient


def test_create_list_add_and_remove_members_create_meeting(
    client: HttpClient, database: TestDatabase
) -> None:
    make_organiser(database.sessions)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    form = client.get("/panel/lists/new")
    bad = client.post(
        "/panel/lists/new",
        {"csrf_token": client.csrf_token(form.body), "name": "Forum", "slug": "Bad Slug!"},
    )
    assert bad.status == 400 and "lower-case letters" in bad.body
    made = client.post(
        "/panel/lists/new",
        {"csrf_token": client.csrf_token(form.body), "name": "Leaders Forum", "slug": "forum"},
    )
    assert made.status == 200 and "Created Leaders Forum: forum@lists.test" in made.body
    token = client.csrf_token(made.body)
    added = client.post(
        "/panel/lists/forum", {"csrf_token": token, "email": "Ana@Example.org", "name": "Ana"}
    )
    assert "Added Ana@Example.org" in added.body and "ana@example.org" in added.body
    assert "govuk-notification-banner" in added.body  # the flashed message, as a GOV.UK banner
    invalid = client.post("/panel/lists/forum", {"csrf_token": token, "email": "nope", "name": ""})
    assert invalid.status == 400 and "not a valid email address" in invalid.body
    removed = client.post(
        "/panel/lists/forum/remove", {"csrf_token": token, "email": "ana@example.org"}
    )
    assert "Removed ana@example.org" in removed.body
    with database.sessions() as s:
        assert s.scalars(select(Subscription)).one().status is SubscriptionStatus.REMOVED

    page = client.get("/panel/meetings/new")
    wrong = client.post(
        "/panel/meetings/new",
        {
            "csrf_token": client.csrf_token(page.body),
            "list_slug": "forum",
            "title": "Spring Forum",
            "starts_at": "2099-03-12T14:00",
            "ends_at": "2099-03-12T13:00",
            "format": "hybrid",
            "venue": "Room 1",
        },
    )
    assert wrong.status == 400 and "must end after it starts" in wrong.body
    created = client.post(
        "/panel/meetings/new",
        {
            "csrf_token": client.csrf_token(page.body),
            "list_slug": "forum",
            "title": "Spring Forum",
            "starts_at": "2099-03-12T14:00",
            "ends_at": "2099-03-12T16:00",
            "format": "hybrid",
            "venue": "Room 1",
            "dial_in": "https://meet.invalid/x",
            "capacity": "30",
        },
    )
    assert created.status == 200 and "Meeting created" in created.body
    assert re.search(r'id="count-in-person">0 of 30<', created.body)
    with database.sessions() as s:
        meeting = s.scalars(select(Meeting)).one()
    assert meeting.starts_at.isoformat() == "2099-03-12T14:00:00+00:00" and meeting.capacity == 30


def test_audit_log_shows_organiser_actions(client: HttpClient, database: TestDatabase) -> None:
    make_organiser(database.sessions)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    form = client.get("/panel/lists/new")
    client.post(
        "/panel/lists/new",
        {"csrf_token": client.csrf_token(form.body), "name": "Forum", "slug": "forum"},
    )
    page = client.get("/panel/audit")
    assert page.status == 200 and "created a list" in page.body and "logged in" in page.body
    row = page.body.split("created a list", 1)[0].rsplit("<tr", 1)[1]
    assert "organiser@example.org" in row  # who, by name
    assert "Forum" in page.body.split("created a list", 1)[1].split("</tr>", 1)[0]  # on what
    for internal in ("list.create", "organiser:", "list:", "person:"):
        assert internal not in page.body


def test_audit_log_names_people_as_they_are_now(database: TestDatabase) -> None:
    from sqlalchemy import delete

    from mailer.domain import audit
    from mailer.domain.lists import add_member, remove_member
    from mailer.domain.models import Person, Subscription
    from tests.support.factories import make_list

    make_list(database.sessions)
    with database.sessions() as s:
        add_member(s, slug="forum", email="ana@example.org", actor="test")
    with database.sessions() as s:
        remove_member(s, slug="forum", email="ana@example.org", actor="system")
    with database.sessions() as s:
        [removal] = [line for line in audit.recent_lines(s) if line.what == "removed a member"]
    assert removal.who == "Convene" and removal.on == "Leaders of Networks Forum"
    assert removal.detail == "member: ana@example.org"
    with database.sessions() as s, s.begin():  # gone since (as erasure leaves it)
        s.execute(delete(Subscription))
        s.execute(delete(Person))
    with database.sessions() as s:
        [removal] = [line for line in audit.recent_lines(s) if line.what == "removed a member"]
    assert removal.detail == "member: someone since erased"


def test_list_settings_from_the_panel(client: HttpClient, database: TestDatabase) -> None:
    from mailer.domain.models import MailingList
    from tests.support.factories import make_list

    make_list(database.sessions)
    make_organiser(database.sessions)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    page = client.get("/panel/lists/forum")
    token = client.csrf_token(page.body)
    bad = client.post(
        "/panel/lists/forum/settings",
        {"csrf_token": token, "allowed_sender_domains": "not a domain"},
    )
    assert "Not saved" in bad.body
    saved = client.post(
        "/panel/lists/forum/settings",
        {"csrf_token": token, "allowed_sender_domains": "*.GOV.uk, nhs.net", "trust_dmarc": "y"},
    )
    assert "Settings saved" in saved.body
    with database.sessions() as s:
        mailing_list = s.scalars(select(MailingList)).one()
    assert (mailing_list.allowed_sender_domains, mailing_list.trust_dmarc) == (
        "*.gov.uk, nhs.net",
        True,
    )


def test_csv_import_preview_then_confirm(web_service, database: TestDatabase) -> None:  # type: ignore[no-untyped-def]
    import urllib.request
    import uuid

    from tests.support.factories import make_list

    make_list(database.sessions)
    make_organiser(database.sessions)
    client = HttpClient(web_service.config.service.base_url)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    page = client.get("/panel/lists/forum")
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{client.csrf_token(page.body)}\r\n--{boundary}\r\nContent-Disposition: form-data; "
        f'name="file"; '
        f'filename="members.csv"\r\nContent-Type: text/csv\r\n\r\nemail,name\r\n'
        f"ana@example.org,Ana\r\n"
        f"oops,Bad\r\n--{boundary}--\r\n"
    ).encode()
    request = urllib.request.Request(
        f"{client.base_url}/panel/lists/forum/import",
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with client.opener.open(request, timeout=10) as response:
        preview = response.read().decode()
    assert "1 address ready to add; 1 row with a problem" in preview
    with database.sessions() as s:
        assert s.scalars(select(Subscription)).all() == []  # the preview adds nothing
    data = re.search(
        r'name="data" type="hidden" value="([^"]+)"|id="data" name="data" type="hidden" '
        r'value="([^"]+)"',
        preview,
    )
    value = data.group(1) or data.group(2)
    done = client.post(
        "/panel/lists/forum/import", {"csrf_token": client.csrf_token(preview), "data": value}
    )
    assert "Added 1 member." in done.body
    with database.sessions() as s:
        assert len(s.scalars(select(Subscription)).all()) == 1


def test_a_large_import_runs_in_the_worker_with_progress(
    web_service, database: TestDatabase
) -> None:  # type: ignore[no-untyped-def]
    import base64

    from mailer.domain.imports import run_import_step
    from tests.support.factories import make_list

    make_list(database.sessions)
    make_organiser(database.sessions)
    client = HttpClient(web_service.config.service.base_url)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    page = client.get("/panel/lists/forum")
    csv = "email,name\r\n" + "".join(f"member{i}@example.org,Member {i}\r\n" for i in range(1200))
    started = client.post(
        "/panel/lists/forum/import",
        {
            "csrf_token": client.csrf_token(page.body),
            "data": base64.b64encode(csv.encode()).decode(),
        },
    )
    assert 'http-equiv="refresh"' in started.body  # updates itself, no JavaScript needed
    assert re.search(r'id="import-progress"[^>]*>0 of 1,200 rows done \(0%\)', started.body)
    with database.sessions() as s:
        assert s.scalars(select(Subscription)).all() == []  # nothing yet: the worker does it
    with database.sessions() as s:
        run_import_step(s)  # one chunk, as the worker would
    halfway = client.get(started.url.split(client.base_url, 1)[1])
    assert re.search(r"500 of 1,200 rows done \(41%\)", halfway.body)
    with database.sessions() as s:
        while run_import_step(s) is not None:
            pass
    finished = client.get(started.url.split(client.base_url, 1)[1])
    assert "Import finished" in finished.body and 'http-equiv="refresh"' not in finished.body
    assert re.search(r'id="count-added">1200<', finished.body)
    with database.sessions() as s:
        assert len(s.scalars(select(Subscription)).all()) == 1200


def test_members_show_their_bounce_history_and_export_as_csv(
    web_service, database: TestDatabase
) -> None:  # type: ignore[no-untyped-def]
    import csv
    import io

    from sqlalchemy import update

    from mailer.domain.bounces import record_bounce
    from mailer.domain.lists import add_member
    from mailer.domain.models import BounceKind, Person
    from tests.support.factories import make_list

    make_list(database.sessions)
    make_organiser(database.sessions)
    for who in ("ana", "=cmd"):
        with database.sessions() as s:
            add_member(
                s,
                slug="forum",
                email=f"{who}@example.org",
                display_name="+Ana" if who == "ana" else None,
                actor="test",
            )
    with database.sessions() as s:
        ana = s.scalar(select(Person).where(Person.email == "ana@example.org"))
    with database.sessions() as s, s.begin():
        record_bounce(
            s,
            outbox_id=None,
            person_id=ana.id,
            kind=BounceKind.HARD,
            status="5.1.1",
            diagnostic="no such user",
            threshold=3,
        )
        # (a bounce to a list mailing also scores the subscription; a bare one, as here, does not)
        s.execute(
            update(Subscription).where(Subscription.person_id == ana.id).values(bounce_score=2)
        )
    client = HttpClient(web_service.config.service.base_url)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    page = client.get("/panel/lists/forum")
    assert "(5.1.1)" in page.body and "score 2" in page.body
    export = client.get("/panel/lists/forum/members.csv")
    assert export.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.body.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Email", "Name", "Status"]
    ana_row = next(r for r in rows if r[0] == "ana@example.org")
    assert (
        ana_row[1] == "'+Ana" and ana_row[4] == "2" and ana_row[5] == "1" and ana_row[7] == "5.1.1"
    )
    assert any(r[0] == "'=cmd@example.org" for r in rows)


def test_an_organiser_corrects_a_members_name(client: HttpClient, database: TestDatabase) -> None:
    from mailer.domain.lists import add_member, create_list
    from mailer.domain.models import Person

    make_organiser(database.sessions)
    with database.sessions() as s:
        create_list(s, slug="forum", name="Forum", actor="test")
    with database.sessions() as s:
        add_member(
            s, slug="forum", email="dave@dept.example.org", display_name="Anything Here", actor="t"
        )
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    listing = client.get("/panel/lists/forum")
    assert "/panel/lists/forum/name?email=dave@dept.example.org" in listing.body
    page = client.get("/panel/lists/forum/name?email=dave%40dept.example.org")
    assert page.status == 200 and 'value="Anything Here"' in page.body
    too_long = client.post(
        "/panel/lists/forum/name?email=dave%40dept.example.org",
        {"csrf_token": client.csrf_token(page.body), "name": "x" * 201},
    )
    assert too_long.status == 400 and "200 characters" in too_long.body
    saved = client.post(
        "/panel/lists/forum/name?email=dave%40dept.example.org",
        {"csrf_token": client.csrf_token(page.body), "name": "  Smith,   Dave "},
    )
    assert saved.status == 200 and "Saved the name of dave@dept.example.org" in saved.body
    with database.sessions() as s:
        dave = s.scalars(select(Person)).one()
        assert dave.display_name == "Smith, Dave" and dave.first_name == "Dave"
    assert client.get("/panel/lists/forum/name?email=nobody%40x.example").status == 404


def test_a_damaged_import_or_one_for_a_deleted_list_is_refused_in_words(
    web_service, database: TestDatabase
) -> None:  # type: ignore[no-untyped-def]
    import base64

    from tests.support.factories import make_list

    make_list(database.sessions)
    make_organiser(database.sessions)
    client = HttpClient(web_service.config.service.base_url)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    token = client.csrf_token(client.get("/panel/lists/forum").body)
    damaged = client.post("/panel/lists/forum/import", {"csrf_token": token, "data": "%%not64"})
    assert damaged.status == 200 and "the file sent back was damaged" in damaged.body
    payload = base64.b64encode(b"email\r\nana@example.org\r\n").decode()
    gone = client.post("/panel/lists/nosuchlist/import", {"csrf_token": token, "data": payload})
    assert gone.status == 200 and "Not imported" in gone.body
    with database.sessions() as s:
        assert s.scalars(select(Subscription)).all() == []


def test_the_audit_log_pages_back_instead_of_stopping_at_200(
    client: HttpClient, database: TestDatabase
) -> None:
    from mailer.domain import audit

    make_organiser(database.sessions)
    with database.sessions() as s, s.begin():
        for n in range(205):
            audit.record(s, actor="system", action="member.bouncing", target="", bounces=n)
    client.login("organiser@example.org", ORGANISER_PASSWORD)  # 207 in all, with create and login
    first = client.get("/panel/audit")
    assert first.body.count('<tr class="govuk-table__row"><td class="govuk-table__cell">') == 200
    older = re.search(r'href="(/panel/audit\?before=\d+)"', first.body).group(1)
    second = client.get(older)
    assert second.body.count('<tr class="govuk-table__row"><td class="govuk-table__cell">') == 7
    assert "bounces: 0" in second.body and 'id="older"' not in second.body
    assert "The newest" in second.body


def test_another_meeting_like_one_is_set_up_from_its_details_at_a_new_time(
    client: HttpClient, database: TestDatabase
) -> None:
    from tests.support.factories import make_list, make_meeting

    make_list(database.sessions)
    first = make_meeting(database.sessions, title="Winter Forum", capacity=25, location="Leeds")
    make_organiser(database.sessions)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    page = client.get(f"/panel/meetings/{first.id}")
    assert f'href="/panel/meetings/new?copy={first.id}"' in page.body
    form = client.get(f"/panel/meetings/new?copy={first.id}")
    assert "A copy of the details of Winter Forum" in form.body
    assert 'value="Winter Forum"' in form.body and 'value="Leeds"' in form.body
    assert "Room 1.01" in form.body and 'value="25"' in form.body
    assert 'name="starts_at-day" type="text" value=""' in form.body  # a new time to choose
    created = client.post(
        f"/panel/meetings/new?copy={first.id}",
        {
            "csrf_token": client.csrf_token(form.body),
            "list_slug": "forum",
            "title": "Spring Forum",
            "starts_at": "2099-03-12T14:00",
            "ends_at": "2099-03-12T16:00",
            "format": "hybrid",
            "location": "Leeds",
            "venue": "Room 1.01",
            "capacity": "25",
        },
    )
    assert "Meeting created" in created.body
    with database.sessions() as s:
        assert [m.title for m in s.scalars(select(Meeting).order_by(Meeting.id))] == [
            "Winter Forum",
            "Spring Forum",
        ]
    assert client.get("/panel/meetings/new?copy=999").status == 404


def test_the_audit_log_is_narrowed_to_one_area(client: HttpClient, database: TestDatabase) -> None:
    from mailer.domain.audit import ACTIONS, AREAS

    make_organiser(database.sessions)
    client.login("organiser@example.org", ORGANISER_PASSWORD)
    form = client.get("/panel/lists/new")
    client.post(
        "/panel/lists/new",
        {"csrf_token": client.csrf_token(form.body), "name": "Forum", "slug": "forum"},
    )
    lists = client.get("/panel/audit?area=Lists+and+members").body
    assert "created a list" in lists and "logged in" not in lists.split('id="audit"')[1]
    logins = client.get("/panel/audit?area=Organisers%2C+logins+and+API+tokens").body
    assert "logged in" in logins and "created a list" not in logins.split('id="audit"')[1]
    assert "No entries of this kind." in client.get("/panel/audit?area=News").body
    assert "created a list" in client.get("/panel/audit?area=nonsense").body  # everything
    # Every kind of entry is in one of the areas.
    prefixes = {prefix for each in AREAS.values() for prefix in each}
    assert {action.split(".")[0] for action in ACTIONS} <= prefixes
