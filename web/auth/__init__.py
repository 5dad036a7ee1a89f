"""Organiser log in and log out, and the guards of the panel: logged in, and admins only."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from mailer.domain import second_step
from mailer.domain.access import may_see, names_a_list_thing, owning_list
from mailer.domain.errors import AuthenticationFailed, NotFound
from mailer.domain.models import Organiser, OrganiserRole
from mailer.domain.organisers import (
    MIN_PASSWORD_LENGTH,
    HeldBack,
    TooManyAttempts,
    authenticate,
    end_sessions,
    get_organiser,
    lists_run_by,
    password_link_organiser,
    set_password_from_link,
)
from mailer.domain.rate_limits import client_group
from web.db import get_config, get_services, get_session, row_id
from web.errors import AdminsOnly, NotYourList

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])


class LoginForm(FlaskForm):
    email = EmailField(
        "Email address", validators=[DataRequired("Enter your email address"), Length(max=320)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password"), Length(max=1024)]
    )


#: However active, a panel session lasts no longer than this from the login (the cookie's own
#: lifetime, renewed by each request, is the idle limit).
SESSION_MAX_AGE = timedelta(hours=12)


def signed_in_organiser() -> Organiser | None:
    """The organiser whose session this request carries (also kept as ``g.organiser``), or None.

    A session is forgotten when it names no current organiser (deleted, disabled, or the
    database was reset), when its number is not the organiser's (they logged out, their
    password changed, an admin disabled them) or when it began more than
    :data:`SESSION_MAX_AGE` ago.
    """
    organiser_id = session.get("organiser_id")
    organiser = (
        get_organiser(get_session(), organiser_id) if isinstance(organiser_id, int) else None
    )
    began = session.get("began")
    if (
        organiser is None
        or session.get("version") != organiser.session_version
        or not isinstance(began, int | float)
        or time.time() - began > SESSION_MAX_AGE.total_seconds()
    ):
        if organiser_id is not None:  # (a password awaiting its code is kept)
            session.clear()
        return None
    g.organiser = organiser
    return organiser


def start_session(organiser: Organiser) -> None:
    """A new panel session for an organiser who has just proved who they are: nothing of any
    earlier session is kept."""
    session.clear()
    session["organiser_id"] = organiser.id
    session["version"] = organiser.session_version
    session["began"] = int(time.time())
    session.permanent = True


#: The pages an admin who must use a code, and has none yet, can open: setting it up.
SECOND_STEP_SETUP = frozenset({"panel.second_step_setup"})


def require_login() -> Any:
    """The panel's ``before_request``: without a signed-in organiser, log in, then come back.
    An admin who must log in with a code (``[web] admins_need_second_step``) and has no app set
    up yet sets one up before anything else."""
    organiser = signed_in_organiser()
    if organiser is None:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if (
        second_step.required_for(get_config(), organiser)
        and not organiser.totp_secret
        and request.endpoint not in SECOND_STEP_SETUP
    ):
        return redirect(url_for("panel.second_step_setup"))
    return None


#: Panel pages that span every list (the audit log, deliveries, a person's data everywhere, the
#: organisers and new lists): admins only. A member's name is one for all their lists, so only
#: an admin corrects it.
ADMINS_ONLY = frozenset(
    {
        "panel.list_member_name",
        "panel.audit_log",
        "panel.outbox",
        "panel.people",
        "panel.people_export",
        "panel.people_erase",
        "panel.list_new",
    }
)


#: Query parameters that name a meeting: news for its delegates, a new meeting copied from it.
MEETING_QUERIES = ("meeting", "copy")


def require_list_access() -> None:
    """The panel's second ``before_request``: a plain organiser sees only the lists they run.

    Every part of the address that names a thing (``meeting_id``, ``slug``, ``news_id``,
    ``consultation_id``, ``inbound_id``, ..., and the :data:`MEETING_QUERIES`) is checked against
    the organiser's lists, so a new page is guarded by its address alone. ``g.visible_lists``
    (None: every list) is what list pages filter by.
    """
    organiser = g.organiser
    g.visible_lists = lists_run_by(get_session(), organiser)
    if g.visible_lists is None:
        return
    endpoint = request.endpoint or ""
    if endpoint in ADMINS_ONLY or endpoint.startswith("panel.organiser"):
        raise AdminsOnly()
    named: list[tuple[str, object]] = list((request.view_args or {}).items())
    named += [
        ("meeting_id", request.args.get(query, type=row_id))
        for query in MEETING_QUERIES
        if query in request.args
    ]
    for name, value in named:
        list_id = owning_list(get_session(), name, value)
        if list_id is None and names_a_list_thing(name):
            raise NotFound("There is no such page.")
        if not may_see(list_id, g.visible_lists):
            raise NotYourList()


def admin_required(view: F) -> F:
    """Admin-only panel views (data protection requests); the panel has checked the login."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.organiser.role != OrganiserRole.ADMIN:
            raise AdminsOnly()
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
        ):
            return target
    return url_for("panel.dashboard")


#: How long a client the database has held back is answered at once by this process, before
#: any form, session or database work: a flood of guesses then costs the service less than
#: fetching the login form would. (The database's count decides again after it.)
HOLD_SECONDS = 60
_HELD_BACK_MAX = 10_000


def _held_back() -> dict[str, tuple[float, str]]:
    """This app's clients held back: each until when (``time.monotonic``), and in what words."""
    held: dict[str, tuple[float, str]] = current_app.extensions.setdefault("convene.held_back", {})
    return held


def _hold(client: str, words: str) -> None:
    held = _held_back()
    if len(held) >= _HELD_BACK_MAX:  # a flood from ever-new addresses: start again
        held.clear()
    held[client] = (time.monotonic() + HOLD_SECONDS, words)


def _still_held(client: str) -> str | None:
    """The words for this client if it is held back, else None."""
    held = _held_back()
    if (found := held.get(client)) is None:
        return None
    until, words = found
    if time.monotonic() >= until:
        held.pop(client, None)
        return None
    return words


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    client = client_group(request.remote_addr or "")
    if (words := _still_held(client)) is not None:
        page = render_template("auth/held_back.html", words=words)
        return page, 429, {"Retry-After": str(HOLD_SECONDS)}
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            organiser = authenticate(
                get_session(),
                get_services(),
                email=form.email.data or "",
                password=form.password.data or "",
                client=client,
            )
        except HeldBack as exc:
            _hold(client, str(exc))
            error = str(exc)
        except AuthenticationFailed as exc:
            error = str(exc)
        else:
            if organiser.totp_secret:
                await_code(organiser)
                return redirect(url_for("auth.login_code", next=request.args.get("next")))
            start_session(organiser)
            return redirect(_safe_next(request.args.get("next")))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form, error=error), status


def await_code(organiser: Organiser) -> None:
    """The password was right, and logging in asks this organiser for a code too: the session
    remembers whose code it waits for (and since when), and opens nothing yet."""
    session.clear()
    session["code_for"] = [organiser.id, organiser.session_version, time.time()]


def _awaiting_code() -> Organiser | None:
    """The organiser whose code this session waits for, if their password was given in the last
    :data:`~mailer.domain.second_step.CODE_WITHIN` and nothing has changed since."""
    pending = session.get("code_for")
    if not (isinstance(pending, list) and len(pending) == 3):
        return None
    organiser_id, version, since = pending
    organiser = (
        get_organiser(get_session(), organiser_id) if isinstance(organiser_id, int) else None
    )
    if (
        organiser is None
        or organiser.session_version != version
        or not isinstance(since, int | float)
        or time.time() - since > second_step.CODE_WITHIN.total_seconds()
    ):
        return None
    return organiser


class CodeForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app",
        validators=[DataRequired("Enter the 6-digit code your app shows"), Length(max=20)],
        description="The 6 digits your app shows now for this panel.",
    )


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> Any:
    """The second step of logging in, for an organiser who has turned it on."""
    organiser = _awaiting_code()
    if organiser is None:
        session.pop("code_for", None)
        flash("Log in again: the code is asked for in the 5 minutes after the password.")
        return redirect(url_for("auth.login", next=request.args.get("next")))
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        try:
            organiser = second_step.check_code(
                get_session(),
                get_services(),
                organiser.id,
                form.code.data or "",
                now=get_services().clock(),
            )
        except TooManyAttempts as exc:
            session.clear()
            flash(str(exc))
            return redirect(url_for("auth.login"))
        except AuthenticationFailed as exc:
            error = str(exc)
        else:
            start_session(organiser)
            return redirect(_safe_next(request.args.get("next")))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login_code.html", form=form, error=error), status


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[
            DataRequired("Enter a password"),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=1024,
                message=f"Use at least {MIN_PASSWORD_LENGTH} characters. A few words you will "
                "remember make a good one.",
            ),
        ],
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
    )
    again = PasswordField(
        "The same password again",
        validators=[
            DataRequired("Enter the password again"),
            EqualTo("password", "The two passwords are not the same. Enter them again."),
        ],
    )


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str) -> Any:
    """An invited organiser (or one an admin sent a new link) chooses their password, and is
    logged in. The link works once: setting the password replaces what it was bound to."""
    organiser = password_link_organiser(get_session(), get_services(), token)
    form = SetPasswordForm()
    if form.validate_on_submit():
        organiser = set_password_from_link(
            get_session(), get_services(), token, form.password.data or ""
        )
        if organiser.totp_secret:  # a link by email is no second step: the code still is
            await_code(organiser)
            flash("Your password is set. Enter the code from your app to log in.")
            return redirect(url_for("auth.login_code"))
        start_session(organiser)
        flash("Your password is set, and you are logged in.")
        return redirect(url_for("panel.dashboard"))
    return render_template(
        "auth/set_password.html", form=form, email=organiser.email
    ), 400 if form.errors else 200


@bp.post("/logout")
def logout() -> Any:
    """Log out: every session of this organiser ends, this one and any copy of its cookie."""
    if (organiser := signed_in_organiser()) is not None:
        end_sessions(get_session(), organiser.id)
    session.clear()
    flash("You have logged out.")
    return redirect(url_for("auth.login"))
