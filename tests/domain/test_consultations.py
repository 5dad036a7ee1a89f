"""Consultation rules without SMTP: role matching, answers in person export and erase, retention,
closing, and refusals with clear messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from mailer.domain.consultations import (
    RoleSpec,
    close_consultation,
    create_consultation,
    match_roles,
    record_answer,
    send_consultation,
)
from mailer.domain.errors import InvalidInput
from mailer.domain.lists import add_member
from mailer.domain.models import (
    Consultation,
    ConsultationAnswer,
    ConsultationKind,
    VolunteerOffer,
    VolunteerRole,
)
from mailer.domain.outbox import ReplyThread
from mailer.domain.privacy import erase_person, export_person
from mailer.domain.services import Services
from tests.support.databases import TestDatabase
from tests.support.factories import answer_claim, make_list


def sent_consultation(database: TestDatabase, services: Services, **options) -> int:  # type: ignore[no-untyped-def]
    make_list(database.sessions)
    with database.sessions() as s:
        add_member(s, slug="forum", email="alex@dept.gov.uk", display_name="Alex", actor="test")
    with database.sessions() as s:
        c = create_consultation(
            s,
            list_slug="forum",
            title="Views",
            question_markdown="What do you think?",
            actor="test",
            **options,
        )
    with database.sessions() as s:
        send_consultation(s, services, c.id, actor="test")
    return c.id


def answer(
    database: TestDatabase, services: Services, cid: int, text: str, email: str = "alex@dept.gov.uk"
):  # type: ignore[no-untyped-def]
    with database.sessions() as s:
        return record_answer(
            s,
            services,
            claim=answer_claim(s, cid, email),
            email=email,
            display_name=None,
            text=text,
            thread=ReplyThread(f"<{abs(hash(text))}@client.example>"),
        )


def test_roles_are_matched_by_name_alias_and_plural() -> None:
    roles = [
        VolunteerRole(id=i, name=n, aliases=a)
        for i, (n, a) in enumerate(
            [
                ("Project delivery", ""),
                ("Communications", "comms, social media"),
                ("Administrative support", "admin"),
                ("Policy", ""),
            ]
        )
    ]
    names = lambda text: [r.name for r in match_roles(text, roles)]  # noqa: E731
    assert names("I can do comms and policy.") == ["Communications", "Policy"]
    assert names("Happy to help with PROJECT\nDELIVERY") == ["Project delivery"]
    assert names("social media and admin") == ["Communications", "Administrative support"]
    assert names("I can help on the day") == []
    assert names("policies") == ["Policy"]
    assert names("apolicy") == []


def test_answers_are_in_the_export_and_erased_with_the_person(
    database: TestDatabase, services: Services
) -> None:
    cid = sent_consultation(
        database,
        services,
        kind=ConsultationKind.VOLUNTEERS,
        roles=[RoleSpec("Communications", aliases="comms")],
    )
    answer(database, services, cid, "I could do comms.")
    with database.sessions() as s:
        data = export_person(s, "alex@dept.gov.uk")
    assert data["consultation_answers"][0]["text"] == "I could do comms."
    assert data["volunteer_offers"][0]["role"] == "Communications"
    with database.sessions() as s:
        result = erase_person(s, "alex@dept.gov.uk", actor="test", services=services)
    assert result["answers_deleted"] == 1 and result["volunteer_offers_deleted"] == 1
    with database.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ConsultationAnswer)) == 0
        assert s.scalar(select(func.count()).select_from(VolunteerOffer)) == 0


def test_retention_deletes_answers_long_after_closing(
    database: TestDatabase, services: Services
) -> None:
    from mailer.domain.consultations import apply_answer_retention

    cid = sent_consultation(database, services)
    answer(database, services, cid, "Keep this for now.")
    with database.sessions() as s:
        close_consultation(s, cid, actor="test")
    with database.sessions() as s:
        assert apply_answer_retention(s, days=365) == 0
        assert apply_answer_retention(s, days=0) == 0
    with database.sessions() as s, s.begin():
        s.execute(update(Consultation).values(closed_at=datetime.now(UTC) - timedelta(days=400)))
    with database.sessions() as s:
        assert apply_answer_retention(s, days=365) == 1
    with database.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ConsultationAnswer)) == 0


def test_after_closing_answers_are_kept_late_and_empty_replies_store_nothing(
    database: TestDatabase, services: Services
) -> None:
    cid = sent_consultation(database, services)
    assert answer(database, services, cid, "   ").stored is False
    with database.sessions() as s:
        close_consultation(s, cid, actor="test")
    outcome = answer(database, services, cid, "Sorry I'm late.")
    assert outcome.stored and outcome.late and "late" in outcome.summary
    with database.sessions() as s:
        assert s.scalar(select(ConsultationAnswer.late)) is True


@pytest.mark.parametrize(
    "options, message",
    [
        ({"title": " "}, "Enter a title"),
        ({"question_markdown": ""}, "Write the question"),
        ({"kind": ConsultationKind.VOLUNTEERS}, "Name at least one role"),
        (
            {"kind": ConsultationKind.VOLUNTEERS, "roles": [RoleSpec("A"), RoleSpec("a")]},
            "different name",
        ),
        ({"closes_at": datetime(2001, 1, 1, tzinfo=UTC)}, "must be in the future"),
    ],
)
def test_bad_input_is_refused_clearly(database: TestDatabase, options: dict, message: str) -> None:  # type: ignore[type-arg]
    make_list(database.sessions)
    fields = {"list_slug": "forum", "title": "T", "question_markdown": "Q?", **options}
    with database.sessions() as s, pytest.raises(InvalidInput, match=message):
        create_consultation(s, actor="test", **fields)


def test_anonymous_answers_are_stored_in_the_order_of_their_random_ids_not_of_arrival(
    database: TestDatabase, services: Services
) -> None:
    """The acknowledgements name their recipients in the order the answers came; the answers'
    own storage order must not repeat it."""
    cid = sent_consultation(database, services, anonymous=True)
    senders = [f"member{n}@dept.gov.uk" for n in range(8)]
    for sender in senders:
        with database.sessions() as s:
            add_member(s, slug="forum", email=sender, actor="test")
    for sender in senders:
        answer(database, services, cid, f"Thoughts of {sender}", email=sender)
    physical = (
        "SELECT id FROM consultation_answer ORDER BY ctid"
        if database.engine.dialect.name == "postgresql"
        else "SELECT id FROM consultation_answer"  # a WITHOUT ROWID table scans in key order
    )
    with database.engine.connect() as conn:
        stored = [row.id for row in conn.exec_driver_sql(physical)]
    assert len(stored) == len(senders) and stored == sorted(stored)


def test_someone_taken_off_a_list_cannot_volunteer_by_its_links_though_on_another_list(
    database: TestDatabase, services: Services
) -> None:
    from mailer.domain.consultations import (
        RoleSpec,
        create_consultation,
        send_consultation,
        volunteer_by_link,
    )
    from mailer.domain.errors import InvalidLink
    from mailer.domain.lists import remove_member
    from mailer.domain.models import ConsultationKind, Person

    make_list(database.sessions)
    make_list(database.sessions, slug="allies", name="Allies")
    with database.sessions() as s:
        add_member(s, slug="forum", email="kim@example.org", actor="t")
        add_member(s, slug="allies", email="kim@example.org", actor="t")
    with database.sessions() as s:
        consultation = create_consultation(
            s,
            list_slug="forum",
            title="Helpers",
            question_markdown="Can you help?",
            kind=ConsultationKind.VOLUNTEERS,
            roles=[RoleSpec("Communications")],
            actor="t",
        )
    with database.sessions() as s:
        send_consultation(s, services, consultation.id, actor="t")
    with database.sessions() as s, s.begin():
        person = s.scalars(select(Person).where(Person.email == "kim@example.org")).one()
        url = services.links.volunteer_url(person, consultation.roles[0].id)
    with database.sessions() as s:
        remove_member(s, slug="forum", email="kim@example.org", actor="t")
    token = url.rsplit("/", 1)[1]
    with database.sessions() as s, pytest.raises(InvalidLink):
        volunteer_by_link(s, services, token)
