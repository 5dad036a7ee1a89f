"""The worker's inbound step: parse a stored message, understand it, call the domain."""

from __future__ import annotations

import logging
import traceback

from sqlalchemy.orm import Session, sessionmaker

from mailer.domain.bounces import record_bounce_for_message
from mailer.domain.errors import DomainError, NoUpcomingMeeting
from mailer.domain.lists import leave_by_token
from mailer.domain.models import InboundStatus
from mailer.domain.outbox import ReplyThread, message_id_for_verp_token
from mailer.domain.rsvp import decline_by_email, register_by_email
from mailer.domain.services import Services
from mailer.domain.triage import acknowledge_for_triage, fail_inbound, finish_inbound, load_inbound
from mailer.inbound.dsn import read_dsn
from mailer.inbound.intents import classify
from mailer.inbound.parse import parse_message
from mailer.inbound.routing import NotOurDomain, split_recipient

log = logging.getLogger(__name__)


def process_inbound(session_factory: sessionmaker[Session], services: Services, inbound_id: int) -> str:
    """Handle one claimed inbound message; returns the outcome recorded for it.

    Never raises for a bad message: anything unexpected is recorded on the
    row and retried later, then parked as failed for an organiser.
    """
    with session_factory() as session:
        try:
            status, outcome, message_id = _process(session, services, inbound_id)
        except Exception as exc:  # the message stays, with the error, for a retry or an organiser
            log.exception("processing inbound message %s failed", inbound_id)
            session.rollback()
            fail_inbound(session, inbound_id, "".join(traceback.format_exception(exc)))
            return f"error: {exc}"
        finish_inbound(session, inbound_id, status=status, outcome=outcome, message_id=message_id)
        return outcome


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


def _process(session: Session, services: Services, inbound_id: int) -> tuple[InboundStatus, str, str | None]:
    row = load_inbound(session, inbound_id)
    if row is None:
        return InboundStatus.IGNORED, "message vanished", None
    config = services.config
    parsed = parse_message(row.raw, row.mail_from)
    routes = []
    for address in row.rcpt_to:
        try:
            routes.append(split_recipient(address, config.mail.domain, config.mail.bounce_local_part))
        except (NotOurDomain, ValueError):
            continue
    route = next((r for r in routes if r.list_slug), routes[0] if routes else None)
    if route is None:
        return InboundStatus.IGNORED, "no local recipient", parsed.message_id
    if route.kind == "bounce":
        return InboundStatus.DONE, _bounce(session, services, route.detail, row.raw), parsed.message_id
    if route.kind == "leave" and route.detail:
        # forum-leave+<token>@: the List-Unsubscribe mailto. The token, not the From:, proves who asks.
        try:
            state = leave_by_token(session, services, route.detail, source="email")
        except DomainError as exc:
            return InboundStatus.TRIAGE, f"unsubscribe by email refused: {exc}", parsed.message_id
        return InboundStatus.DONE, f"unsubscribed from {state.list_slug} by emailed link", parsed.message_id
    if parsed.automated_reason:
        return InboundStatus.IGNORED, f"not answered: {parsed.automated_reason}", parsed.message_id
    if parsed.from_email is None or route.list_slug is None:
        return InboundStatus.TRIAGE, "no usable sender or list: needs an organiser", parsed.message_id
    if parsed.from_email.lower() == services.list_address(route.list_slug).lower():
        return InboundStatus.IGNORED, "not answered: sent from our own address", parsed.message_id

    thread = ReplyThread(message_id=parsed.message_id, references=parsed.references, subject=parsed.subject)
    sender = {"list_slug": route.list_slug, "email": parsed.from_email, "display_name": parsed.from_name,
              "thread": thread}
    intent = classify(parsed.new_text, parsed.subject)
    try:
        if route.kind == "list" and intent.kind == "register":
            result = register_by_email(session, services, mode=intent.mode, **sender)
            return InboundStatus.DONE, result.summary, parsed.message_id
        if route.kind == "list" and intent.kind == "decline":
            result = decline_by_email(session, services, **sender)
            return InboundStatus.DONE, result.summary, parsed.message_id
    except NoUpcomingMeeting as exc:
        return InboundStatus.DONE, f"{intent.kind}: {exc}", parsed.message_id
    except DomainError as exc:
        reason = str(exc)
    else:
        reason = {
            "leave": "asked to leave the list; an organiser will confirm",
            "unclear": "not a request the service recognises",
            "register": f"a request sent to the {route.kind} address",
            "decline": f"a request sent to the {route.kind} address",
        }[intent.kind]
    replied = acknowledge_for_triage(session, services, reason=reason, **sender)
    return InboundStatus.TRIAGE, f"triage: {reason}" + ("" if replied else " (reply rate-limited)"), parsed.message_id
