"""The worker's inbound step: parse a stored message, understand it, call the domain."""

from __future__ import annotations

import logging
import re
import time
import traceback
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import Config
from mailer.db import optimistic, savepoint, unit_of_work
from mailer.domain.bounces import record_bounce_for_message
from mailer.domain.consultations import claim_for_reply, record_answer
from mailer.domain.errors import DomainError, NoUpcomingMeeting
from mailer.domain.lists import leave_by_token
from mailer.domain.membership import (
    SenderNotAllowed,
    check_sender,
    confirm_join,
    request_join,
    request_leave,
    send_help,
)
from mailer.domain.models import InboundStatus
from mailer.domain.outbox import ReplyThread, message_id_for_verp_token
from mailer.domain.people import look_up_people
from mailer.domain.rsvp import (
    decline_by_email,
    lock_answers_of,
    record_rsvp_from_calendar,
    register_by_email,
)
from mailer.domain.services import Services
from mailer.domain.triage import (
    acknowledge_for_triage,
    fail_inbound,
    finish_inbound,
    handled_copy,
    look_up_handled_copies,
    note_handled,
    stored_messages,
)
from mailer.inbound.calendar import CalendarReply, read_calendar_reply
from mailer.inbound.dsn import read_dsn
from mailer.inbound.intents import Intent, classify
from mailer.mail.read import ParsedMessage, parse_message, read_email
from mailer.mail.addresses import LocalRecipient, NotOurDomain, split_recipient

log = logging.getLogger(__name__)


def process_inbound(session_factory: sessionmaker[Session], services: Services, inbound_id: int) -> str:
    """Handle one claimed inbound message; returns the outcome recorded for it (see :func:`process_inbound_batch`)."""
    return process_inbound_batch(session_factory, services, [inbound_id])[inbound_id]


def process_inbound_batch(session_factory: sessionmaker[Session], services: Services, inbound_ids: list[int],
                          *, hold_seconds: float | None = None) -> dict[int, str]:
    """Handle claimed inbound messages; returns the outcome recorded for each, by id.

    The messages are read in one query and parsed first, outside any write
    lock. Then as many as fit in ``hold_seconds`` (default: ``[worker]
    transaction_ms``, which bounds how long the SMTP edge and the web wait
    behind the worker) are handled in one unit of work (one commit): what a
    message does and the record of its outcome are committed together, so a
    crash or a lost database leaves messages to be handled again later, never
    half done or done twice.

    Most messages go through without error, so each is first handled
    without a SAVEPOINT of its own (a SAVEPOINT and its release cost two
    statements and the ORM's bookkeeping), and writes that nothing in the
    unit reads back wait for its commit (:func:`mailer.db.write_at_commit`).
    If one fails part way, the
    unit is undone and done again with that message in a SAVEPOINT, where
    an error undoes only that message. Never raises for a bad message:
    anything unexpected is recorded on the row and retried later, then
    parked as failed for an organiser. If a unit of work fails as a whole
    (its commit, the connection, a deadlock), its messages are handled again
    one by one, so one cannot take the others down with it.
    """
    if hold_seconds is None:
        hold_seconds = services.config.worker.transaction_ms / 1000
    outcomes: dict[int, str] = {}
    with session_factory() as session:
        stored = stored_messages(session, inbound_ids)
    pending: deque[_Pending] = deque()
    for inbound_id in inbound_ids:
        if inbound_id not in stored:
            outcomes[inbound_id] = "message vanished"
            continue
        try:
            message: _Message | Exception = _read(*stored[inbound_id], services.config)
        except Exception as exc:  # recorded like any other processing error, in the unit of work
            message = exc
        pending.append(_Pending(inbound_id, message))
    while pending:
        # A new session for each unit of work: nothing read before its transaction began is trusted.
        with session_factory() as session:
            chunk: list[_Pending] = []
            try:
                with unit_of_work(session):
                    readable = [p.message.parsed for p in pending if isinstance(p.message, _Message)]
                    look_up_handled_copies(session, [parsed.message_id for parsed in readable])
                    senders = look_up_people(session, [parsed.from_email for parsed in readable if parsed.from_email])
                    lock_answers_of(session, [person.id for person in senders])  # PostgreSQL: see _apply
                    deadline = time.monotonic() + hold_seconds
                    while pending and not (chunk and (chunk[0].alone or pending[0].alone
                                                      or time.monotonic() > deadline)):
                        item = pending.popleft()
                        chunk.append(item)
                        outcomes[item.inbound_id] = _handle(session, services, item)
            except _Careful as careful:  # a message failed part way: undo the unit, redo that message carefully
                session.rollback()
                pending.extendleft(item._replace(careful=True) if item.inbound_id == careful.inbound_id else item
                                   for item in reversed(chunk))
                continue
            except Exception as exc:  # the unit of work failed as a whole: none of it was committed
                session.rollback()
                if not chunk:
                    raise  # the database failed before any message: they stay leased, for the next pass
                if not chunk[0].alone:  # each of its messages gets a unit of work of its own
                    pending.extendleft(item._replace(alone=True) for item in reversed(chunk))
                    continue
                outcomes[chunk[0].inbound_id] = _failed(session, chunk[0].inbound_id, exc)
    return outcomes


class _Pending(NamedTuple):
    """A claimed message waiting for a unit of work: read and parsed, or what stopped it being read."""

    inbound_id: int
    message: _Message | Exception
    #: Handled in a SAVEPOINT of its own (after it failed part way without one).
    careful: bool = False
    #: Handled in a unit of work of its own (after a shared one failed as a whole).
    alone: bool = False


def _handle(session: Session, services: Services, item: _Pending) -> str:
    """Within the unit of work: one message; its error, if any, recorded instead.

    First without a SAVEPOINT: any error, or an operation that failed part
    way, raises :class:`_Careful` to undo the unit. Carefully, in a SAVEPOINT,
    an error undoes only this message and is recorded on its row; but an
    error from the database itself in a unit of work shared with other
    messages (on PostgreSQL, a deadlock with another worker's unit, whose
    meetings it locked in another order) fails the whole unit instead, so
    that each of its messages is handled again in a unit of its own.
    """
    inbound_id, message = item.inbound_id, item.message
    if isinstance(message, Exception):
        return _failed(session, inbound_id, message)
    if not (item.careful or item.alone):
        try:
            with optimistic(session) as attempt:
                result = _finish(session, services, inbound_id, message)
        except Exception as exc:
            raise _Careful(inbound_id) from exc
        if attempt.failed:
            raise _Careful(inbound_id)
    else:
        try:
            result = _finish_carefully(session, services, inbound_id, message)
        except DBAPIError as exc:
            if not item.alone:
                raise
            return _failed(session, inbound_id, exc)
        except Exception as exc:
            return _failed(session, inbound_id, exc)
    note_handled(session, message.parsed.message_id, inbound_id, result.status)
    return result.outcome


def _finish_carefully(session: Session, services: Services, inbound_id: int, message: _Message) -> Result:
    """:func:`_finish` in a SAVEPOINT, its operations first without SAVEPOINTs of their own."""
    try:
        with savepoint(session), optimistic(session) as attempt:
            result = _finish(session, services, inbound_id, message)
            if attempt.failed:
                raise _Redo
        return result
    except _Redo:  # an operation failed part way: undone, and done again with a SAVEPOINT each
        with savepoint(session):
            return _finish(session, services, inbound_id, message)


def _failed(session: Session, inbound_id: int, exc: Exception) -> str:
    """Record an error on the message's row: it is retried later, then shown to organisers."""
    log.error("processing inbound message %s failed", inbound_id, exc_info=exc)
    fail_inbound(session, inbound_id, "".join(traceback.format_exception(exc)))
    return f"error: {exc}"


class _Redo(Exception):
    """Roll the message's SAVEPOINT back and handle it again, carefully."""


class _Careful(Exception):
    """Undo the unit of work: a message handled without a SAVEPOINT failed part way."""

    def __init__(self, inbound_id: int) -> None:
        super().__init__(inbound_id)
        self.inbound_id = inbound_id


def _finish(session: Session, services: Services, inbound_id: int, message: _Message) -> Result:
    """What the message does, and the record of its outcome."""
    result = _process(session, services, inbound_id, message)
    finish_inbound(session, inbound_id, status=result.status, outcome=result.outcome,
                   message_id=result.message_id, intent=result.intent, list_slug=result.list_slug)
    return result


@dataclass(frozen=True)
class _Message:
    """A stored message as read before any database work: parsed, routed, its calendar reply if any,
    and what its text asks for if it was written to a list address."""

    raw: bytes
    parsed: ParsedMessage
    route: LocalRecipient | None
    calendar: CalendarReply | None
    intent: Intent | None


def _read(raw: bytes, mail_from: str, rcpt_to: list[str], config: Config) -> _Message:
    email = read_email(raw)
    routes = []
    for address in rcpt_to:
        try:
            routes.append(split_recipient(address, config.mail.domain, config.mail.bounce_local_part))
        except (NotOurDomain, ValueError):
            continue
    route = next((r for r in routes if r.list_slug), routes[0] if routes else None)
    calendar = read_calendar_reply(email, config.mail.domain) if route and route.kind != "bounce" else None
    parsed = parse_message(email, mail_from, config.inbound.authserv_id, config.inbound.reply_language_codes)
    intent = classify(parsed.new_text, parsed.subject) if route and route.kind == "list" else None
    return _Message(raw, parsed, route, calendar, intent)


@dataclass
class Result:
    status: InboundStatus
    outcome: str
    intent: str = ""
    message_id: str | None = None
    list_slug: str | None = None


_COMMAND = re.compile(r"^\s*(?:re:\s*|aw:\s*|fw:\s*|fwd:\s*)*(join|subscribe|leave|unsubscribe|help|confirm)\b\s*(\S*)",
                      re.I)


def _bounce(session: Session, services: Services, verp_token: str | None, raw: bytes) -> str:
    if not verp_token:
        return "delivery report without a VERP token: nothing to match"
    status = read_dsn(raw)
    outbox_id = record_bounce_for_message(
        session, message_id_for_verp_token(verp_token, services.config.mail.domain), kind=status.kind,
        status=status.status, diagnostic=status.diagnostic, threshold=services.config.delivery.bounce_threshold)
    if outbox_id is None:
        return "delivery report for an unknown message"
    return f"{status.kind.value} bounce recorded for outbox {outbox_id} ({status.status or 'no status'})"


def _process(session: Session, services: Services, inbound_id: int, message: _Message) -> Result:
    config = services.config
    parsed, route = message.parsed, message.route
    mid = parsed.message_id or None
    if route is None:
        return Result(InboundStatus.IGNORED, "no local recipient", message_id=mid)
    slug = route.list_slug
    if route.kind == "bounce":
        return Result(InboundStatus.DONE, _bounce(session, services, route.detail, message.raw), "bounce", mid)
    earlier = handled_copy(session, inbound_id, parsed.message_id)
    if earlier is not None:
        return Result(InboundStatus.IGNORED, f"duplicate of inbound message {earlier}: not processed again",
                      "duplicate", mid, slug)
    if route.kind == "leave" and route.detail:
        # forum-leave+<token>@: the List-Unsubscribe mailto. The token, not the From:, proves who asks.
        try:
            state = leave_by_token(session, services, route.detail, source="email")
        except DomainError as exc:
            return Result(InboundStatus.TRIAGE, f"unsubscribe by email refused: {exc}", "leave", mid, slug)
        return Result(InboundStatus.DONE, f"unsubscribed from {state.list_slug} by emailed link", "leave", mid, slug)
    if message.calendar is not None:  # before the automated-mail check: calendars may mark their replies so
        return _calendar(session, services, message.calendar, parsed, slug)
    if parsed.automated_reason:
        return Result(InboundStatus.IGNORED, f"not answered: {parsed.automated_reason}", "automated", mid, slug)
    if parsed.from_email is None or slug is None:
        return Result(InboundStatus.TRIAGE, "no usable sender or list: needs an organiser", "unclear", mid, slug)
    if parsed.from_email.lower().endswith("@" + config.mail.domain.lower()):
        return Result(InboundStatus.IGNORED, "not answered: sent from one of our own addresses", "automated", mid, slug)

    thread = ReplyThread(message_id=parsed.message_id, references=parsed.references, subject=parsed.subject)
    try:
        claim = claim_for_reply(session, services, token=route.detail if route.kind == "answer" else None,
                                thread_ids=[parsed.in_reply_to, *parsed.references.split()])
    except DomainError as exc:
        return Result(InboundStatus.TRIAGE, f"reply address refused: {exc}", "answer", mid, slug)
    if claim is not None:
        return _answer(session, services, claim[0], parsed, thread, inbound_id, slug)
    if route.kind == "answer":
        return Result(InboundStatus.TRIAGE, "answer address without a consultation", "answer", mid, slug)
    who = {"list_slug": slug, "email": parsed.from_email, "display_name": parsed.from_name, "thread": thread}
    try:
        check_sender(session, services, **who)
        return _dispatch(session, services, route.kind, parsed, who, message.intent)
    except SenderNotAllowed as exc:
        return Result(InboundStatus.IGNORED, f"refused: {exc}", "refused", mid, slug)
    except NoUpcomingMeeting as exc:
        return Result(InboundStatus.DONE, str(exc), "register", mid, slug)


def _answer(session: Session, services: Services, consultation_id: int, parsed: ParsedMessage,
            thread: ReplyThread, inbound_id: int, slug: str | None) -> Result:
    mid = parsed.message_id or None
    try:
        outcome = record_answer(session, services, consultation_id=consultation_id, email=parsed.from_email or "",
                                display_name=parsed.from_name, text=parsed.new_text, thread=thread,
                                inbound_id=inbound_id)
    except DomainError as exc:
        return Result(InboundStatus.TRIAGE, f"answer not stored: {exc}", "answer", mid, slug)
    reply = "" if outcome.replied else " (acknowledgement rate-limited)"
    return Result(InboundStatus.DONE if outcome.stored else InboundStatus.TRIAGE, outcome.summary + reply,
                  "answer", mid, slug)


def _calendar(session: Session, services: Services, reply: CalendarReply, parsed: ParsedMessage,
              slug: str | None) -> Result:
    mid = parsed.message_id or None
    answer = reply.response
    if answer is None:
        return Result(InboundStatus.TRIAGE, f"calendar reply {reply.partstat or 'without PARTSTAT'}: "
                      "left for an organiser", "calendar", mid, slug)
    if parsed.from_email and parsed.from_email.lower() != reply.attendee.lower():
        return Result(InboundStatus.TRIAGE, "calendar reply for a different attendee than the sender",
                      "calendar", mid, slug)
    try:
        outcome = record_rsvp_from_calendar(session, services, meeting_id=reply.meeting_id,
                                            attendee=reply.attendee, response=answer[0])
    except DomainError as exc:
        return Result(InboundStatus.DONE, f"calendar {reply.partstat.lower()} not recorded: {exc}", "calendar",
                      mid, slug)
    verb = "recorded" if outcome.changed else "unchanged"
    return Result(InboundStatus.DONE, f"calendar {reply.partstat.lower()} for meeting {reply.meeting_id}: {verb}",
                  "calendar", mid, slug)


def _dispatch(session: Session, services: Services, kind: str, parsed: ParsedMessage, who: dict,  # type: ignore[type-arg]
              intent: Intent | None) -> Result:
    mid, slug = parsed.message_id or None, who["list_slug"]
    if kind == "request":
        command = _COMMAND.match(parsed.subject) or _COMMAND.match(parsed.new_text)
        kind = {"join": "join", "subscribe": "join", "leave": "leave", "unsubscribe": "leave",
                "help": "help", "confirm": "confirm"}[command.group(1).lower()] if command else "help"
        if kind == "confirm":
            token = command.group(2) if command else ""
            try:
                state = confirm_join(session, services, token, source="reply")
            except DomainError as exc:
                send_help(session, services, reason=f"We could not confirm: {exc}", **who)
                return Result(InboundStatus.DONE, f"confirmation refused: {exc}", "confirm", mid, slug)
            return Result(InboundStatus.DONE, f"join confirmed by reply ({state.list_name})", "confirm", mid, slug)
        if kind == "help":
            replied = send_help(session, services, **who)
            return Result(InboundStatus.DONE, "help sent" if replied else "help not sent (rate-limited)", "help",
                          mid, slug)
    if kind == "join":
        outcome = request_join(session, services, authenticated=parsed.authenticated, **who)
        return Result(InboundStatus.DONE, outcome.summary, "join", mid, slug)
    if kind == "leave":
        outcome = request_leave(session, services, **who)
        return Result(InboundStatus.DONE, outcome.summary, "leave", mid, slug)
    intent = intent or classify(parsed.new_text, parsed.subject)
    if intent.kind == "register":
        result = register_by_email(session, services, mode=intent.mode, **who)
        return Result(InboundStatus.DONE, result.summary, "register", mid, slug)
    if intent.kind == "decline":
        result = decline_by_email(session, services, **who)
        return Result(InboundStatus.DONE, result.summary, "decline", mid, slug)
    if intent.kind == "leave":
        outcome = request_leave(session, services, **who)
        return Result(InboundStatus.DONE, outcome.summary, "leave", mid, slug)
    reason = "not a request the service recognises"
    replied = acknowledge_for_triage(session, services, reason=reason, **who)
    return Result(InboundStatus.TRIAGE, f"triage: {reason}" + ("" if replied else " (reply rate-limited)"),
                  "unclear", mid, slug)
