"""Bearer tokens for the read-only JSON API. The token is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailer.db import transaction
from mailer.domain import audit
from mailer.domain.errors import AuthenticationFailed, InvalidInput, NotFound
from mailer.domain.models import ApiToken, utcnow

PREFIX = "cvn_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, *, name: str, actor: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("Name the token after what will use it, e.g. 'website'.", field="name")
    token = PREFIX + secrets.token_urlsafe(32)
    with transaction(session):
        row = ApiToken(name=name[:100], token_hash=_hash(token))
        session.add(row)
        session.flush()
        audit.record(
            session, actor=actor, action="api_token.create", target=f"api_token:{row.id}", name=name
        )
    return token


def revoke_token(session: Session, *, name: str, actor: str) -> int:
    with transaction(session):
        ids = session.scalars(
            select(ApiToken.id).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
        ).all()
        if not ids:
            raise NotFound(f"No active token is called {name!r}.")
        session.execute(update(ApiToken).where(ApiToken.id.in_(ids)).values(revoked_at=utcnow()))
        audit.record(session, actor=actor, action="api_token.revoke", target=name, count=len(ids))
        return len(ids)


def check_token(session: Session, token: str) -> ApiToken:
    """The active token, or AuthenticationFailed. Compares hashes, so timing reveals nothing
    useful."""
    if not token.startswith(PREFIX):
        raise AuthenticationFailed("invalid token")
    with transaction(session):
        row = session.scalar(
            select(ApiToken).where(
                ApiToken.token_hash == _hash(token), ApiToken.revoked_at.is_(None)
            )
        )
        if row is None:
            raise AuthenticationFailed("invalid token")
        row.last_used_at = utcnow()
        return row
