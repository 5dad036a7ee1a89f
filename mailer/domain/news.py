"""News: written in Markdown, previewed, tested, then sent to each member on their own.

Sending renders the message once into a ``Mailing`` and queues one small
outbox row per active member, in the same transaction that marks the news
sent, so a news item goes out exactly once even with several workers and
across restarts.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import css_inline
from sqlalchemy import Select, func, insert, select
from sqlalchemy.orm import Session, joinedload

from mailer.db import read_transaction, transaction
from mailer.domain import audit
from mailer.domain.errors import InvalidInput, NotFound
from mailer.domain.formatted_text import markdown_to_html, markdown_to_text
from mailer.domain.lists import get_list
from mailer.domain.models import (
    AttendanceMode,
    Audience,
    Mailing,
    MailingList,
    Meeting,
    News,
    NewsStatus,
    OutboxMessage,
    OutboxStatus,
    Person,
    Rsvp,
    RsvpResponse,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from mailer.domain.outbox import list_envelope, new_identity
from mailer.domain.people import format_address, get_or_create_person
from mailer.domain.services import Services
from mailer.mail import headers as mail_headers

#: Stands in for each recipient's own unsubscribe URL; replaced when a message is composed.
UNSUBSCRIBE_PLACEHOLDER = "@@CONVENE-UNSUBSCRIBE-URL@@"

MAX_SUBJECT = 200
FAN_OUT_CHUNK = 5000
MAX_BODY = 100_000


@dataclass(frozen=True)
class RenderedNews:
    subject: str
    text: str
    html: str


def render_news(
    services: Services, news: News, unsubscribe_url: str = UNSUBSCRIBE_PLACEHOLDER
) -> RenderedNews:
    mailing_list = news.mailing_list
    context: dict[str, Any] = {
        "mailing_list": mailing_list,
        "delegates_of": news.meeting if news.audience is not Audience.MEMBERS else None,
        "subject": news.subject,
        "body_text": markdown_to_text(news.body_markdown),
        "body_html": markdown_to_html(news.body_markdown),
        "unsubscribe_url": unsubscribe_url,
        "list_address": services.list_address(mailing_list.slug),
    }
    rendered = services.emails.render("news", context)
    html = css_inline.inline(rendered.html or "")
    return RenderedNews(subject=news.subject, text=rendered.text, html=html)


def _validate(subject: str, body_markdown: str) -> tuple[str, str]:
    subject = " ".join(subject.split())
    if not subject:
        raise InvalidInput("Give the news a subject.", field="subject")
    if len(subject) > MAX_SUBJECT:
        raise InvalidInput(f"Keep the subject under {MAX_SUBJECT} characters.", field="subject")
    if not body_markdown.strip():
        raise InvalidInput("Write the news before sending it.", field="body")
    if len(body_markdown) > MAX_BODY:
        raise InvalidInput("The news is too long for one email.", field="body")
    return subject, body_markdown


def create_news(
    session: Session,
    *,
    list_slug: str,
    subject: str,
    body_markdown: str,
    actor: str,
    organiser_id: int | None = None,
    audience: Audience = Audience.MEMBERS,
    meeting_id: int | None = None,
) -> News:
    """A draft for the whole list, or (``audience`` and ``meeting_id``) for the delegates of one
    of its meetings: all of them, or those coming in person, or those joining remotely."""
    subject, body_markdown = _validate(subject, body_markdown)
    with transaction(session):
        mailing_list = get_list(session, list_slug)
        meeting = session.get(Meeting, meeting_id) if meeting_id is not None else None
        if audience is not Audience.MEMBERS and (
            meeting is None or meeting.list_id != mailing_list.id
        ):
            raise InvalidInput("Choose the meeting whose delegates it is for.", field="audience")
        news = News(
            mailing_list=mailing_list,
            subject=subject,
            body_markdown=body_markdown,
            status=NewsStatus.DRAFT,
            created_by=organiser_id,
            audience=audience,
            meeting_id=meeting.id
            if meeting is not None and audience is not Audience.MEMBERS
            else None,
        )
        session.add(news)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="news.create",
            target=f"news:{news.id}",
            list=mailing_list.id,
        )
    return news


def _editable(session: Session, news_id: int) -> News:
    news = session.scalar(
        select(News)
        .options(joinedload(News.mailing_list))
        .where(News.id == news_id)
        .with_for_update(of=News)
    )
    if news is None:
        raise NotFound("There is no such news item.")
    if news.status not in (NewsStatus.DRAFT, NewsStatus.SCHEDULED):
        raise InvalidInput(f"This news was already {news.status.value}; it cannot be changed.")
    return news


def update_news(
    session: Session, news_id: int, *, subject: str, body_markdown: str, actor: str
) -> News:
    subject, body_markdown = _validate(subject, body_markdown)
    with transaction(session):
        news = _editable(session, news_id)
        news.subject, news.body_markdown = subject, body_markdown
        audit.record(session, actor=actor, action="news.update", target=f"news:{news.id}")
    return news


def get_news(session: Session, news_id: int) -> News:
    with read_transaction(session):
        news = session.get(
            News, news_id, options=[joinedload(News.mailing_list), joinedload(News.meeting)]
        )
        if news is None:
            raise NotFound("There is no such news item.")
        return news


def list_news(session: Session, list_ids: Collection[int] | None = None) -> list[News]:
    """News, newest first; ``list_ids``: of these lists only (None: all)."""
    query = (
        select(News)
        .options(joinedload(News.mailing_list), joinedload(News.meeting))
        .order_by(News.created_at.desc())
    )
    if list_ids is not None:
        query = query.where(News.list_id.in_(list(list_ids)))
    with read_transaction(session):
        return list(session.scalars(query))


def preview_news(session: Session, services: Services, news_id: int) -> RenderedNews:
    news = get_news(session, news_id)
    return render_news(services, news, unsubscribe_url=f"{services.links.base_url}/u/preview")


def list_headers(services: Services, mailing_list: MailingList) -> dict[str, str]:
    """RFC 2369/2919 headers shared by every message of a list mailing (List-Unsubscribe is per
    recipient)."""
    return mail_headers.list_headers(
        list_name=mailing_list.name, slug=mailing_list.slug, addresses=services.config.addresses
    )


def member_list_headers(
    services: Services, mailing_list: MailingList, unsubscribe_token: str
) -> dict[str, str]:
    """The list headers of one member's own message: the shared ones and their one-click
    unsubscribe."""
    return {
        **list_headers(services, mailing_list),
        **mail_headers.unsubscribe_headers(
            url=services.links.unsubscribe_url(unsubscribe_token),
            mailto=services.config.addresses.leave_address(mailing_list.slug, unsubscribe_token),
        ),
    }


def send_test(
    session: Session, services: Services, news_id: int, *, to_email: str, actor: str
) -> OutboxMessage:
    """One copy, exactly as members will see it, to the organiser; nothing else changes."""
    with transaction(session):
        news = session.get(
            News, news_id, options=[joinedload(News.mailing_list), joinedload(News.meeting)]
        )
        if news is None:
            raise NotFound("There is no such news item.")
        person = get_or_create_person(session, to_email)
        rendered = render_news(services, news, unsubscribe_url=f"{services.links.base_url}/u/test")
        sender = list_envelope(services, news.mailing_list)
        identity = new_identity(services.config.mail.domain, services.config.mail.bounce_local_part)
        row = OutboxMessage(
            kind="news_test",
            person_id=person.id,
            recipient=person.email,
            sender=identity.envelope_from,
            message_id=identity.message_id,
            subject=f"[Test] {rendered.subject}",
            body_text=rendered.text,
            body_html=rendered.html,
            headers={
                **sender.headers,
                **list_headers(services, news.mailing_list),
                "From": format_address(sender.from_address, sender.from_name),
            },
        )
        session.add(row)
        audit.record(session, actor=actor, action="news.test", target=f"news:{news.id}")
        return row


def schedule_news(session: Session, news_id: int, *, at: datetime, actor: str) -> News:
    if at.tzinfo is None:
        raise InvalidInput("Give the time with its time zone.", field="scheduled_at")
    if at < utcnow() - timedelta(minutes=1):
        raise InvalidInput("That time has already passed.", field="scheduled_at")
    with transaction(session):
        news = _editable(session, news_id)
        news.status, news.scheduled_at = NewsStatus.SCHEDULED, at
        audit.record(
            session,
            actor=actor,
            action="news.schedule",
            target=f"news:{news.id}",
            at=at.isoformat(),
        )
    return news


def cancel_news(session: Session, news_id: int, *, actor: str) -> News:
    with transaction(session):
        news = _editable(session, news_id)
        news.status, news.scheduled_at = NewsStatus.CANCELLED, None
        audit.record(session, actor=actor, action="news.cancel", target=f"news:{news.id}")
    return news


def _recipients(news: News) -> Select[int, str]:
    """Who a news message goes to: the list's active members, or the delegates of its meeting
    (with a place, or registered without saying how; never those waiting for a place, who get
    no venue either), each once."""
    if news.audience is Audience.MEMBERS:
        return (
            select(Person.id, Person.email)
            .join(Subscription, Subscription.person_id == Person.id)
            .where(
                Subscription.list_id == news.list_id,
                Subscription.status == SubscriptionStatus.ACTIVE,
            )
        )
    modes = {
        Audience.IN_PERSON: [AttendanceMode.IN_PERSON],
        Audience.REMOTE: [AttendanceMode.REMOTE],
    }.get(news.audience)
    query = (
        select(Person.id, Person.email)
        .join(Rsvp, Rsvp.person_id == Person.id)
        .where(
            Rsvp.meeting_id == news.meeting_id,
            Rsvp.response == RsvpResponse.ATTENDING,
            Rsvp.waitlisted_at.is_(None),
        )
    )
    return query.where(Rsvp.mode.in_(modes)) if modes else query


def recipient_count(session: Session, news_id: int) -> int:
    """How many people sending the news now would reach (the count an organiser confirms)."""
    with read_transaction(session):
        news = session.get(News, news_id)
        if news is None:
            raise NotFound("There is no such news.")
        return session.scalar(select(func.count()).select_from(_recipients(news).subquery())) or 0


def audience_words(news: News) -> str:
    """Who the news goes to, as the panel says it."""
    if news.audience is Audience.MEMBERS or news.meeting is None:
        return f"everyone on {news.mailing_list.name}"
    who = {
        Audience.DELEGATES: "every delegate",
        Audience.IN_PERSON: "the in-person delegates",
        Audience.REMOTE: "the remote delegates",
    }[news.audience]
    return f"{who} of {news.meeting.title}"


def _fan_out(session: Session, services: Services, news: News) -> int:
    """Within the caller's transaction: one Mailing and one outbox row per active member."""
    mailing_list = news.mailing_list
    rendered = render_news(services, news)
    sender = list_envelope(services, mailing_list)
    mailing = Mailing(
        kind="news",
        list_id=mailing_list.id,
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
        headers={
            **sender.headers,
            **list_headers(services, mailing_list),
            "From": format_address(sender.from_address, sender.from_name),
        },
    )
    session.add(mailing)
    session.flush()
    members = session.execute(
        _recipients(news).order_by(Person.id).execution_options(yield_per=FAN_OUT_CHUNK)
    )
    now = utcnow()
    domain, bounce = services.config.mail.domain, services.config.mail.bounce_local_part
    total = 0
    # Streamed in chunks so memory stays flat however large the list is.
    for chunk in members.partitions():
        rows = []
        for person_id, email in chunk:
            identity = new_identity(domain, bounce)
            rows.append(
                {
                    "created_at": now,
                    "kind": "news",
                    "person_id": person_id,
                    "recipient": email,
                    "sender": identity.envelope_from,
                    "message_id": identity.message_id,
                    "mailing_id": mailing.id,
                    "status": OutboxStatus.QUEUED,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "last_error": "",
                }
            )
        session.execute(insert(OutboxMessage), rows)
        total += len(rows)
    mailing.recipients = total
    news.mailing_id, news.status, news.sent_at = mailing.id, NewsStatus.SENT, now
    return total


def send_news_now(session: Session, services: Services, news_id: int, *, actor: str) -> int:
    """Queue the news for every active member now; returns how many messages were queued."""
    with transaction(session):
        news = _editable(session, news_id)
        count = _fan_out(session, services, news)
        audit.record(
            session, actor=actor, action="news.send", target=f"news:{news.id}", recipients=count
        )
    return count


def send_due_news(session: Session, services: Services) -> list[int]:
    """Worker step: send every scheduled news item whose time has come, each exactly once."""
    sent: list[int] = []
    while True:
        with transaction(session):
            news = session.scalar(
                select(News)
                .options(joinedload(News.mailing_list))
                .where(News.status == NewsStatus.SCHEDULED, News.scheduled_at <= utcnow())
                .order_by(News.scheduled_at)
                .limit(1)
                .with_for_update(skip_locked=True, of=News)
            )
            if news is None:
                return sent
            count = _fan_out(session, services, news)
            audit.record(
                session,
                actor="system",
                action="news.send",
                target=f"news:{news.id}",
                recipients=count,
            )
            sent.append(news.id)


@dataclass(frozen=True)
class DeliveryReport:
    queued: int
    sending: int
    sent: int
    failed: int
    recent_failures: list[tuple[str, str]]

    @property
    def total(self) -> int:
        return self.queued + self.sending + self.sent + self.failed


def delivery_report(session: Session, mailing_id: int) -> DeliveryReport:
    with read_transaction(session):
        counts = dict(
            session.execute(
                select(OutboxMessage.status, func.count())
                .where(OutboxMessage.mailing_id == mailing_id)
                .group_by(OutboxMessage.status)
            ).all()
        )
        failures = session.execute(
            select(OutboxMessage.recipient, OutboxMessage.last_error)
            .where(OutboxMessage.mailing_id == mailing_id, OutboxMessage.last_error != "")
            .order_by(OutboxMessage.id.desc())
            .limit(50)
        ).all()
    return DeliveryReport(
        counts.get(OutboxStatus.QUEUED, 0),
        counts.get(OutboxStatus.SENDING, 0),
        counts.get(OutboxStatus.SENT, 0),
        counts.get(OutboxStatus.FAILED, 0),
        [(r, e) for r, e in failures],
    )
