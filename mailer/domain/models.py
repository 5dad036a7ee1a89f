"""Convene's tables as typed SQLAlchemy 2.0 models.

Privacy shapes this schema: a person is an email address and, at most, a
display name: the one their own mail gave (only mail that proved its sender)
or an organiser entered. There is no field for orientation, gender identity,
department or anything else we do not need.
All timestamps are timezone-aware UTC.
"""

from __future__ import annotations

import enum
import re
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always returns aware UTC datetimes.

    SQLite has no time zone support; PostgreSQL's timestamptz does. This type
    makes both behave the same, and refuses naive datetimes, which are a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings (no native PG enum) so adding a value is a cheap migration.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        length=20,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    PENDING = "pending"
    UNSUBSCRIBED = "unsubscribed"
    #: Delivery suspended after repeated hard bounces; an organiser can re-enable.
    BOUNCING = "bouncing"
    #: Taken off by an organiser (UNSUBSCRIBED: left by their own choice). Only an organiser
    #: puts them back; their links stopped working when they were removed.
    REMOVED = "removed"


class MeetingFormat(StrEnum):
    IN_PERSON = "in_person"
    REMOTE = "remote"
    HYBRID = "hybrid"


class MeetingStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class RsvpResponse(StrEnum):
    ATTENDING = "attending"
    DECLINED = "declined"


class AttendanceMode(StrEnum):
    IN_PERSON = "in_person"
    REMOTE = "remote"


class InboundStatus(StrEnum):
    NEW = "new"
    PROCESSING = "processing"
    DONE = "done"
    TRIAGE = "triage"
    IGNORED = "ignored"
    FAILED = "failed"


class InboundIntent(StrEnum):
    """What the worker understood an inbound message to be (the inbound log's "understood as")."""

    REGISTER = "register"
    DECLINE = "decline"
    JOIN = "join"
    LEAVE = "leave"
    HELP = "help"
    CONFIRM = "confirm"
    CALENDAR = "calendar"
    ANSWER = "answer"
    BOUNCE = "bounce"
    DUPLICATE = "duplicate"
    AUTOMATED = "automated"
    REFUSED = "refused"
    UNCLEAR = "unclear"


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Audience(StrEnum):
    """Who a news message goes to: the whole list, or the delegates of one of its meetings."""

    MEMBERS = "members"
    #: Everyone with a place (in person or remote) or registered without saying how.
    DELEGATES = "delegates"
    IN_PERSON = "in_person"
    REMOTE = "remote"


class NewsStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENT = "sent"
    CANCELLED = "cancelled"


class BounceKind(StrEnum):
    HARD = "hard"
    SOFT = "soft"


class OrganiserRole(StrEnum):
    ADMIN = "admin"
    ORGANISER = "organiser"


class NoticeChoice(StrEnum):
    """When an organiser is emailed that something needs them."""

    NEVER = "never"
    AT_ONCE = "at_once"
    DAILY = "daily"


_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_TITLES = frozenset({"dr", "mr", "mrs", "ms", "mx", "miss", "prof", "professor", "sir", "dame"})


def first_name_of(display_name: str | None) -> str | None:
    """The name to greet a person by, and the most a public page may show of them: the first word
    of their name, after any title. "Surname, Forename" (the order Outlook shows in many
    organisations, "Smith, Jo (DfE)") gives the forename."""
    if not display_name:
        return None
    unbracketed = _BRACKETED.sub(" ", display_name)  # "(DfE)", "[Cabinet Office]"
    surname, comma, forenames = unbracketed.partition(",")
    name = forenames if comma and surname.strip() and forenames.strip() else unbracketed
    words = [w.strip("\"'.,") for w in name.split()]
    words = [w for w in words if w]
    while len(words) > 1 and words[0].lower() in _TITLES:
        words = words[1:]
    return words[0] if words else None


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    #: Bumped to revoke every signed link this person was ever sent.
    link_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    subscriptions: Mapped[list[Subscription]] = relationship(back_populates="person")

    @property
    def first_name(self) -> str | None:
        return first_name_of(self.display_name)


class MailingList(Base):
    __tablename__ = "mailing_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The local part of the list address: ``forum`` for ``forum@lists.example.org``.
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    is_demo: Mapped[bool] = mapped_column(default=False)
    #: Join without a confirmation round trip when the upstream MTA saw an aligned DMARC pass.
    trust_dmarc: Mapped[bool] = mapped_column(default=False, server_default="0")
    #: Comma-separated sender domains allowed to write (``*.gov.uk``); empty allows all.
    allowed_sender_domains: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    subscriptions: Mapped[list[Subscription]] = relationship(back_populates="mailing_list")
    meetings: Mapped[list[Meeting]] = relationship(back_populates="mailing_list")


class Subscription(Base):
    __tablename__ = "subscription"
    __table_args__ = (UniqueConstraint("person_id", "list_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    list_id: Mapped[int] = mapped_column(ForeignKey("mailing_list.id", ondelete="CASCADE"))
    status: Mapped[SubscriptionStatus] = mapped_column(
        _enum(SubscriptionStatus, "subscription_status")
    )
    #: Hard bounces since the last successful delivery; at the threshold delivery is suspended.
    bounce_score: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    person: Mapped[Person] = relationship(back_populates="subscriptions")
    mailing_list: Mapped[MailingList] = relationship(back_populates="subscriptions")


class MeetingSeries(Base):
    """A recurring meeting (e.g. the quarterly forum): an RFC 5545 RRULE from a first occurrence."""

    __tablename__ = "meeting_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("mailing_list.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    rrule: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Meeting(Base):
    __tablename__ = "meeting"
    __table_args__ = (Index("ix_meeting_list_starts", "list_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("mailing_list.id", ondelete="CASCADE"))
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("meeting_series.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(200))
    #: Public: shown on the meeting's page and in invitations (the agenda is not).
    description: Mapped[str] = mapped_column(Text, default="")
    #: Public: where the meeting is in a few words, e.g. "London and online" (never the venue).
    location: Mapped[str] = mapped_column(String(200), default="", server_default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    #: IANA zone the meeting is held in, for display (times are stored in UTC).
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    format: Mapped[MeetingFormat] = mapped_column(_enum(MeetingFormat, "meeting_format"))
    #: Private: only ever sent to registered in-person delegates.
    venue: Mapped[str] = mapped_column(Text, default="")
    #: Private: only ever sent to registered remote delegates.
    dial_in: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int | None] = mapped_column(Integer)
    rsvp_deadline: Mapped[datetime | None]
    status: Mapped[MeetingStatus] = mapped_column(_enum(MeetingStatus, "meeting_status"))
    #: iCalendar SEQUENCE: bumped whenever time or place change after invitations went out.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    invited_at: Mapped[datetime | None]
    #: Markdown, sent to registered delegates ``agenda_days_before`` days ahead with their joining
    #: details.
    agenda: Mapped[str] = mapped_column(Text, default="", server_default="")
    agenda_days_before: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    agenda_sent_at: Mapped[datetime | None]
    reminder_sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    mailing_list: Mapped[MailingList] = relationship(back_populates="meetings")
    rsvps: Mapped[list[Rsvp]] = relationship(back_populates="meeting")

    @property
    def where(self) -> str:
        """Where the meeting is, in public words: the organiser's own summary, or else what its
        format says."""
        if self.location:
            return self.location
        return {
            MeetingFormat.HYBRID: "In person or online",
            MeetingFormat.REMOTE: "Online",
            MeetingFormat.IN_PERSON: "In person",
        }[self.format]


class MeetingAttachment(Base):
    """A file sent with a meeting's invitation and agenda (e.g. terms of reference as a PDF)."""

    __tablename__ = "meeting_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rsvp(Base):
    __tablename__ = "rsvp"
    __table_args__ = (UniqueConstraint("meeting_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    response: Mapped[RsvpResponse] = mapped_column(_enum(RsvpResponse, "rsvp_response"))
    #: None while a registered person has not yet said how they will attend.
    mode: Mapped[AttendanceMode | None] = mapped_column(_enum(AttendanceMode, "attendance_mode"))
    #: How the latest answer arrived: email, link, calendar, panel, api.
    source: Mapped[str] = mapped_column(String(20))
    #: Set while an in-person answer waits for a place; the earliest is promoted first.
    waitlisted_at: Mapped[datetime | None]
    #: Set while an organiser holds a place for this waiting person: until then it is theirs to
    #: accept, and it counts as taken; once it passes, the place goes to the next in line.
    offered_until: Mapped[datetime | None]
    #: What the person told us they need to take part (step-free access, a hearing loop...);
    #: deleted once the meeting is over.
    access_needs: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="rsvps")
    person: Mapped[Person] = relationship()


class InboundMessage(Base):
    """A message exactly as received; stored before SMTP answers 250."""

    __tablename__ = "inbound_message"
    __table_args__ = (
        Index("ix_inbound_message_status_lease", "status", "lease_until"),
        # Its id is in the panel's URLs: never given again to another message once deleted.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    mail_from: Mapped[str] = mapped_column(String(320))
    rcpt_to: Mapped[list[str]] = mapped_column(JSON)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    peer: Mapped[str] = mapped_column(String(100), default="")
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    status: Mapped[InboundStatus] = mapped_column(
        _enum(InboundStatus, "inbound_status"), default=InboundStatus.NEW
    )
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None]
    #: What the worker understood and did (None until it has, or when no local address was named).
    intent: Mapped[InboundIntent | None] = mapped_column(_enum(InboundIntent, "inbound_intent"))
    list_slug: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(Text, default="")
    #: What the worker read, so the panel shows exactly what was classified: the From: address
    #: and name, the subject, and the new text (quotes and signature taken out).
    sender: Mapped[str | None] = mapped_column(String(320))
    sender_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(Text, default="", server_default="")
    new_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: What the worker understood the new text to ask for (kind, mode, meeting, reason).
    understood: Mapped[dict[str, object] | None] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text, default="")


class Mailing(Base):
    """What every recipient of one send shares, rendered once: subject, bodies, list headers.

    Per-recipient outbox rows point here and carry only what differs (the
    address, the Message-ID); the unsubscribe link is derived from the row.
    """

    __tablename__ = "mailing"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    list_id: Mapped[int | None] = mapped_column(ForeignKey("mailing_list.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(998))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    recipients: Mapped[int] = mapped_column(Integer, default=0)

    mailing_list: Mapped[MailingList | None] = relationship(lazy="joined")


class OutboxMessage(Base):
    """One message to one recipient.

    Either rendered in full at enqueue time (replies, confirmations) or a
    small row pointing at a shared ``Mailing`` (news, invitations). Either way
    the Message-ID and Date are fixed when queued, so a retry after any crash
    sends the same message.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_status_next", "status", "next_attempt_at"),
        Index("ix_outbox_message_recipient_created", "recipient", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    recipient: Mapped[str] = mapped_column(String(320))
    sender: Mapped[str] = mapped_column(String(320))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    mailing_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailing.id", ondelete="CASCADE"), index=True
    )
    #: For rows without a mailing: the whole rendered message.
    subject: Mapped[str | None] = mapped_column(String(998))
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    #: An iCalendar object sent as a text/calendar alternative (invitations, updates,
    #: cancellations).
    body_calendar: Mapped[str | None] = mapped_column(Text)
    #: Ids of meeting attachments to send with this message.
    attachment_ids: Mapped[list[int] | None] = mapped_column(JSON)
    #: Extra headers (In-Reply-To, References, Auto-Submitted, List-*) as a dict.
    headers: Mapped[dict[str, str] | None] = mapped_column(JSON)
    #: The meeting this message is about, so a reply to it is applied to that meeting.
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id", ondelete="SET NULL"))
    #: The Message-ID of the inbound message this one answers, if it is a reply.
    in_reply_to: Mapped[str | None] = mapped_column(String(998), index=True)
    status: Mapped[OutboxStatus] = mapped_column(
        _enum(OutboxStatus, "outbox_status"), default=OutboxStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


class News(Base):
    """A news message for a list: written in Markdown, sent to each member separately."""

    __tablename__ = "news"
    __table_args__ = (Index("ix_news_status_scheduled", "status", "scheduled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("mailing_list.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(300))
    body_markdown: Mapped[str] = mapped_column(Text)
    status: Mapped[NewsStatus] = mapped_column(
        _enum(NewsStatus, "news_status"), default=NewsStatus.DRAFT
    )
    scheduled_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    mailing_id: Mapped[int | None] = mapped_column(ForeignKey("mailing.id", ondelete="SET NULL"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("organiser.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Who it goes to; for any audience but the whole list, the delegates of ``meeting_id``. (A
    #: message to a meeting's delegates goes with the meeting, never to the whole list.)
    audience: Mapped[Audience] = mapped_column(
        _enum(Audience, "news_audience"), default=Audience.MEMBERS, server_default="members"
    )
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )

    mailing_list: Mapped[MailingList] = relationship()
    meeting: Mapped[Meeting | None] = relationship()


class BounceEvent(Base):
    """A delivery that failed for good (5xx at our smarthost, or a DSN back to the VERP address)."""

    __tablename__ = "bounce_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_message.id", ondelete="SET NULL")
    )
    kind: Mapped[BounceKind] = mapped_column(_enum(BounceKind, "bounce_kind"))
    status: Mapped[str] = mapped_column(String(20), default="")
    diagnostic: Mapped[str] = mapped_column(Text, default="")


class Organiser(Base):
    __tablename__ = "organiser"
    # The audit log names organisers by id: an id is never given again once removed.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[OrganiserRole] = mapped_column(_enum(OrganiserRole, "organiser_role"))
    is_demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    #: Emailed when messages need a person, volunteers offer or deliveries fail.
    notices: Mapped[NoticeChoice] = mapped_column(
        _enum(NoticeChoice, "notice_choice"), default=NoticeChoice.NEVER, server_default="never"
    )
    #: When they were last emailed (or told nothing was waiting): what is newer is news.
    noticed_at: Mapped[datetime | None]
    #: Set when an admin disabled the account: it cannot log in, and its sessions end.
    disabled_at: Mapped[datetime | None]
    #: Every panel session carries the number it was opened with; raising it (log out, a new
    #: password, disabling, "log out everywhere") ends every session at once.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: The shared secret of their authenticator app (base32), when logging in asks for a code
    #: as well as the password (see :mod:`mailer.domain.second_step`).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: The time step of the last code accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    #: The lists a plain organiser runs (an admin runs every list, whatever this holds).
    lists: Mapped[list[MailingList]] = relationship(
        secondary="organiser_list", order_by="MailingList.name"
    )


class OrganiserList(Base):
    """A list an organiser (not an admin) may run: its members, meetings, news, mail."""

    __tablename__ = "organiser_list"

    organiser_id: Mapped[int] = mapped_column(
        ForeignKey("organiser.id", ondelete="CASCADE"), primary_key=True
    )
    list_id: Mapped[int] = mapped_column(
        ForeignKey("mailing_list.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ApiToken(Base):
    """A bearer token for the read-only JSON API (e.g. the network's website). Only its hash is
    kept."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Who did what, when: organisers, members (by email or link) and the system."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(100), default="")
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class ConsultationKind(StrEnum):
    #: A question to the members; replies are collected as answers.
    QUESTION = "question"
    #: A call for volunteers: replies and signed links record interest in named roles.
    VOLUNTEERS = "volunteers"


class ConsultationStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class OfferStatus(StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"


class Consultation(Base):
    """A question (or call for volunteers) sent to each member of a list on their own."""

    __tablename__ = "consultation"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(
        ForeignKey("mailing_list.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ConsultationKind] = mapped_column(_enum(ConsultationKind, "consultation_kind"))
    title: Mapped[str] = mapped_column(String(300))
    question_markdown: Mapped[str] = mapped_column(Text)
    #: Answers are stored with no link to the person (no id, no address, no time of arrival).
    anonymous: Mapped[bool] = mapped_column(default=False)
    closes_at: Mapped[datetime | None]
    status: Mapped[ConsultationStatus] = mapped_column(
        _enum(ConsultationStatus, "consultation_status"), default=ConsultationStatus.DRAFT
    )
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    mailing_list: Mapped[MailingList] = relationship()
    roles: Mapped[list[VolunteerRole]] = relationship(
        back_populates="consultation",
        order_by="VolunteerRole.position",
        cascade="all, delete-orphan",
    )


class VolunteerRole(Base):
    """A role in a call for volunteers; ``aliases`` are other words members use for it (comms,
    admin)."""

    __tablename__ = "volunteer_role"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultation.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    aliases: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    consultation: Mapped[Consultation] = relationship(back_populates="roles")


class ConsultationAnswer(Base):
    """What a member wrote back: the new text only.

    The id is random and, for an anonymous consultation, ``person_id`` is
    empty and ``received_at`` is the day the consultation was sent (the same
    for every answer), so nothing in the row leads back to who wrote it.
    Its ``respondent`` is then a keyed digest of the consultation and the
    person, so that one person's replies still make one answer: it differs
    from one consultation to the next, and cannot be computed without the
    service's secret key.
    """

    __tablename__ = "consultation_answer"
    __table_args__ = (
        Index("ix_consultation_answer_consultation_received", "consultation_id", "received_at"),
        Index("ix_consultation_answer_consultation_respondent", "consultation_id", "respondent"),
        # Stored in the order of its random ids, not of arrival (which the acknowledgements,
        # naming their recipients, share).
        {"sqlite_with_rowid": False},
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    respondent: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    #: How many replies make up this answer (a named member's later replies add to it).
    replies: Mapped[int] = mapped_column(Integer, default=1)
    #: Arrived after the closing date: kept for the organisers, and the sender was told it had
    #: closed.
    late: Mapped[bool] = mapped_column(default=False)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person | None] = relationship()
    tags: Mapped[list[AnswerTag]] = relationship(
        order_by="AnswerTag.tag", cascade="all, delete-orphan", lazy="selectin"
    )


class AnswerTag(Base):
    """An organiser's label on an answer, to group themes."""

    __tablename__ = "answer_tag"
    __table_args__ = (UniqueConstraint("answer_id", "tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[str] = mapped_column(
        ForeignKey("consultation_answer.id", ondelete="CASCADE"), index=True
    )
    tag: Mapped[str] = mapped_column(String(60))


class VolunteerOffer(Base):
    """A member's interest in one role; an organiser may accept it (which emails the volunteer)."""

    __tablename__ = "volunteer_offer"
    __table_args__ = (UniqueConstraint("role_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("volunteer_role.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    status: Mapped[OfferStatus] = mapped_column(
        _enum(OfferStatus, "offer_status"), default=OfferStatus.OFFERED
    )
    #: email or link
    source: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None]
    accepted_by: Mapped[str] = mapped_column(String(200), default="")

    role: Mapped[VolunteerRole] = relationship()
    person: Mapped[Person] = relationship()


class ImportStatus(StrEnum):
    QUEUED = "queued"
    DONE = "done"


class ImportJob(Base):
    """A large member import, done by the worker in chunks so the organiser can watch its progress.

    ``rows`` holds the checked addresses and names until the import is done, then is emptied.
    """

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("mailing_list.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(200))
    status: Mapped[ImportStatus] = mapped_column(
        _enum(ImportStatus, "import_status"), default=ImportStatus.QUEUED
    )
    rows: Mapped[list[list[str]]] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    already: Mapped[int] = mapped_column(Integer, default=0)
    left_earlier: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    mailing_list: Mapped[MailingList] = relationship()


class WorkerHeartbeat(Base):
    """When each worker was last seen at work, so that health checks and metrics can tell a
    stopped worker from an idle one."""

    __tablename__ = "worker_heartbeat"

    worker_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class LimitedRequest(Base):
    """One request that counts towards a limit (see :mod:`mailer.domain.rate_limits`): under an
    opaque key, a keyed digest of what is limited (a client, an address), never the value itself.
    Kept for a day."""

    __tablename__ = "limited_request"
    __table_args__ = (Index("ix_limited_request_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
