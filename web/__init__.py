"""The web app: organisers' panel, public signed-link pages, and a JSON API."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from flask import Flask, Request, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.middleware.proxy_fix import ProxyFix

from mailer.config import Config, effective_secret_key, load_config
from mailer.domain.health import figures, service_health
from mailer.domain.services import Services, build_services
from mailer.rendering import TEMPLATES_DIR, add_filters
from web.metrics import prometheus_text

csrf = CSRFProtect()


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, opened only when the request brings the cookie.

    Links from emails arrive with no cookie and must leave none (a forwarded
    link shares nothing): such a request gets an empty session at once,
    without building the signing serializer on every public page. With a
    cookie it is Flask's own session, verified as always.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def create_app(
    config: Config | None = None,
    *,
    session_factory: sessionmaker[Session] | None = None,
    services: Services | None = None,
) -> Flask:
    """Build the Flask app for one configuration.

    Tests pass their own ``session_factory``; otherwise one is made from
    ``config.database_url``.
    """
    config = config or load_config()
    app = Flask(__name__, template_folder=str(TEMPLATES_DIR / "web"), static_folder="static")
    app.config.update(
        SECRET_KEY=effective_secret_key(config),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.web.secure_cookies,
        SESSION_COOKIE_NAME="convene_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=12 * 3600,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )
    app.session_interface = CookieSessionInterface()
    if config.web.trusted_proxies > 0:  # the client is who the proxies say, for per-client limits
        n = config.web.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    app.extensions["convene.config"] = config
    app.extensions["convene.services"] = services or build_services(config)

    from web import db, errors

    db.init_app(app, session_factory)
    csrf.init_app(app)
    # GOV.UK Design System components (govuk-frontend-jinja), imported as
    # "govuk_frontend_jinja/...".
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(TEMPLATES_DIR / "web")),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    app.jinja_env.filters["govuk_select_item"] = lambda choice: {
        "value": choice[0],
        "text": choice[1],
        "selected": choice[2],
    }
    app.jinja_env.filters["govuk_choice_item"] = lambda choice: {  # a radio or a checkbox
        "value": choice[0],
        "text": choice[1],
        "checked": choice[2],
    }
    add_filters(app.jinja_env)
    app.jinja_env.globals["service_name"] = config.service.name
    app.jinja_env.globals["dev_mailbox_enabled"] = config.delivery.backend == "maildir"

    from web.api import bp as api_bp
    from web.auth import bp as auth_bp
    from web.panel import bp as panel_bp
    from web.public import bp as public_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(panel_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(api_bp)
    errors.init_app(app)

    hsts = (
        f"max-age={config.web.hsts_seconds}"
        if config.service.base_url.startswith("https://") and config.web.hsts_seconds > 0
        else ""
    )

    @app.after_request
    def _security_headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.endpoint != "static":  # pages behind links and logins are nobody else's
            response.headers.setdefault("Cache-Control", "no-store")
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", hsts)
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; style-src 'self'; img-src 'self' data:; "
            "form-action 'self'; frame-ancestors 'none'",
        )
        return response

    @app.get("/healthz")
    def healthz() -> Any:
        """For load balancers and monitoring: 200 when the database answers and a worker was
        seen within ``[web] worker_silence_seconds``, 503 otherwise, saying which."""
        try:
            health = service_health(
                db.get_session(),
                worker_silence=timedelta(seconds=config.web.worker_silence_seconds),
            )
        except SQLAlchemyError:
            return {"status": "unhealthy", "reason": "the database does not answer"}, 503
        body = {
            "status": "ok" if health.ok else "unhealthy",
            "reason": health.reason,
            "worker_seen_seconds_ago": health.worker_seen_seconds_ago,
        }
        return body, 200 if health.ok else 503

    @app.get("/metrics")
    def metrics() -> Any:
        """The figures a Prometheus server scrapes (counts and ages, nothing personal): from
        this machine, or with ``[web] metrics_token`` as a bearer token."""
        token = config.web.metrics_token
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        local = request.remote_addr in ("127.0.0.1", "::1")
        if not local and not (token and hmac.compare_digest(given.encode(), token.encode())):
            return "Metrics are for this machine, or a request with the metrics token.\n", 403
        body, content_type = prometheus_text(figures(db.get_session()))
        return body, 200, {"Content-Type": content_type}

    return app
