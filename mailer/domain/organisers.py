"""Organiser accounts: argon2id password hashes, nothing reversible."""

from __future__ import annotations

import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailer.db import read_transaction, transaction
from mailer.domain import audit
from mailer.domain.errors import AlreadyExists, AuthenticationFailed, InvalidInput, NotFound
from mailer.domain.models import AuditEntry, Organiser, OrganiserRole, utcnow
from mailer.domain.people import normalise_email

_hasher = PasswordHasher()
# Verified against when the account does not exist, so a wrong address costs the same time as a
# wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_LENGTH = 12
#: After this many failed logins to one account within the window, it is locked for the window.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)


class TooManyAttempts(AuthenticationFailed):
    pass


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
        audit.record(
            session, actor=actor, action="organiser.password", target=f"organiser:{organiser.id}"
        )


def count_organisers(session: Session) -> int:
    with read_transaction(session):
        return session.scalar(select(func.count()).select_from(Organiser)) or 0


def authenticate(session: Session, *, email: str, password: str) -> Organiser:
    """The organiser with these credentials, or AuthenticationFailed (never says which part was
    wrong)."""
    try:
        address = normalise_email(email)
    except InvalidInput:
        address = ""
    with transaction(session):
        organiser = (
            session.scalar(select(Organiser).where(Organiser.email == address)) if address else None
        )
        if organiser is not None and _recent_failures(session, organiser.id) >= MAX_FAILURES:
            locked = True
        else:
            locked = False
    if locked:
        raise TooManyAttempts(
            "Too many failed attempts. Wait 15 minutes and try again, or ask an admin "
            "to reset your password."
        )
    with transaction(session):
        organiser = (
            session.scalar(select(Organiser).where(Organiser.email == address)) if address else None
        )
        try:
            _hasher.verify(organiser.password_hash if organiser else _DUMMY_HASH, password)
            ok = organiser is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            # Recorded in this transaction, which commits: a failed login is itself worth keeping.
            audit.record(
                session,
                actor="anonymous",
                action="organiser.login_failed",
                target=f"organiser:{organiser.id}" if organiser else "",
            )
        else:
            assert organiser is not None
            if _hasher.check_needs_rehash(organiser.password_hash):
                organiser.password_hash = _hasher.hash(password)
            organiser.last_login_at = utcnow()
            audit.record(session, actor=f"organiser:{organiser.id}", action="organiser.login")
    if not ok:
        raise AuthenticationFailed("The email address or password is not right.")
    assert organiser is not None
    return organiser


def _recent_failures(session: Session, organiser_id: int) -> int:
    since = utcnow() - FAILURE_WINDOW
    last_success = session.scalar(
        select(func.max(AuditEntry.at)).where(
            AuditEntry.actor == f"organiser:{organiser_id}", AuditEntry.action == "organiser.login"
        )
    )
    if last_success is not None and last_success > since:
        since = last_success
    return (
        session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.action == "organiser.login_failed",
                AuditEntry.target == f"organiser:{organiser_id}",
                AuditEntry.at > since,
            )
        )
        or 0
    )


def get_organiser(session: Session, organiser_id: int) -> Organiser | None:
    with read_transaction(session):
        return session.get(Organiser, organiser_id)
