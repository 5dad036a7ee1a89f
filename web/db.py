"""One database session per request, closed when the request ends."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import Config
from mailer.db import make_engine, make_sessionmaker
from mailer.domain.services import Services


def init_app(app: Flask, session_factory: sessionmaker[Session] | None) -> None:
    if session_factory is None:
        config: Config = app.extensions["convene.config"]
        session_factory = make_sessionmaker(
            make_engine(config.database_url, echo=config.database.echo)
        )
    app.extensions["convene.sessions"] = session_factory
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["convene.sessions"]()
    return g.db_session


def get_services() -> Services:
    return current_app.extensions["convene.services"]


def get_config() -> Config:
    return current_app.extensions["convene.config"]


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
