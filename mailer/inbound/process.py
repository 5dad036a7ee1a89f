"""The worker's inbound step: parse a stored message, understand it, call the domain.

One way to handle a message: read and parsed first, outside any
transaction; then handled in a SAVEPOINT of its own inside a short batch
transaction, with the record of its outcome in the same SAVEPOINT. What a
message did and the record that it was handled therefore commit together,
so a crash at any point leaves it to be handled again, never half done or
done twice; and an error in one message undoes that message only.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from mailer.commands import COMMANDS, CommandRequest, EmailCommand, command_in
from mailer.config import Config
from mailer.domain.bounces import record_bounce_for_message
from mailer.domain.consultations import claim_for_reply, record_answer
from mailer.domain.errors import DomainError
from mailer.domain.links import AnswerClaim
from mailer.domain.lists import leave_by_token
from mailer.domain.meetings import calendar_target
from mailer.domain.membership import SenderNotAllowed, check_sender
from mailer.domain.models import AttendanceMode, InboundIntent, InboundStatus
from mailer.domain.outbox import ReplyThread, message_id_for_verp_token
from mailer.domain.queue import defer_inbound, earlier_mail_unfinished
from mailer.domain.rsvp import ask_owner_first, record_rsvp_from_calendar
from mailer.domain.services import Services
from mailer.domain.threads import (
    AnsweredMessage,
    answered_messages,
    answers_own_message,
    first_answered,
    our_ids,
    thread_ids,
)
from mailer.domain.triage import (
    InboundOutcome,
    StoredMessage,
    WhatWasRead,
    acknowledge_for_triage,
    fail_inbound,
    finish_inbound,
    forgotten_message_id,
    handled_copy,
    stored_messages,
)
from mailer.inbound.calendar import CalendarReply, read_calendar_reply
from mailer.inbound.dsn import read_dsn
from mailer.inbound.intents import Intent, IntentKind, classify
from mailer.mail.addresses import LocalRecipient, NotOurDomain, same_mailbox, split_recipient
from mailer.mail.read import (
    ParsedMessage,
    clean_subject,
    html_to_text,
    parse_message,
    read_email,
)

log = logging.getLogger(__name__)


def process_inbound(
    session_factory: sessionmaker[Session], services: Services, inbound_id: int
) -> InboundOutcome:
    """Handle one claimed inbound message; returns its outcome (see
    :func:`process_inbound_batch`)."""
    return process_inbound_batch(session_factory, services, [inbound_id])[inbound_id]


def process_inbound_batch(
    session_factory: sessionmaker[Session], services: Services, inbound_ids: list[int]
) -> dict[int, InboundOutcome]:
    """Handle claimed inbound messages, oldest first; returns the outcome recorded for each, by id.

    ``[worker] messages_per_transaction`` of them share one transaction, each
    in its own SAVEPOINT. A message that fails unexpectedly is recorded as an
    error on its row (retried later, then parked for an organiser); a request
    a rule refuses is an ordinary outcome. If the shared transaction fails as
    a whole (the database went away, or on PostgreSQL a deadlock with another
    worker), each of its messages is handled again in a transaction of its
    own, so that one cannot take the others down with it.
    """
    with session_factory() as session:
        stored = stored_messages(session, inbound_ids)
        emails = {i: read_email(m.raw) for i, m in stored.items()}
        threads = {i: _our_thread_ids(e, services.config) for i, e in emails.items()}
        sent = answered_messages(session, sorted({i for ids in threads.values() for i in ids}))
    outcomes: dict[int, InboundOutcome] = {}
    messages: list[tuple[int, _Message | Exception]] = []
    for inbound_id in inbound_ids:
        if inbound_id not in stored:
            outcomes[inbound_id] = InboundOutcome(InboundStatus.IGNORED, None, "message vanished")
            continue
        try:
            messages.append(
                (
                    inbound_id,
                    _read(
                        stored[inbound_id],
                        emails[inbound_id],
                        threads[inbound_id],
                        sent,
                        services.config,
                    ),
                )
            )
        except (
            Exception
        ) as exc:  # recorded like any other processing error, in the transaction below
            messages.append((inbound_id, exc))
    size = max(1, services.config.worker.messages_per_transaction)
    for start in range(0, len(messages), size):
        chunk = messages[start : start + size]
        try:
            with session_factory() as session, session.begin():
                for inbound_id, message in chunk:
                    if _must_wait(session, inbound_id, message, chunk):
                        defer_inbound(session, inbound_id, seconds=DEFER_SECONDS)
                        outcomes[inbound_id] = InboundOutcome(
                            InboundStatus.PROCESSING,
                            InboundIntent.REGISTER,
                            "asks for a place: waits for earlier mail",
                        )
                        continue
                    outcomes[inbound_id] = _handle(
                        session, services, inbound_id, message, alone=len(chunk) == 1
                    )
        except Exception:
            if len(chunk) == 1:
                raise  # the database failed before the message could be recorded: it stays leased
            log.warning(
                "a transaction of %d inbound messages failed; handling them one by one",
                len(chunk),
                exc_info=True,
            )
            for inbound_id, message in chunk:
                with session_factory() as session, session.begin():
                    outcomes[inbound_id] = _handle(
                        session, services, inbound_id, message, alone=True
                    )
    return outcomes


#: Seconds a message asking for a place waits for earlier mail another worker is handling.
DEFER_SECONDS = 1.0


def _must_wait(
    session: Session,
    inbound_id: int,
    message: _Message | Exception,
    chunk: list[tuple[int, _Message | Exception]],
) -> bool:
    """Whether this message asks for an in-person place while mail that arrived earlier is still
    being handled elsewhere: places go in the order people asked, whichever worker reads them."""
    asks_for_place = (
        isinstance(message, _Message)
        and message.intent is not None
        and message.intent.kind in (IntentKind.REGISTER, IntentKind.CHANGE_MODE)
        and message.intent.mode is AttendanceMode.IN_PERSON
    )
    return asks_for_place and earlier_mail_unfinished(
        session, inbound_id, besides=[i for i, _ in chunk]
    )


def _handle(
    session: Session,
    services: Services,
    inbound_id: int,
    message: _Message | Exception,
    *,
    alone: bool,
) -> InboundOutcome:
    """Within the batch transaction: one message in a SAVEPOINT, its outcome recorded with it.

    A request a rule refuses (a :class:`DomainError` no handler turned into
    an answer) is undone and recorded as the outcome. An unexpected error
    undoes the message and is recorded on its row as an error instead. An
    error of the database itself in a transaction shared with other messages
    (``alone`` is False) fails the whole transaction, so that each message
    is handled again in one of its own.
    """
    if isinstance(message, Exception):
        return _failed(session, inbound_id, message)
    try:
        try:
            with session.begin_nested():
                outcome = _process(session, services, inbound_id, message)
                finish_inbound(
                    session, inbound_id, outcome, read=message.read, list_slug=message.list_slug
                )
        except DomainError as exc:
            outcome = InboundOutcome(InboundStatus.TRIAGE, None, f"not done: {exc}")
            finish_inbound(
                session, inbound_id, outcome, read=message.read, list_slug=message.list_slug
            )
        return outcome
    except DBAPIError as exc:
        if not alone:
            raise
        return _failed(session, inbound_id, exc)
    except Exception as exc:
        return _failed(session, inbound_id, exc)


def _failed(session: Session, inbound_id: int, exc: BaseException) -> InboundOutcome:
    """Record an error on the message's row: it is retried later, then shown to organisers."""
    log.error("processing inbound message %s failed", inbound_id, exc_info=exc)
    status = fail_inbound(session, inbound_id, "".join(traceback.format_exception(exc)))
    return InboundOutcome(status, None, f"error: {exc}")


@dataclass(frozen=True)
class _Message:
    """A stored message as read before any database work: parsed, routed, its calendar reply if any,
    and what its text asks for if it was written to a list address."""

    raw: bytes
    received_at: datetime
    parsed: ParsedMessage
    route: LocalRecipient | None
    calendar: CalendarReply | None
    intent: Intent | None
    #: The message of ours this one answers, when its threading headers name one.
    answered: AnsweredMessage | None = None
    #: Whether the sender is proven to own the From: mailbox: our MTA saw an aligned DMARC
    #: pass, or the message answers one of ours sent to that very mailbox.
    proven: bool = False
    #: Whether its return path is its From: mailbox, so that an automatic reply may go there
    #: (RFC 3834 section 4).
    answerable: bool = False

    @property
    def sender_name(self) -> str | None:
        """The display name to record for the sender: only a proven sender's (a forged one must
        never become a member's name)."""
        return self.parsed.from_name if self.proven else None

    @property
    def list_slug(self) -> str | None:
        return self.route.list_slug if self.route else None

    @property
    def read(self) -> WhatWasRead:
        parsed, intent, answered = self.parsed, self.intent, self.answered
        understood: dict[str, object] | None = None
        if intent is not None:
            understood = {
                "kind": str(intent.kind),
                "mode": intent.mode.value if intent.mode else None,
                "fallback": intent.fallback.value if intent.fallback else None,
                "question": intent.question,
                "reason": intent.reason,
                "answering": str(answered.answering) if answered else None,
            }
        return WhatWasRead(
            parsed.message_id,
            parsed.from_email,
            parsed.from_name,
            parsed.subject,
            parsed.new_text,
            understood,
        )


def _our_thread_ids(email: EmailMessage, config: Config) -> list[str]:
    """The Message-IDs of ours that a message's threading headers name, newest first."""
    # The first of each header wins, as for any header read from a message.
    raw = {name.lower(): str(value) for name, value in reversed(list(email.raw_items()))}
    ids = thread_ids(
        " ".join(raw.get("in-reply-to", "").split()), " ".join(raw.get("references", "").split())
    )
    return our_ids(ids, config.mail.domain)


def _their_subject(subject: str, answered: AnsweredMessage | None) -> str:
    """A message's subject without "Re:" and gateway tags, when it is the sender's own words: not
    when it is the subject of the message of ours it answers (which a reply keeps)."""
    cleaned = clean_subject(subject)
    if answered is not None and _same_words(cleaned, clean_subject(answered.subject)):
        return ""
    return cleaned


def _same_words(one: str, other: str) -> bool:
    return one.casefold().split() == other.casefold().split()


def _texts_of(answered: AnsweredMessage | None) -> list[str]:
    """The texts of our message a reply answers, as a client may have quoted it: its plain part,
    and its HTML part as text (clients that quote the HTML part write that)."""
    if answered is None:
        return []
    return [answered.text, *([html_to_text(answered.html)] if answered.html else [])]


def _read(
    stored: StoredMessage,
    email: EmailMessage,
    ids: list[str],
    sent: dict[str, AnsweredMessage],
    config: Config,
) -> _Message:
    answered = first_answered(ids, sent)
    routes = []
    for address in stored.rcpt_to:
        try:
            routes.append(
                split_recipient(address, config.mail.domain, config.mail.bounce_local_part)
            )
        except (NotOurDomain, ValueError):
            continue
    route = next((r for r in routes if r.list_slug), routes[0] if routes else None)
    calendar = (
        read_calendar_reply(email, config.mail.domain) if route and route.kind != "bounce" else None
    )
    parsed = parse_message(
        email,
        stored.mail_from,
        config.inbound.authserv_id,
        config.inbound.reply_language_codes,
        ours=_texts_of(answered),
    )
    asks = route is not None and route.kind == "list" and not parsed.automated_reason
    intent = (
        classify(
            parsed.new_text,
            _their_subject(parsed.subject, answered),
            answering=str(answered.answering) if answered else None,
        )
        if asks
        else None
    )
    proven = parsed.authenticated or answers_own_message(ids, sent, parsed.from_email)
    return _Message(
        stored.raw,
        stored.received_at,
        parsed,
        route,
        calendar,
        intent,
        answered,
        proven=proven,
        answerable=same_mailbox(stored.mail_from, parsed.from_email),
    )


def _process(
    session: Session, services: Services, inbound_id: int, message: _Message
) -> InboundOutcome:
    """What the message does: routed by the address it was sent to, then by what it says."""
    config = services.config
    parsed, route = message.parsed, message.route
    if route is None:
        return InboundOutcome(InboundStatus.IGNORED, None, "no local recipient")
    if route.kind == "bounce":
        return _bounce(session, services, route.detail, message.raw, parsed.automated_reason)
    forgotten = _forgotten_message_id(services, parsed.message_id)
    earlier = handled_copy(session, inbound_id, parsed.message_id, forgotten)
    if earlier is not None:
        # A copy of an anonymous answer is forgotten as the answer's own message was.
        return InboundOutcome(
            InboundStatus.IGNORED,
            InboundIntent.DUPLICATE,
            f"duplicate of inbound message {earlier.id}: not processed again",
            forget_sender=earlier.forgotten,
            kept_message_id=forgotten if earlier.forgotten else None,
        )
    if route.kind == "leave" and route.detail:
        # forum-leave+<token>@: the List-Unsubscribe mailto. The token, not the From:, proves who
        # asks.
        try:
            state = leave_by_token(session, services, route.detail, source="email")
        except DomainError as exc:
            return InboundOutcome(
                InboundStatus.TRIAGE, InboundIntent.LEAVE, f"unsubscribe by email refused: {exc}"
            )
        return InboundOutcome(
            InboundStatus.DONE,
            InboundIntent.LEAVE,
            f"unsubscribed from {state.list_slug} by emailed link",
        )
    if (
        message.calendar is not None
    ):  # before the automated-mail check: calendars may mark their replies so
        return _calendar(session, services, message)
    if parsed.automated_reason:
        return InboundOutcome(
            InboundStatus.IGNORED,
            InboundIntent.AUTOMATED,
            f"not answered: {parsed.automated_reason}",
        )
    if route.kind == "postmaster":
        return InboundOutcome(
            InboundStatus.TRIAGE, InboundIntent.UNCLEAR, "to postmaster: for an organiser to read"
        )
    slug = route.list_slug
    if parsed.from_email is None or slug is None:
        return InboundOutcome(
            InboundStatus.TRIAGE,
            InboundIntent.UNCLEAR,
            "no usable sender or list: needs an organiser",
        )
    if parsed.from_email.lower().endswith("@" + config.mail.domain.lower()):
        return InboundOutcome(
            InboundStatus.IGNORED,
            InboundIntent.AUTOMATED,
            "not answered: sent from one of our own addresses",
        )

    thread = ReplyThread(
        message_id=parsed.message_id, references=parsed.references, subject=parsed.subject
    )
    try:
        claim = claim_for_reply(
            session,
            services,
            token=route.detail if route.kind == "answer" else None,
            thread_ids=thread_ids(parsed.in_reply_to, parsed.references),
        )
    except DomainError as exc:
        return InboundOutcome(
            InboundStatus.TRIAGE, InboundIntent.ANSWER, f"reply address refused: {exc}"
        )
    if claim is not None:
        if not (message.proven or message.answerable):
            return InboundOutcome(
                InboundStatus.TRIAGE,
                InboundIntent.ANSWER,
                "answer not stored: nothing proves its sender, and its return path is not its "
                "From: mailbox",
            )
        return _answer(session, services, claim, message, thread)
    if route.kind == "answer":
        return InboundOutcome(
            InboundStatus.TRIAGE, InboundIntent.ANSWER, "answer address without a consultation"
        )
    try:
        check_sender(
            session,
            services,
            list_slug=slug,
            email=parsed.from_email,
            display_name=message.sender_name,
            thread=thread if message.answerable else None,
        )
    except SenderNotAllowed as exc:
        return InboundOutcome(InboundStatus.IGNORED, InboundIntent.REFUSED, f"refused: {exc}")
    found = _command(route, parsed, message.intent)
    if found is None:
        understood = message.intent.reason if message.intent is not None else ""
        reason = f"not acted on: {understood}" if understood else "no request found"
        if not message.answerable:
            return InboundOutcome(
                InboundStatus.TRIAGE, InboundIntent.UNCLEAR, f"triage: {reason} ({_UNANSWERED})"
            )
        replied = acknowledge_for_triage(
            session,
            services,
            list_slug=slug,
            email=parsed.from_email,
            display_name=message.sender_name,
            thread=thread,
            reason=_in_plain_words(understood),
            suggest_registering=understood not in ("negated", "question only"),
            person_replies=understood != "acknowledgement",
        )
        return InboundOutcome(
            InboundStatus.TRIAGE,
            InboundIntent.UNCLEAR,
            f"triage: {reason}" + ("" if replied else " (reply rate-limited)"),
        )
    command, argument = found
    intent = message.intent
    if command.answer is not None and not message.proven:
        outcome = ask_owner_first(
            session,
            services,
            email=parsed.from_email,
            response=command.answer,
            mode=intent.mode if intent else None,
            may_write=message.answerable,
            list_slug=slug,
            meeting_id=message.answered.meeting_id if message.answered else None,
            text=f"{_their_subject(parsed.subject, message.answered)}\n{parsed.new_text}",
            at=message.received_at,
            thread=thread,
        )
        return InboundOutcome(
            InboundStatus.DONE, command.intent, outcome.summary, meeting_id=outcome.meeting_id
        )
    if not message.answerable and command.answer is None and command.name != "confirm":
        summary = f"{command.name}: {_UNANSWERED}"
        return InboundOutcome(InboundStatus.IGNORED, command.intent, summary)
    return command.run(
        CommandRequest(
            session=session,
            services=services,
            list_slug=slug,
            email=parsed.from_email,
            display_name=message.sender_name,
            thread=thread,
            received_at=message.received_at,
            authenticated=parsed.authenticated,
            mode=intent.mode if intent else None,
            fallback=intent.fallback if intent else None,
            question=intent.question if intent else False,
            meeting_id=message.answered.meeting_id if message.answered else None,
            text=f"{_their_subject(parsed.subject, message.answered)}\n{parsed.new_text}",
            argument=argument,
            replies=message.answerable,
        )
    )


#: Why a message that does not prove its sender, and whose return path is another mailbox than its
#: From:, gets no automatic reply (RFC 3834 section 4).
_UNANSWERED = "not answered: its return path is not its From: mailbox"

#: What the sender is told when their message is left for an organiser, by why it was not
#: acted on (the reasons :func:`mailer.inbound.intents.classify` gives).
_WHY_IN_PLAIN_WORDS = {
    "about someone else": "your message seems to be about someone else, and we only change a "
    "person's answer when they ask themselves",
    "negated": "your message asks us not to do something, so we have left everything as it was",
    "conditional": "your answer sounded tentative, so we have not recorded it yet",
    "several requests": "your message seems to ask for more than one thing",
    "question only": "you asked something that a person needs to answer",
    "acknowledgement": "there was nothing in it for us to do",
}


def _in_plain_words(reason: str) -> str:
    return _WHY_IN_PLAIN_WORDS.get(
        reason, "we could not tell for certain what you would like us to do"
    )


def _command(
    route: LocalRecipient, parsed: ParsedMessage, intent: Intent | None
) -> tuple[EmailCommand, str] | None:
    """The command a message to a list or command address gives, with its argument; None: an
    organiser decides.

    The -join and -leave addresses are their commands; the -request address
    takes a command word from the subject or the first line (help when there
    is none); the list address takes what the plain-language reading found.
    """
    if route.kind in ("join", "leave"):
        return COMMANDS[route.kind], ""
    if route.kind == "request":
        return command_in(parsed.subject, parsed.new_text) or (COMMANDS["help"], "")
    if intent is None:
        return None
    if intent.kind is IntentKind.CHANGE_MODE:  # registering again with the new mode changes it
        return COMMANDS["register"], ""
    if intent.kind in COMMANDS:
        return COMMANDS[intent.kind], ""
    return None


def _bounce(
    session: Session,
    services: Services,
    verp_token: str | None,
    raw: bytes,
    automated_reason: str | None,
) -> InboundOutcome:
    """Mail to our return path: a failure is a bounce; a report that the message was delayed,
    delivered or relayed, or an auto-reply to the return path, is kept here and counts for
    nothing."""
    if not verp_token:
        return InboundOutcome(
            InboundStatus.DONE,
            InboundIntent.BOUNCE,
            "delivery report without a VERP token: nothing to match",
        )
    status = read_dsn(raw)
    outbox_id = record_bounce_for_message(
        session,
        message_id_for_verp_token(verp_token, services.config.mail.domain),
        kind=status.kind,
        status=status.status,
        diagnostic=status.diagnostic,
        threshold=services.config.delivery.bounce_threshold,
        failed=status.failed,
    )
    code = status.status or "no status"
    about = "an unknown message" if outbox_id is None else f"outbox {outbox_id}"
    if not status.failed:
        what = f"delivery report ({status.action}, {code})" if status.action else None
        return InboundOutcome(
            InboundStatus.IGNORED,
            InboundIntent.AUTOMATED,
            f"not a bounce: {what or automated_reason or 'no delivery status'} for {about}",
        )
    if outbox_id is None:
        return InboundOutcome(
            InboundStatus.DONE, InboundIntent.BOUNCE, "delivery report for an unknown message"
        )
    return InboundOutcome(
        InboundStatus.DONE,
        InboundIntent.BOUNCE,
        f"{status.kind.value} bounce recorded for outbox {outbox_id} ({code})",
    )


def _answer(
    session: Session,
    services: Services,
    claim: AnswerClaim,
    message: _Message,
    thread: ReplyThread,
) -> InboundOutcome:
    try:
        outcome = record_answer(
            session,
            services,
            claim=claim,
            email=message.parsed.from_email or "",
            display_name=message.sender_name,
            text=message.parsed.new_text,
            thread=thread,
            acknowledge=message.answerable,
        )
    except DomainError as exc:
        return InboundOutcome(
            InboundStatus.TRIAGE, InboundIntent.ANSWER, f"answer not stored: {exc}"
        )
    reply = "" if outcome.replied else " (acknowledgement rate-limited)"
    return InboundOutcome(
        InboundStatus.DONE if outcome.stored else InboundStatus.TRIAGE,
        InboundIntent.ANSWER,
        outcome.summary + reply,
        forget_sender=outcome.anonymous,
        kept_message_id=_forgotten_message_id(services, message.parsed.message_id) or None,
    )


def _forgotten_message_id(services: Services, message_id: str) -> str:
    if not message_id:
        return ""
    return forgotten_message_id(services.links.pseudonym("message-id", message_id[:998]))


def _calendar(session: Session, services: Services, message: _Message) -> InboundOutcome:
    """A calendar's Accept or Decline: recorded when its sender is proven, else the attendee is
    asked to confirm by link, as for any answer by email."""
    reply, parsed = message.calendar, message.parsed
    assert reply is not None
    answer = reply.response
    if answer is None:
        return InboundOutcome(
            InboundStatus.TRIAGE,
            InboundIntent.CALENDAR,
            f"calendar reply {reply.partstat or 'without PARTSTAT'}: left for an organiser",
        )
    if not parsed.from_email or parsed.from_email.lower() != reply.attendee.lower():
        return InboundOutcome(
            InboundStatus.TRIAGE,
            InboundIntent.CALENDAR,
            "calendar reply for a different attendee than the sender",
        )
    target = calendar_target(session, reply.meeting_id)
    if target is None:
        return InboundOutcome(
            InboundStatus.TRIAGE, InboundIntent.CALENDAR, "calendar reply for no meeting of ours"
        )
    if (
        reply.sequence is not None and reply.sequence < target.sequence
    ):  # RFC 5546 2.1.5: a reply to a superseded invitation
        return InboundOutcome(
            InboundStatus.TRIAGE,
            InboundIntent.CALENDAR,
            f"calendar {reply.partstat.lower()} not recorded: it answers an older version of the "
            f"invitation (SEQUENCE {reply.sequence}, now {target.sequence}), so their calendar and "
            "their answer here may differ: left for an organiser",
        )
    slug = target.list_slug
    thread = ReplyThread(parsed.message_id, parsed.references)
    try:  # the meeting's list takes answers only from the senders it takes mail from
        check_sender(
            session,
            services,
            list_slug=slug,
            email=parsed.from_email,
            display_name=None,
            thread=thread if message.answerable else None,
        )
    except SenderNotAllowed as exc:
        return InboundOutcome(InboundStatus.IGNORED, InboundIntent.REFUSED, f"refused: {exc}")
    try:
        if not message.proven:
            asked = ask_owner_first(
                session,
                services,
                email=reply.attendee,
                response=answer[0],
                mode=None,
                may_write=message.answerable,
                meeting_id=reply.meeting_id,
                at=message.received_at,
                thread=thread,
            )
            return InboundOutcome(
                InboundStatus.DONE,
                InboundIntent.CALENDAR,
                f"calendar {reply.partstat.lower()}: {asked.summary}",
                meeting_id=reply.meeting_id,
            )
        outcome = record_rsvp_from_calendar(
            session,
            services,
            meeting_id=reply.meeting_id,
            attendee=reply.attendee,
            response=answer[0],
            at=message.received_at,
        )
    except DomainError as exc:
        return InboundOutcome(
            InboundStatus.DONE,
            InboundIntent.CALENDAR,
            f"calendar {reply.partstat.lower()} not recorded: {exc}",
        )
    verb = "recorded" if outcome.changed else "unchanged"
    return InboundOutcome(
        InboundStatus.DONE,
        InboundIntent.CALENDAR,
        f"calendar {reply.partstat.lower()} for meeting {reply.meeting_id}: {verb}",
    )
