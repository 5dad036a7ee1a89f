"""The audit log: one row per change, written in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from mailer.db import read_transaction
from mailer.domain.models import (
    AuditEntry,
    Consultation,
    MailingList,
    Meeting,
    News,
    Organiser,
    Person,
    utcnow,
)


def record(session: Session, *, actor: str, action: str, target: str = "", **detail: Any) -> None:
    """Write an audit entry in the current transaction, so it commits (or not) with the change.

    ``actor`` is ``organiser:<id>``, ``person:<id>`` or ``system``; never an
    email address, so the log itself stays low on personal data. Nothing
    reads an entry back as an object, so it is a plain INSERT on the
    session's connection (a fifth of the cost of the ORM's add and flush).
    """
    session.connection().execute(
        _INSERT,
        {"actor": actor, "action": action, "target": target, "detail": detail, "at": utcnow()},
    )


_INSERT = insert(AuditEntry)


#: The areas the log can be narrowed to, by the first word of each action.
AREAS = {
    "Lists and members": ("list", "member"),
    "Meetings": ("meeting", "series"),
    "Answers to meetings and waiting lists": ("rsvp", "waitlist"),
    "News": ("news",),
    "Consultations and volunteers": ("consultation", "answer", "volunteer"),
    "Messages handled by organisers": ("triage",),
    "Organisers, logins and API tokens": ("organiser", "api_token"),
    "Data requests": ("person",),
}


def recent(
    session: Session, limit: int = 200, before: int | None = None, area: str | None = None
) -> list[AuditEntry]:
    """The latest entries, newest first; ``before``: only those older than that entry (the next
    page); ``area``: only the actions of one of :data:`AREAS`."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    if area in AREAS:
        query = query.where(
            or_(*(AuditEntry.action.startswith(f"{prefix}.") for prefix in AREAS[area]))
        )
    with read_transaction(session):
        return list(session.scalars(query))


#: What each kind of entry says was done, in the words of the log's "What" column.
ACTIONS = {
    "answer.tag": "tagged an answer",
    "answer.untag": "took a tag off an answer",
    "api_token.create": "created an API token",
    "api_token.revoke": "revoked an API token",
    "consultation.answer": "answered a consultation",
    "consultation.close": "closed a consultation",
    "consultation.create": "wrote a consultation",
    "consultation.send": "sent a consultation",
    "list.configure": "changed a list's settings",
    "list.create": "created a list",
    "meeting.agenda": "wrote the agenda",
    "meeting.attach": "attached a file",
    "meeting.cancel": "cancelled a meeting",
    "meeting.create": "created a meeting",
    "meeting.invite": "sent invitations",
    "meeting.meeting_details": "sent the agenda and details",
    "meeting.meeting_reminder": "sent the reminder",
    "meeting.places": "changed a meeting's places or reply deadline",
    "meeting.publish": "published or unpublished a meeting",
    "meeting.update": "changed a meeting",
    "member.add": "added a member",
    "member.bouncing": "stopped mail to a member whose mail keeps bouncing",
    "member.import": "imported members",
    "member.import.start": "started importing members",
    "member.join": "joined the list",
    "member.join_requested": "asked to join the list",
    "member.leave": "left the list",
    "member.rejoin": "came back to the list",
    "member.remove": "removed a member",
    "member.rename": "changed a member's name",
    "news.cancel": "cancelled news",
    "news.create": "wrote news",
    "news.schedule": "scheduled news",
    "news.send": "sent news",
    "news.test": "sent a test of news",
    "news.update": "changed news",
    "organiser.code_failed": "gave a wrong or used login code",
    "organiser.create": "added an organiser",
    "organiser.disable": "disabled an organiser's account",
    "organiser.enable": "enabled an organiser's account again",
    "organiser.invite": "invited an organiser",
    "organiser.lists": "chose the lists an organiser runs",
    "organiser.login": "logged in",
    "organiser.login_failed": "failed to log in",
    "organiser.logout_everywhere": "logged out everywhere",
    "organiser.notices": "chose when to be emailed about what waits",
    "organiser.password": "changed an organiser's password",
    "organiser.password_link": "sent an organiser a link to set their password",
    "organiser.password_ok": "gave the right password (the code still to give)",
    "organiser.remove": "removed an organiser",
    "organiser.second_step_off": "turned off an organiser's login code",
    "organiser.second_step_on": "set up a login code",
    "person.erase": "erased a person's data",
    "rsvp.promoted": "gave a waiting place to the next in line",
    "rsvp.record": "answered for a meeting",
    "series.create": "created a series of meetings",
    "triage.reply": "replied to a message",
    "triage.resolve": "dealt with a message",
    "volunteer.accept": "accepted a volunteer",
    "volunteer.offer": "offered to volunteer",
    "waitlist.give_place": "gave a waiting person a place",
    "waitlist.move": "moved a waiting person in line",
    "waitlist.offer": "held a place for a waiting person",
    "waitlist.offer_lapsed": "passed on a held place that was not taken up",
    "waitlist.remove": "took a person off a waiting list",
}


@dataclass(frozen=True)
class AuditLine:
    """An entry as the panel shows it: who and what in words, people and things by name."""

    id: int
    at: datetime
    who: str
    what: str
    on: str
    detail: str


def recent_lines(
    session: Session, limit: int = 200, before: int | None = None, area: str | None = None
) -> list[AuditLine]:
    """The latest entries in plain words, newest first (of one of :data:`AREAS`, if given). The
    log stores numbers, not addresses; they are named here, as they are now (someone since
    erased is "someone since erased")."""
    entries = recent(session, limit, before, area)
    people = [f"person:{e.detail['person']}" for e in entries if "person" in e.detail]
    names = _names(session, [e.actor for e in entries] + [e.target for e in entries] + people)
    return [
        AuditLine(
            e.id,
            e.at,
            names.get(e.actor, _fallback(e.actor)),
            ACTIONS.get(e.action, e.action.replace(".", " ").replace("_", " ")),
            names.get(e.target, _fallback(e.target)),
            _detail_words(e.detail, names),
        )
        for e in entries
    ]


_KINDS: dict[str, tuple[Any, Callable[[Any], str]]] = {
    "organiser": (Organiser, lambda o: o.email),
    "person": (Person, lambda p: p.email),
    "list": (MailingList, lambda m: m.name),
    "meeting": (Meeting, lambda m: m.title),
    "news": (News, lambda n: f"news “{n.subject}”"),
    "consultation": (Consultation, lambda c: c.title),
}


def _names(session: Session, references: list[str]) -> dict[str, str]:
    """``kind:id`` references to what they name, one query per kind."""
    wanted: dict[str, set[int]] = {}
    for reference in references:
        kind, _, number = reference.partition(":")
        if kind in _KINDS and number.isdigit():
            wanted.setdefault(kind, set()).add(int(number))
    names: dict[str, str] = {"system": "Convene", "cli": "an organiser (command line)"}
    with read_transaction(session):
        for kind, ids in wanted.items():
            model, name_of = _KINDS[kind]
            for row in session.scalars(select(model).where(model.id.in_(ids))):
                names[f"{kind}:{row.id}"] = name_of(row)
    return names


def _fallback(reference: str) -> str:
    kind, _, number = reference.partition(":")
    if kind == "person" and number.isdigit():
        return "someone since erased"
    if kind in _KINDS:
        return f"a {kind} since deleted"
    return reference


def _detail_words(detail: dict[str, Any], names: dict[str, str]) -> str:
    """The entry's details as short phrases ("recipients: 12"), people by name."""
    shown = []
    for key, value in detail.items():
        if key == "list" or value in (None, "", [], {}):
            continue  # named in the On column, or nothing to say
        if key == "person":
            reference = f"person:{value}"
            shown.append(f"member: {names.get(reference, _fallback(reference))}")
            continue
        if isinstance(value, list):
            value = ", ".join(str(v).replace("_", " ") for v in value)
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        shown.append(f"{key.replace('_', ' ')}: {str(value).replace('_', ' ')}")
    return "; ".join(shown)
