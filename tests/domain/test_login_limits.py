"""Logging in: guessing is slowed per client, so it costs the guesser and never locks a real
organiser out from elsewhere; known and unknown addresses are answered alike; and the limit
holds when many attempts arrive at once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from mailer.domain.errors import AuthenticationFailed
from mailer.domain.models import AuditEntry
from mailer.domain.organisers import (
    ATTEMPTS_PER_ADDRESS,
    HeldBack,
    PasswordChecks,
    TooManyAttempts,
    authenticate,
)
from mailer.domain.services import Services
from tests.support.databases import TestDatabase
from tests.support.factories import ORGANISER_PASSWORD, make_organiser

ADMIN = "organiser@example.org"


@pytest.fixture(autouse=True)
def no_rest_left_by_an_earlier_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test begins with a process that has made no check (a crowded test leaves it resting
    for a moment)."""
    from mailer.domain import organisers

    monkeypatch.setattr(organisers, "_CHECKS", PasswordChecks())


def attempt(database: TestDatabase, services: Services, email: str, password: str, client: str):  # type: ignore[no-untyped-def]
    with database.sessions() as s:
        return authenticate(s, services, email=email, password=password, client=client)


def failed_checks(database: TestDatabase) -> int:
    with database.sessions() as s:
        return s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "organiser.login_failed")
        )


def test_a_guesser_is_held_back_and_the_organiser_still_logs_in_from_elsewhere(
    database: TestDatabase, services: Services
) -> None:
    make_organiser(database.sessions)
    for _ in range(ATTEMPTS_PER_ADDRESS):
        with pytest.raises(AuthenticationFailed, match="not right"):
            attempt(database, services, ADMIN, "guess", "203.0.113.9")
    with pytest.raises(TooManyAttempts, match="Too many attempts to log in from here"):
        attempt(database, services, ADMIN, ORGANISER_PASSWORD, "203.0.113.9")
    assert failed_checks(database) == ATTEMPTS_PER_ADDRESS  # the held-back one cost no check
    # The real organiser, from their own connection, is not locked out.
    assert attempt(database, services, ADMIN, ORGANISER_PASSWORD, "198.51.100.7").email == ADMIN


def test_known_and_unknown_addresses_are_answered_alike(
    database: TestDatabase, services: Services
) -> None:
    make_organiser(database.sessions)
    answers = []
    for email in (ADMIN, "nobody@example.org"):
        for _ in range(ATTEMPTS_PER_ADDRESS):
            with pytest.raises(AuthenticationFailed) as wrong:
                attempt(database, services, email, "guess", f"client-{email}")
        with pytest.raises(TooManyAttempts) as held:
            attempt(database, services, email, "guess", f"client-{email}")
        answers.append((str(wrong.value), str(held.value)))
    assert answers[0] == answers[1]


def test_a_good_login_forgets_that_clients_failures(
    database: TestDatabase, services: Services
) -> None:
    make_organiser(database.sessions)
    for _ in range(ATTEMPTS_PER_ADDRESS - 1):
        with pytest.raises(AuthenticationFailed):
            attempt(database, services, ADMIN, "typo", "192.0.2.1")
    attempt(database, services, ADMIN, ORGANISER_PASSWORD, "192.0.2.1")
    for _ in range(ATTEMPTS_PER_ADDRESS - 1):  # a fresh allowance, not one attempt left
        with pytest.raises(AuthenticationFailed):
            attempt(database, services, ADMIN, "typo", "192.0.2.1")


def test_many_attempts_at_once_get_no_more_checks_than_the_limit(
    database: TestDatabase, services: Services
) -> None:
    make_organiser(database.sessions)
    barrier = threading.Barrier(8)

    def guesser() -> None:  # guesses until held back (turned away as busy: not counted)
        barrier.wait(timeout=30)
        for _ in range(2000):
            try:
                attempt(database, services, ADMIN, "guess", "203.0.113.50")
            except HeldBack:
                return
            except AuthenticationFailed:
                pass

    threads = [threading.Thread(target=guesser) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    # However many tries at once: never more checks than the limit (those finding a check under
    # way were asked to try again, and not counted), and the client is held back now.
    assert 1 <= failed_checks(database) <= ATTEMPTS_PER_ADDRESS
    with pytest.raises(TooManyAttempts, match="from here"):
        attempt(database, services, ADMIN, ORGANISER_PASSWORD, "203.0.113.50")


def test_a_login_that_finds_a_check_under_way_is_asked_to_try_again_not_kept_waiting(
    database: TestDatabase, services: Services
) -> None:
    from mailer.domain import organisers

    make_organiser(database.sessions)
    with organisers._CHECKS._lock:  # another request's check, under way
        with pytest.raises(TooManyAttempts, match="try again"):
            attempt(database, services, ADMIN, ORGANISER_PASSWORD, "192.0.2.8")
    assert attempt(database, services, ADMIN, ORGANISER_PASSWORD, "192.0.2.8").email == ADMIN


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_lone_organisers_quick_second_try_is_never_turned_away() -> None:
    clock = Clock()
    checks = PasswordChecks(clock)
    for _ in range(3):
        with checks.one():
            clock.now += 0.2  # a check's time
        clock.now += 0.01  # and at once again


def test_when_logins_crowd_in_checks_take_at_most_half_of_one_core() -> None:
    clock = Clock()
    checks = PasswordChecks(clock)
    with checks.one():
        clock.now += 0.2
        with pytest.raises(TooManyAttempts, match="try again"), checks.one():
            pass  # another login while the check runs
    clock.now += 0.1
    with pytest.raises(TooManyAttempts, match="try again"), checks.one():
        pass  # resting: as long as the check took
    clock.now += 0.11
    with checks.one():
        clock.now += 0.2
    clock.now += 0.01  # nobody was turned away meanwhile: no rest
    with checks.one():
        pass


def test_ipv6_clients_are_counted_by_their_64_block() -> None:
    from mailer.domain.rate_limits import client_group

    assert client_group("2001:db8:1:2::1") == client_group("2001:db8:1:2:ffff::9")
    assert client_group("2001:db8:1:2::1") != client_group("2001:db8:1:3::1")
    assert client_group("::ffff:198.51.100.7") == "198.51.100.7" == client_group("198.51.100.7")
    assert client_group("") == ""


def test_stepping_through_an_ipv6_block_gains_nothing(
    database: TestDatabase, services: Services
) -> None:
    make_organiser(database.sessions)
    for n in range(ATTEMPTS_PER_ADDRESS):
        with pytest.raises(AuthenticationFailed, match="not right"):
            attempt(database, services, ADMIN, "guess", f"2001:db8:7:7::{n + 1:x}")
    with pytest.raises(HeldBack):
        attempt(database, services, ADMIN, ORGANISER_PASSWORD, "2001:db8:7:7::ffff")
    assert attempt(database, services, ADMIN, ORGANISER_PASSWORD, "2001:db8:7:8::1").email == ADMIN


def test_being_turned_away_as_busy_costs_the_client_nothing(
    database: TestDatabase, services: Services
) -> None:
    from mailer.domain import organisers

    make_organiser(database.sessions)
    with organisers._CHECKS._lock:  # another request's check, under way
        for _ in range(ATTEMPTS_PER_ADDRESS * 2):
            with pytest.raises(TooManyAttempts, match="try again"):
                attempt(database, services, ADMIN, "guess", "192.0.2.77")
    assert attempt(database, services, ADMIN, ORGANISER_PASSWORD, "192.0.2.77").email == ADMIN
