"""A second step to logging in: a six-digit code from an authenticator app (TOTP, RFC 6238).

Any organiser may turn it on; admins must when ``[web] admins_need_second_step`` is set. A
password alone then opens nothing: a stolen or guessed password is not enough.

A code is good from one 30-second step before its own to one after (a phone's clock is rarely
exact), and only once: the step of the last code accepted is kept, so a code seen over a
shoulder or replayed from a log is refused. Wrong codes are limited per organiser; only someone
who has just given the right password can try one, so no stranger can use the limit to keep an
organiser out.
"""

from __future__ import annotations

import base64
import hmac
import re
from datetime import datetime, timedelta

import pyotp
from sqlalchemy.orm import Session

from mailer.config import Config
from mailer.db import read_transaction, transaction
from mailer.domain import audit
from mailer.domain.errors import AuthenticationFailed, InvalidInput
from mailer.domain.models import Organiser, OrganiserRole
from mailer.domain.organisers import TooManyAttempts, existing_organiser
from mailer.domain.rate_limits import count_request, limit_reached
from mailer.domain.services import Services

#: Wrong codes allowed per organiser in :data:`CODE_WINDOW` (a million codes, three good at a
#: time: guessing would take decades).
CODE_ATTEMPTS = 5
CODE_WINDOW = timedelta(minutes=15)
#: How long after the password the code may be given.
CODE_WITHIN = timedelta(minutes=5)


class WrongCode(AuthenticationFailed):
    pass


def required_for(config: Config, organiser: Organiser) -> bool:
    """Whether this organiser may not use the panel without the second step."""
    return config.web.admins_need_second_step and organiser.role is OrganiserRole.ADMIN


def setup_secret(services: Services, organiser_id: int, nonce: str) -> str:
    """The secret (160 bits, base32) offered to an organiser setting up an app, derived from a
    random ``nonce`` kept in their session: the cookie carries the nonce, never the secret."""
    value = f"{organiser_id}\0{nonce}"
    digest = services.links.pseudonym("totp-setup", value)
    digest += services.links.pseudonym("totp-setup-more", value)
    return base64.b32encode(bytes.fromhex(digest)[:20]).decode()


def setup_link(secret: str, *, account: str, issuer: str) -> str:
    """The ``otpauth://`` link an authenticator app reads (from a QR code) to add the account."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is (this one, the one before or the one after), or
    None. Spaces and hyphens people type between the digits are ignored."""
    digits = re.sub(r"[\s-]", "", code)
    if not re.fullmatch(r"\d{6}", digits):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


def turn_on(
    session: Session,
    services: Services,
    organiser_id: int,
    *,
    secret: str,
    code: str,
    now: datetime,
    current_code: str = "",
) -> None:
    """Turn the second step on once the organiser has shown, with a code, that their app has the
    secret; or move it to a new app, which takes a code from the app in use now too (a session
    left open, or a stolen cookie, must not be enough to take the second step over). Every other
    session of theirs ends, since it began without the new code."""
    with read_transaction(session):
        replacing = bool(existing_organiser(session, organiser_id).totp_secret)
    if replacing:
        try:
            check_code(session, services, organiser_id, current_code, now=now, logging_in=False)
        except AuthenticationFailed as refused:
            raise InvalidInput(
                f"The code from the app you use now: {_first_lower(str(refused))}",
                field="current_code",
            ) from refused
    step = matching_step(secret, code, now)
    if step is None:
        raise InvalidInput(
            "That is not the code your app shows. Enter the 6 digits it shows now, for the "
            "account you have just added.",
            field="code",
        )
    _set_code(session, organiser_id, secret, step, actor=f"organiser:{organiser_id}")


def check_code(
    session: Session,
    services: Services,
    organiser_id: int,
    code: str,
    *,
    now: datetime,
    logging_in: bool = True,
) -> Organiser:
    """The organiser, now logged in, when ``code`` is a current code of their app never used
    before; otherwise WrongCode (or TooManyAttempts after :data:`CODE_ATTEMPTS` wrong ones in
    :data:`CODE_WINDOW`). Each wrong code is counted and recorded; a right one is not."""
    refusal: AuthenticationFailed | None = None
    with transaction(session):
        organiser = session.get(Organiser, organiser_id)
        if organiser is None or organiser.disabled_at is not None or not organiser.totp_secret:
            raise WrongCode("Log in again.")
        key = services.links.pseudonym("login-code", str(organiser_id))
        if limit_reached(session, key, limit=CODE_ATTEMPTS, within=CODE_WINDOW, now=now):
            refusal = TooManyAttempts(
                "Too many wrong codes. Wait 15 minutes, then log in again. If your app is "
                "lost, ask an admin to turn the code off for you."
            )
        else:
            step = matching_step(organiser.totp_secret, code, now)
            if step is not None and step <= (organiser.totp_last_step or -1):
                refusal = WrongCode(
                    "That code has been used already. Enter the next one your app shows."
                )
            elif step is None:
                refusal = WrongCode(
                    "That is not the code your app shows. Enter the 6 digits it shows now."
                )
            else:
                organiser.totp_last_step = step
                if logging_in:
                    organiser.last_login_at = now
                    audit.record(
                        session, actor=f"organiser:{organiser_id}", action="organiser.login"
                    )
        if isinstance(refusal, WrongCode):  # only a wrong code counts towards the limit
            count_request(session, key, now=now)
        if refusal is not None:
            audit.record(
                session,
                actor="anonymous",
                action="organiser.code_failed",
                target=f"organiser:{organiser_id}",
            )
    if refusal is not None:
        raise refusal
    return organiser


def turn_off(
    session: Session,
    services: Services,
    organiser_id: int,
    *,
    actor_id: int | None,
    code: str = "",
    now: datetime,
) -> Organiser:
    """Turn the second step off: by the organiser themselves with a current code (unless their
    network requires it of them), or by an admin for someone else whose app is lost
    (``actor_id`` None: from the command line). They log in with the password alone, or are
    asked to set up a new app when it is required of them."""
    with read_transaction(session):
        organiser = existing_organiser(session, organiser_id)
        if not organiser.totp_secret:
            raise InvalidInput("Logging in does not ask them for a code.")
        yourself = actor_id == organiser_id
        if yourself and required_for(services.config, organiser):
            raise InvalidInput(
                "Admins of this network must log in with a code. To use a new phone or app, "
                "set it up instead.",
                field="code",
            )
    if yourself:
        try:
            check_code(session, services, organiser_id, code, now=now, logging_in=False)
        except AuthenticationFailed as refused:
            raise InvalidInput(str(refused), field="code") from refused
    actor = f"organiser:{actor_id}" if actor_id is not None else "cli"
    return _set_code(session, organiser_id, None, None, actor=actor)


def _set_code(
    session: Session, organiser_id: int, secret: str | None, step: int | None, *, actor: str
) -> Organiser:
    """Turn the code on (a secret) or off (None): either way every session ends, since each
    began under the other rule."""
    with transaction(session):
        organiser = existing_organiser(session, organiser_id)
        organiser.totp_secret = secret
        organiser.totp_last_step = step
        organiser.session_version += 1
        audit.record(
            session,
            actor=actor,
            action="organiser.second_step_on" if secret else "organiser.second_step_off",
            target=f"organiser:{organiser_id}",
        )
        return organiser


def _first_lower(text: str) -> str:
    return text[:1].lower() + text[1:]
