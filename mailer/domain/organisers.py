"""Organiser accounts: argon2id password hashes, nothing reversible."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from mailer.db import read_transaction, transaction
from mailer.domain import audit
from mailer.domain.errors import (
    AlreadyExists,
    AuthenticationFailed,
    InvalidInput,
    InvalidLink,
    NotFound,
)
from mailer.domain.links import SET_PASSWORD_MAX_AGE
from mailer.domain.models import (
    MailingList,
    Organiser,
    OrganiserList,
    OrganiserRole,
    utcnow,
)
from mailer.domain.outbox import Envelope, enqueue
from mailer.domain.people import get_or_create_person, normalise_email
from mailer.domain.rate_limits import (
    client_group,
    forget_requests,
    limit_reached,
    within_limit,
)
from mailer.domain.services import Services

#: argon2id with RFC 9106's second recommended cost (3 passes over 64 MiB), in one lane: the
#: same work, on one core.
_hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1)
# Verified against when the account does not exist, so a wrong address costs the same time as a
# wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_LENGTH = 12


class TooManyAttempts(AuthenticationFailed):
    pass


class HeldBack(TooManyAttempts):
    """This client has tried too often and is held back for the rest of the window."""


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def create_organiser(
    session: Session,
    *,
    email: str,
    password: str,
    name: str = "",
    role: OrganiserRole = OrganiserRole.ORGANISER,
    actor: str,
    is_demo: bool = False,
) -> Organiser:
    address = normalise_email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"Passwords must be at least {MIN_PASSWORD_LENGTH} characters.", field="password"
        )
    with transaction(session):
        if session.scalar(select(Organiser).where(Organiser.email == address)) is not None:
            raise AlreadyExists(f"An organiser with the address {address} already exists.")
        organiser = Organiser(
            email=address,
            name=name.strip(),
            password_hash=_hasher.hash(password),
            role=role,
            is_demo=is_demo,
        )
        session.add(organiser)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="organiser.create",
            target=f"organiser:{organiser.id}",
            role=role.value,
        )
    return organiser


def set_password(session: Session, *, email: str, password: str, actor: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"Passwords must be at least {MIN_PASSWORD_LENGTH} characters.", field="password"
        )
    with transaction(session):
        organiser = session.scalar(
            select(Organiser).where(Organiser.email == normalise_email(email))
        )
        if organiser is None:
            raise NotFound(f"No organiser has the address {email}.")
        organiser.password_hash = _hasher.hash(password)
        organiser.session_version += 1  # whoever held the old password is logged out
        audit.record(
            session, actor=actor, action="organiser.password", target=f"organiser:{organiser.id}"
        )


def organiser_id_for(session: Session, email: str) -> int:
    """The id of the organiser who logs in with this address, or NotFound."""
    with read_transaction(session):
        found = session.scalar(
            select(Organiser.id).where(Organiser.email == normalise_email(email))
        )
    if found is None:
        raise NotFound(f"No organiser has the address {email}.")
    return found


def count_organisers(session: Session) -> int:
    with read_transaction(session):
        return session.scalar(select(func.count()).select_from(Organiser)) or 0


class PasswordChecks:
    """A password check is a sixth of a second of one core's work (argon2id, by design, in one
    lane so that it takes one core, never all). A process makes one at a time; a login that
    finds one under way is asked to try again in a moment rather than wait. When logins come
    faster than that (a flood), the process also rests after each check as long as it took, so
    checks never take more than half of one core: the cores, and the threads, that the pages
    members open need stay free. (The limits per client end a flood's checks soon after.) A
    lone organiser, however quick their second try, is never asked to wait."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._rest_until = 0.0
        self._crowded = False  # a login was turned away since the last check began

    @contextmanager
    def one(self) -> Iterator[None]:
        """Make one check, or raise TooManyAttempts at once."""
        if not self._lock.acquire(blocking=False):
            self._crowded = True
            raise TooManyAttempts(_BUSY)
        try:
            began = self._clock()
            if began < self._rest_until:
                self._crowded = True
                raise TooManyAttempts(_BUSY)
            self._crowded = False
            try:
                yield
            finally:
                ended = self._clock()
                if self._crowded:
                    self._rest_until = ended + (ended - began)
        finally:
            self._lock.release()


_HELD_BACK = (
    "Too many attempts to log in from here. Wait 15 minutes and try again, or ask an admin to "
    "send you a link to set a new password."
)
_BUSY = "Many logins are being checked at this moment. Wait a few seconds and try again."
_CHECKS = PasswordChecks()

#: Login attempts allowed in :data:`ATTEMPT_WINDOW`: for one address from one client, and from
#: one client in all. Attempts from elsewhere are never held back, so nobody can lock an
#: organiser out by guessing at their address.
ATTEMPTS_PER_ADDRESS, ATTEMPTS_PER_CLIENT = 10, 30
ATTEMPT_WINDOW = timedelta(minutes=15)


def authenticate(
    session: Session,
    services: Services,
    *,
    email: str,
    password: str,
    client: str = "",
) -> Organiser:
    """The organiser with these credentials, or AuthenticationFailed (never says which part was
    wrong).

    A client (the connection's address; an IPv6 one by its /64) that has tried too often is
    refused before any password is checked, in the same words whether or not the address is an
    organiser's: guessing costs the guesser, not the service. The count is taken and added to
    atomically (see :func:`mailer.domain.rate_limits.within_limit`). A good login forgets that
    client's attempts at that address.
    """
    try:
        address = normalise_email(email)
    except InvalidInput:
        address = email.strip().lower()[:320]
    group = client_group(client)
    pair = services.links.pseudonym("login", f"{group}\0{address}")
    limits = (
        (services.links.pseudonym("login-client", group), ATTEMPTS_PER_CLIENT),
        (pair, ATTEMPTS_PER_ADDRESS),
    )
    with read_transaction(session):
        held = any(
            limit_reached(session, key, limit=limit, within=ATTEMPT_WINDOW) for key, limit in limits
        )
    if held:
        raise HeldBack(_HELD_BACK)
    # A login that finds another being checked is asked to try again before anything is
    # counted: being turned away for the service's own sake costs the client nothing.
    with _CHECKS.one():
        with transaction(session):
            allowed = [
                within_limit(session, key, limit=limit, within=ATTEMPT_WINDOW)
                for key, limit in limits  # every limit counts this attempt
            ]
        if not all(allowed):  # (others from this client were counted meanwhile)
            raise HeldBack(_HELD_BACK)
        with read_transaction(session):
            found = (
                session.scalar(select(Organiser).where(Organiser.email == address))
                if address
                else None
            )
            organiser_id = found.id if found else None
            stored = found.password_hash if found else _DUMMY_HASH
        try:  # outside any transaction: a check holds no lock another request needs
            _hasher.verify(stored, password)
            ok = organiser_id is not None
        except (VerificationError, InvalidHashError):
            ok = False
    disabled = False
    with transaction(session):
        organiser = session.get(Organiser, organiser_id) if organiser_id else None
        if organiser is not None and organiser.password_hash != stored:
            ok = False  # the password changed while it was being checked: the old one is no good
        if not ok or organiser is None:
            ok = False
            # Recorded in this transaction, which commits: a failed login is itself worth keeping.
            audit.record(
                session,
                actor="anonymous",
                action="organiser.login_failed",
                target=f"organiser:{organiser_id}" if organiser_id else "",
            )
        elif organiser.disabled_at is not None:
            disabled = True
        else:
            if _hasher.check_needs_rehash(organiser.password_hash):
                organiser.password_hash = _hasher.hash(password)
            forget_requests(session, pair)
            if organiser.totp_secret:  # logged in only once the code is given too
                audit.record(
                    session, actor=f"organiser:{organiser.id}", action="organiser.password_ok"
                )
            else:
                organiser.last_login_at = utcnow()
                audit.record(session, actor=f"organiser:{organiser.id}", action="organiser.login")
    if not ok:
        raise AuthenticationFailed("The email address or password is not right.")
    if disabled:
        raise AuthenticationFailed("This account has been disabled. Ask an admin of your network.")
    assert organiser is not None
    return organiser


def end_sessions(session: Session, organiser_id: int, *, everywhere: bool = False) -> None:
    """End every panel session of an organiser at once (logging out, or "log out everywhere":
    a stolen cookie stops working too)."""
    with transaction(session):
        organiser = session.get(Organiser, organiser_id)
        if organiser is None:
            return
        organiser.session_version += 1
        if everywhere:
            audit.record(
                session,
                actor=f"organiser:{organiser.id}",
                action="organiser.logout_everywhere",
                target=f"organiser:{organiser.id}",
            )


def get_organiser(session: Session, organiser_id: int) -> Organiser | None:
    """The organiser, unless there is none or their account is disabled."""
    with read_transaction(session):
        organiser = session.get(Organiser, organiser_id)
        return organiser if organiser is not None and organiser.disabled_at is None else None


# Accounts run from the panel: admins invite organisers, choose their lists, disable, remove.


@dataclass(frozen=True)
class OrganiserRow:
    """One organiser as the admins' page shows them."""

    id: int
    email: str
    name: str
    role: OrganiserRole
    list_names: list[str]
    last_login_at: datetime | None
    disabled: bool
    #: Invited and has not yet chosen a password.
    invited: bool
    #: Logging in asks them for a code from an authenticator app as well.
    second_step: bool


def all_organisers(session: Session) -> list[OrganiserRow]:
    with read_transaction(session):
        organisers = session.scalars(
            select(Organiser).options(selectinload(Organiser.lists)).order_by(Organiser.email)
        ).all()
        return [
            OrganiserRow(
                o.id,
                o.email,
                o.name,
                o.role,
                [each.name for each in o.lists],
                o.last_login_at,
                o.disabled_at is not None,
                o.password_hash.startswith(_INVITED),
                o.totp_secret is not None,
            )
            for o in organisers
        ]


def organiser_lists(session: Session, organiser_id: int) -> list[str]:
    """The slugs of the lists an organiser runs (as chosen; an admin runs every list)."""
    with read_transaction(session):
        return [each.slug for each in existing_organiser(session, organiser_id).lists]


def lists_run_by(session: Session, organiser: Organiser) -> frozenset[int] | None:
    """The ids of the lists an organiser may see and run; None for an admin (every list)."""
    if organiser.role is OrganiserRole.ADMIN:
        return None
    with read_transaction(session):
        return frozenset(
            session.scalars(
                select(OrganiserList.list_id).where(OrganiserList.organiser_id == organiser.id)
            )
        )


#: The password hash of an invited organiser who has not chosen one: matches no password.
_INVITED = "invited:"


def invite_organiser(
    session: Session,
    services: Services,
    *,
    email: str,
    name: str = "",
    role: OrganiserRole = OrganiserRole.ORGANISER,
    list_slugs: list[str],
    actor: str,
) -> Organiser:
    """Add an organiser who chooses their own password from a link emailed to them (it works
    once, for three days); a plain organiser runs ``list_slugs`` only."""
    address = normalise_email(email)
    with transaction(session):
        if session.scalar(select(Organiser).where(Organiser.email == address)) is not None:
            raise InvalidInput(
                f"{address} is already an organiser. To let them in again, send them a new "
                "link to set their password.",
                field="email",
            )
        organiser = Organiser(
            email=address,
            name=name.strip(),
            password_hash=_INVITED + secrets.token_urlsafe(32),
            role=role,
        )
        organiser.lists = _lists(session, list_slugs, role)
        session.add(organiser)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="organiser.invite",
            target=f"organiser:{organiser.id}",
            role=role.value,
            lists=list_slugs,
        )
        _email_password_link(session, services, organiser, invited=True)
    return organiser


def send_password_link(
    session: Session, services: Services, organiser_id: int, *, actor: str
) -> str:
    """Email an organiser a new link to choose their password (the old password keeps working
    until they do); returns their address."""
    with transaction(session):
        organiser = existing_organiser(session, organiser_id)
        if organiser.disabled_at is not None:
            raise InvalidInput("This account is disabled. Enable it first.")
        audit.record(
            session,
            actor=actor,
            action="organiser.password_link",
            target=f"organiser:{organiser.id}",
        )
        _email_password_link(session, services, organiser, invited=False)
        return organiser.email


def _email_password_link(
    session: Session, services: Services, organiser: Organiser, *, invited: bool
) -> None:
    enqueue(
        session,
        services,
        kind="organiser_password",
        person=get_or_create_person(session, organiser.email),
        sender=Envelope(
            services.config.addresses.postmaster_address(), services.config.service.name
        ),
        context={
            "invited": invited,
            "organiser_name": organiser.name,
            "admin": organiser.role is OrganiserRole.ADMIN,
            "list_names": [each.name for each in organiser.lists],
            "url": services.links.set_password_url(organiser.id, organiser.password_hash),
            "days": SET_PASSWORD_MAX_AGE.days,
        },
    )


def password_link_organiser(session: Session, services: Services, token: str) -> Organiser:
    """The organiser a set-password link is for, while it still works; raises InvalidLink or
    ExpiredLink."""
    organiser_id, digest = services.links.load_set_password(token)
    with read_transaction(session):
        organiser = session.get(Organiser, organiser_id)
        if (
            organiser is None
            or organiser.disabled_at is not None
            or not hmac.compare_digest(
                services.links.password_digest(organiser.password_hash), digest
            )
        ):
            raise InvalidLink(
                "This link to set your password has been used or replaced. Log in, or ask an "
                "admin to send a new one."
            )
        return organiser


def set_password_from_link(
    session: Session, services: Services, token: str, password: str
) -> Organiser:
    """Set the password a link was sent for; the link then stops working."""
    organiser = password_link_organiser(session, services, token)
    set_password(
        session, email=organiser.email, password=password, actor=f"organiser:{organiser.id}"
    )
    if not organiser.totp_secret:  # choosing the password logs them in (else so will the code)
        with transaction(session):
            organiser.last_login_at = utcnow()
    return organiser


def set_organiser_lists(
    session: Session, organiser_id: int, list_slugs: list[str], *, actor: str
) -> None:
    with transaction(session):
        organiser = existing_organiser(session, organiser_id)
        organiser.lists = _lists(session, list_slugs, organiser.role)
        audit.record(
            session,
            actor=actor,
            action="organiser.lists",
            target=f"organiser:{organiser.id}",
            lists=list_slugs,
        )


def set_disabled(
    session: Session, organiser_id: int, *, disabled: bool, actor_id: int
) -> Organiser:
    """Disable an organiser (they cannot log in, and their sessions end) or enable them again.
    Nobody disables themselves, and the last admin who can log in stays."""
    with transaction(session):
        organiser = existing_organiser(session, organiser_id)
        if disabled:
            _check_not_self_or_last_admin(session, organiser, actor_id, "disable")
            organiser.disabled_at = organiser.disabled_at or utcnow()
            organiser.session_version += 1
        else:
            organiser.disabled_at = None
        audit.record(
            session,
            actor=f"organiser:{actor_id}",
            action="organiser.disable" if disabled else "organiser.enable",
            target=f"organiser:{organiser.id}",
        )
        return organiser


def remove_organiser(session: Session, organiser_id: int, *, actor_id: int) -> str:
    """Delete an organiser's account; returns their address. What they did stays in the audit
    log."""
    with transaction(session):
        organiser = existing_organiser(session, organiser_id)
        _check_not_self_or_last_admin(session, organiser, actor_id, "remove")
        address = organiser.email
        session.delete(organiser)
        audit.record(
            session,
            actor=f"organiser:{actor_id}",
            action="organiser.remove",
            target=f"organiser:{organiser_id}",
            email=address,
        )
        return address


def _check_not_self_or_last_admin(
    session: Session, organiser: Organiser, actor_id: int, verb: str
) -> None:
    if organiser.id == actor_id:
        raise InvalidInput(f"You cannot {verb} your own account. Ask another admin.")
    if organiser.role is OrganiserRole.ADMIN:
        others = session.scalar(
            select(func.count())
            .select_from(Organiser)
            .where(
                Organiser.role == OrganiserRole.ADMIN,
                Organiser.disabled_at.is_(None),
                Organiser.id != organiser.id,
            )
        )
        if not others:
            raise InvalidInput(
                f"They are the only admin who can log in, so you cannot {verb} them."
            )


def existing_organiser(session: Session, organiser_id: int) -> Organiser:
    """Within the caller's transaction: the organiser, disabled or not, or NotFound."""
    organiser = session.get(Organiser, organiser_id)
    if organiser is None:
        raise NotFound("There is no such organiser.")
    return organiser


def _lists(session: Session, slugs: list[str], role: OrganiserRole) -> list[MailingList]:
    found = list(session.scalars(select(MailingList).where(MailingList.slug.in_(slugs))))
    missing = set(slugs) - {each.slug for each in found}
    if missing:
        raise NotFound(f"There is no list {', '.join(sorted(missing))}.")
    if role is OrganiserRole.ORGANISER and not found:
        raise InvalidInput("Choose at least one list for them to run.", field="lists")
    return found
