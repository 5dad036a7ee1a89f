"""One database session per request, closed when the request ends."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.routing import IntegerConverter

from mailer.config import Config
from mailer.db import make_engine, make_sessionmaker
from mailer.domain.services import Services

#: The largest id a row can have (a signed 64-bit integer, on SQLite and PostgreSQL alike).
LARGEST_ID = 2**63 - 1


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in an address: a number larger than any row's id matches nothing (a 404),
    rather than reaching the database, which cannot take it."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", LARGEST_ID)
        super().__init__(map, *args, **kwargs)


def row_id(text: str) -> int:
    """A query argument that is an id or a page number (``request.args.get(name, type=row_id)``):
    anything else, a number too large for a row included, is as if it were not given."""
    value = int(text)
    if not 0 <= value <= LARGEST_ID:
        raise ValueError(text)
    return value


def init_app(app: Flask, session_factory: sessionmaker[Session] | None) -> None:
    app.url_map.converters["int"] = RowIdConverter
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
