"""Logging in with a code from an authenticator app: a code is good from one step before its
own time to one after, only once, and only five wrong ones in 15 minutes; turning it on needs a
code from the app and ends every other session; only the organiser (with a code) or an admin
turns it off, and an admin who must use one cannot."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from mailer.config import Config
from mailer.domain import second_step
from mailer.domain.errors import InvalidInput
from mailer.domain.models import AuditEntry, Organiser, OrganiserRole
from mailer.domain.organisers import TooManyAttempts
from mailer.domain.services import Services, build_services
from tests.support.databases import TestDatabase
from tests.support.factories import make_organiser

NOW = datetime(2027, 3, 11, 9, 30, 10, tzinfo=UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def code_at(moment: datetime, secret: str = SECRET) -> str:
    return pyotp.TOTP(secret).at(moment)


def test_a_code_is_good_one_step_either_side_of_its_own_time_and_no_further() -> None:
    step = pyotp.TOTP(SECRET).timecode(NOW)
    for offset in (-1, 0, 1):
        moment = NOW + timedelta(seconds=30 * offset)
        assert second_step.matching_step(SECRET, code_at(moment), NOW) == step + offset
    for offset in (-2, 2):
        assert (
            second_step.matching_step(SECRET, code_at(NOW + timedelta(seconds=30 * offset)), NOW)
            is None
        )


def test_spaces_and_hyphens_people_type_are_ignored_and_anything_else_is_refused() -> None:
    code = code_at(NOW)
    assert second_step.matching_step(SECRET, f" {code[:3]} {code[3:]} ", NOW) is not None
    assert second_step.matching_step(SECRET, f"{code[:3]}-{code[3:]}", NOW) is not None
    for wrong in ("", "12345", "1234567", "abcdef", code + "0"):
        assert second_step.matching_step(SECRET, wrong, NOW) is None


def test_the_setup_secret_is_new_for_each_setup_and_never_the_nonce() -> None:
    services = build_services(Config())
    first = second_step.setup_secret(services, 1, "nonce-a")
    assert first == second_step.setup_secret(services, 1, "nonce-a")
    assert first != second_step.setup_secret(services, 1, "nonce-b")
    assert first != second_step.setup_secret(services, 2, "nonce-a")
    assert len(first) == 32 and pyotp.TOTP(first).at(NOW).isdigit()
    link = second_step.setup_link(first, account="ana@example.org", issuer="Convene")
    assert link.startswith("otpauth://totp/Convene:ana%40example.org?secret=" + first)


def with_code(database: TestDatabase, services: Services, **kwargs: object) -> Organiser:
    organiser = make_organiser(database.sessions, **kwargs)  # type: ignore[arg-type]
    with database.sessions() as s:
        second_step.turn_on(s, services, organiser.id, secret=SECRET, code=code_at(NOW), now=NOW)
    return organiser


def failures(database: TestDatabase) -> int:
    with database.sessions() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "organiser.code_failed")
            )
            or 0
        )


def test_turning_on_needs_a_code_from_the_app_and_ends_every_other_session(
    database: TestDatabase, services: Services
) -> None:
    organiser = make_organiser(database.sessions)
    with database.sessions() as s:
        with pytest.raises(InvalidInput, match="not the code your app shows"):
            second_step.turn_on(s, services, organiser.id, secret=SECRET, code="000000", now=NOW)
        assert s.get(Organiser, organiser.id).totp_secret is None
    with database.sessions() as s:
        second_step.turn_on(s, services, organiser.id, secret=SECRET, code=code_at(NOW), now=NOW)
    with database.sessions() as s:
        stored = s.get(Organiser, organiser.id)
        assert stored.totp_secret == SECRET and stored.session_version == 1


def test_a_code_is_accepted_once(database: TestDatabase, services: Services) -> None:
    organiser = with_code(database, services)
    later = NOW + timedelta(seconds=30)
    with database.sessions() as s:
        assert (
            second_step.check_code(s, services, organiser.id, code_at(later), now=later).id
            == organiser.id
        )
    with database.sessions() as s, pytest.raises(second_step.WrongCode, match="used already"):
        second_step.check_code(s, services, organiser.id, code_at(later), now=later)
    # The one used to turn it on is spent too, even within its time.
    with database.sessions() as s, pytest.raises(second_step.WrongCode, match="used already"):
        second_step.check_code(s, services, organiser.id, code_at(NOW), now=NOW)
    assert failures(database) == 2


def test_after_five_wrong_codes_even_the_right_one_waits(
    database: TestDatabase, services: Services
) -> None:
    organiser = with_code(database, services)
    later = NOW + timedelta(minutes=1)
    for _ in range(second_step.CODE_ATTEMPTS):
        with database.sessions() as s, pytest.raises(second_step.WrongCode, match="not the code"):
            second_step.check_code(s, services, organiser.id, "000000", now=later)
    with database.sessions() as s, pytest.raises(TooManyAttempts, match="Wait 15 minutes"):
        second_step.check_code(s, services, organiser.id, code_at(later), now=later)
    after = later + second_step.CODE_WINDOW + timedelta(minutes=1)
    with database.sessions() as s:
        assert second_step.check_code(s, services, organiser.id, code_at(after), now=after)


def test_the_organiser_turns_it_off_only_with_a_code_and_an_admin_for_them_without(
    database: TestDatabase, services: Services
) -> None:
    admin = make_organiser(database.sessions, email="admin@example.org")
    sam = with_code(
        database, services, email="sam@example.org", role=OrganiserRole.ORGANISER, lists=()
    )
    later = NOW + timedelta(minutes=2)
    with database.sessions() as s, pytest.raises(InvalidInput, match="not the code"):
        second_step.turn_off(s, services, sam.id, actor_id=sam.id, code="000000", now=later)
    with database.sessions() as s:
        second_step.turn_off(s, services, sam.id, actor_id=sam.id, code=code_at(later), now=later)
    with database.sessions() as s:
        assert s.get(Organiser, sam.id).totp_secret is None
    with database.sessions() as s:
        second_step.turn_on(s, services, sam.id, secret=SECRET, code=code_at(later), now=later)
    with database.sessions() as s:  # sam's phone is lost: an admin turns it off, no code asked
        second_step.turn_off(s, services, sam.id, actor_id=admin.id, now=later)
    with database.sessions() as s:
        stored = s.get(Organiser, sam.id)
        assert stored.totp_secret is None and stored.totp_last_step is None


def test_an_admin_who_must_use_a_code_cannot_turn_it_off(
    database: TestDatabase, services: Services
) -> None:
    strict = dataclasses.replace(
        services, config=services.config.replace(web={"admins_need_second_step": True})
    )
    admin = with_code(database, services)
    with database.sessions() as s, pytest.raises(InvalidInput, match="must log in with a code"):
        second_step.turn_off(s, strict, admin.id, actor_id=admin.id, code=code_at(NOW), now=NOW)
    with database.sessions() as s:
        assert s.get(Organiser, admin.id).totp_secret == SECRET


def test_moving_to_a_new_app_takes_a_code_from_the_one_in_use(
    database: TestDatabase, services: Services
) -> None:
    """A session left open (or a stolen cookie) is not enough to take the second step over."""
    organiser = with_code(database, services)
    new = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
    later = NOW + timedelta(minutes=1)
    for wrong in ("", "000000", code_at(NOW)):  # none, wrong, already used
        with database.sessions() as s, pytest.raises(InvalidInput) as refused:
            second_step.turn_on(
                s,
                services,
                organiser.id,
                secret=new,
                code=code_at(later, new),
                current_code=wrong,
                now=later,
            )
        assert refused.value.field == "current_code"
    with database.sessions() as s:
        assert s.get(Organiser, organiser.id).totp_secret == SECRET
    with database.sessions() as s:
        second_step.turn_on(
            s,
            services,
            organiser.id,
            secret=new,
            code=code_at(later, new),
            current_code=code_at(later),
            now=later,
        )
    with database.sessions() as s:
        assert s.get(Organiser, organiser.id).totp_secret == new


def test_right_codes_never_use_up_the_wrong_code_allowance(
    database: TestDatabase, services: Services
) -> None:
    organiser = with_code(database, services)
    for minute in range(1, 2 * second_step.CODE_ATTEMPTS):
        moment = NOW + timedelta(minutes=minute)
        with database.sessions() as s:
            second_step.check_code(s, services, organiser.id, code_at(moment), now=moment)
    assert failures(database) == 0
    with database.sessions() as s:
        assert s.get(Organiser, organiser.id).last_login_at is not None
