"""A forwarded email's links show whoever opens them nothing about the member.

Every kind of signed link a member receives (the three RSVP answers, a
volunteer role, unsubscribe, a join confirmation) is opened in a fresh
browser context with no cookies, for a member who has answered, told us
about their access needs, offered to volunteer and is on the list: no page
may show their name, address, department, answer, access needs or
membership.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from mailer.domain.consultations import (
    RoleSpec,
    create_consultation,
    send_consultation,
    volunteer_by_link,
)
from mailer.domain.lists import add_member
from mailer.domain.models import (
    AttendanceMode,
    ConsultationKind,
    Meeting,
    Person,
    RsvpResponse,
    SubscriptionStatus,
    VolunteerRole,
)
from mailer.domain.rsvp import record_rsvp_from_link
from mailer.domain.services import build_services
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.factories import make_list, make_meeting
from tests.support.servers import RunningService, web_only

pytestmark = pytest.mark.browser

#: What no link page may show of the member.
PRIVATE = (
    "Ana",
    "Okafor",
    "ana.okafor",
    "dept-for-example",
    "Department",
    "BSL",
    "interpreter",
    "attending in person",
    "current answer",
    "already",
    "subscribed",
    "not receiving",
    "access needs held",
)


@pytest.fixture
def running(database: TestDatabase, tmp_path: Path) -> Iterator[RunningService]:
    config = make_test_config(
        tmp_path, database.url, organisations={"dept-for-example.gov.uk": "Department for Example"}
    )
    with web_only(config, database) as service:
        yield service


def test_no_signed_link_shows_anything_about_the_member(
    chromium, running: RunningService, database: TestDatabase
) -> None:  # type: ignore[no-untyped-def]
    email = "ana.okafor@dept-for-example.gov.uk"
    services = build_services(running.config)
    make_list(database.sessions)
    meeting = make_meeting(database.sessions, title="Spring Forum")
    with database.sessions() as s:
        add_member(s, slug="forum", email=email, display_name="Okafor, Ana", actor="test")
    with database.sessions() as s:
        consultation = create_consultation(
            s,
            list_slug="forum",
            title="Helpers",
            question_markdown="Can you help?",
            kind=ConsultationKind.VOLUNTEERS,
            roles=[RoleSpec("Communications")],
            actor="test",
        )
    with database.sessions() as s:
        send_consultation(s, services, consultation.id, actor="test")
    with database.sessions() as s, s.begin():
        person = s.scalars(select(Person).where(Person.email == email)).one()
        role = s.scalars(select(VolunteerRole)).one()
        found = s.get(Meeting, meeting.id)
        assert found is not None
        rsvp = services.links.rsvp_urls(person, found)
        volunteer = services.links.volunteer_url(person, role.id)
        unsubscribe = services.links.unsubscribe_url(
            services.links.unsubscribe_token(person.id, found.list_id, person.link_version)
        )
        confirm = services.links.confirm_url(
            services.links.confirm_token(person.id, found.list_id, person.link_version)
        )
        assert person.subscriptions[0].status is SubscriptionStatus.ACTIVE
    token = rsvp["in-person"].split("/")[-2]
    with database.sessions() as s:
        outcome = record_rsvp_from_link(
            s, services, token, "in-person", access_needs="A BSL interpreter, please"
        )
        assert (outcome.response, outcome.mode) == (
            RsvpResponse.ATTENDING,
            AttendanceMode.IN_PERSON,
        )
    with database.sessions() as s:
        volunteer_by_link(s, services, volunteer.rsplit("/", 1)[1])

    for link in (*rsvp.values(), volunteer, unsubscribe, confirm):
        context = chromium.new_context()  # whoever the email was forwarded to
        try:
            page = context.new_page()
            response = page.goto(link)
            assert response is not None and response.status == 200, link
            assert response.headers.get("cache-control") == "no-store"
            # What the page says (its visible text, not the random tokens in its attributes), and
            # nowhere in its markup the address.
            shown = page.inner_text("body").lower()
            for private in PRIVATE:
                assert private.lower() not in shown, (link, private)
            assert email not in page.content().lower(), link
            assert context.cookies() == []
        finally:
            context.close()
