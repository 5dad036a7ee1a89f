"""Limits on what anyone can make the service do without signing in: the public page's "Email me
my links", and the replies forged mail could make us send to strangers.

Each request is a row under an opaque key, counted over a window; the
database is the one place every web worker shares, so a limit holds across
all of them. The key is a keyed digest (:meth:`LinkSigner.pseudonym`) of
what is limited: no client address or email address is stored.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mailer.db import rows_changed, transaction
from mailer.domain.models import LimitedRequest, utcnow

#: How long requests are kept: longer than any window they are counted over.
KEPT_FOR = timedelta(days=1)


def client_group(address: str) -> str:
    """The clients one limit counts together: an IPv4 address alone, an IPv6 address by its
    /64 (the block one subscriber or machine is given, so that stepping through it gains
    nothing); anything else as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def within_limit(
    session: Session,
    key: str,
    *,
    limit: int,
    within: timedelta,
    now: datetime | None = None,
    count_refused: bool = True,
) -> bool:
    """Within the caller's transaction: whether one more request under ``key`` is within ``limit``
    requests in the last ``within``, counting it. A request over the limit counts too unless
    ``count_refused`` is False, so that by default trying harder never helps."""
    now = now or utcnow()
    allowed = not limit_reached(session, key, limit=limit, within=within, now=now)
    if allowed or count_refused:
        count_request(session, key, now=now)
    return allowed


def limit_reached(
    session: Session, key: str, *, limit: int, within: timedelta, now: datetime | None = None
) -> bool:
    """Within the caller's transaction: whether ``limit`` requests under ``key`` were counted in
    the last ``within`` (counting nothing). The caller may then count the request with
    :func:`count_request` in the same transaction, and no other request under ``key`` is counted
    between the two.

    The count stops at the limit, so that a flood of requests does not make each one slower.
    """
    now = now or utcnow()
    if session.get_bind().dialect.name == "postgresql":
        # One count at a time per key (SQLite has one writer already): forty requests at once
        # must not all read the same count and all pass.
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
    recent = (
        select(LimitedRequest.id)
        .where(LimitedRequest.key == key, LimitedRequest.at > now - within)
        .limit(max(limit, 0))
        .subquery()
    )
    return (session.scalar(select(func.count()).select_from(recent)) or 0) >= limit


def count_request(session: Session, key: str, *, now: datetime | None = None) -> None:
    """Within the caller's transaction: one more request under ``key``."""
    session.add(LimitedRequest(key=key, at=now or utcnow()))


def forget_requests(session: Session, key: str) -> None:
    """Within the caller's transaction: forget every request under ``key`` (a login that
    succeeded forgets that client's attempts)."""
    session.execute(delete(LimitedRequest).where(LimitedRequest.key == key))


def forget_old_requests(session: Session, now: datetime | None = None) -> int:
    """Delete requests older than :data:`KEPT_FOR`; returns how many."""
    now = now or utcnow()
    with transaction(session):
        return rows_changed(
            session, delete(LimitedRequest).where(LimitedRequest.at < now - KEPT_FOR)
        )
