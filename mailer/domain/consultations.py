"""Consultations and calls for volunteers: ask each member, collect what they write back.

A consultation is sent to every active member of a list, one message each,
with a per-recipient reply address (``forum-answer+<token>@``) so a reply is
matched by that address or by its threading headers, never by guessing.
What the member wrote now (not the quoted question, signature or
disclaimer) is stored as their answer.

In an anonymous consultation the answer row holds no person, no address and
no time of arrival (every answer carries the day the consultation was sent,
so answers cannot be lined up with the acknowledgements in the outbox), its
id is random, and the raw message it came in is deleted once the answer is
stored: the organisers see the text but nothing in storage says who wrote it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy import text as sql
from sqlalchemy.orm import Session, selectinload

from mailer.db import read_transaction, rows_changed, transaction
from mailer.domain import audit
from mailer.domain.errors import DomainError, InvalidInput, InvalidLink, NotFound
from mailer.domain.formatted_text import markdown_to_html, markdown_to_text
from mailer.domain.links import AnswerClaim
from mailer.domain.lists import get_list
from mailer.domain.models import (
    AnswerTag,
    Consultation,
    ConsultationAnswer,
    ConsultationKind,
    ConsultationStatus,
    OfferStatus,
    OutboxMessage,
    Person,
    Subscription,
    SubscriptionStatus,
    VolunteerOffer,
    VolunteerRole,
    utcnow,
)
from mailer.domain.news import member_list_headers
from mailer.domain.outbox import Envelope, ReplyThread, enqueue, is_member, may_auto_reply
from mailer.domain.people import find_person, normalise_email, sample_member
from mailer.domain.reports import spreadsheet_csv
from mailer.domain.services import Services
from mailer.domain.threads import our_ids
from mailer.mail.addresses import mailbox_of
from mailer.rendering import RenderedEmail

MAX_TITLE = 300
MAX_QUESTION = 50_000
MAX_ROLES = 20
MAX_TAG = 60
#: What separates a named member's later replies within their one answer.
REPLY_SEPARATOR = "\n\n---\n\n"


class ConsultationClosed(DomainError):
    """The consultation no longer takes answers (the answer is still kept, marked late)."""


@dataclass(frozen=True)
class RoleSpec:
    name: str
    description: str = ""
    aliases: str = ""


def _clean_line(value: str, limit: int) -> str:
    return " ".join(value.split())[:limit]


def create_consultation(
    session: Session,
    *,
    list_slug: str,
    title: str,
    question_markdown: str,
    kind: ConsultationKind = ConsultationKind.QUESTION,
    anonymous: bool = False,
    closes_at: datetime | None = None,
    roles: list[RoleSpec] | None = None,
    actor: str,
) -> Consultation:
    """A draft consultation (or call for volunteers); nothing is sent until
    ``send_consultation``."""
    title = _clean_line(title, MAX_TITLE + 1)
    question_markdown = question_markdown.strip()
    roles = [
        RoleSpec(_clean_line(r.name, 200), r.description.strip(), _clean_line(r.aliases, 500))
        for r in roles or []
        if r.name.strip()
    ]
    if not title:
        raise InvalidInput("Enter a title.", field="title")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"The title must be {MAX_TITLE} characters or fewer.", field="title")
    if not question_markdown:
        raise InvalidInput("Write the question you want to ask.", field="question")
    if len(question_markdown) > MAX_QUESTION:
        raise InvalidInput(
            f"The question must be {MAX_QUESTION:,} characters or fewer.", field="question"
        )
    if closes_at is not None:
        if closes_at.tzinfo is None:
            raise InvalidInput("The closing date needs a time zone.", field="closes_at")
        if closes_at <= utcnow():
            raise InvalidInput("The closing date must be in the future.", field="closes_at")
    if kind is ConsultationKind.VOLUNTEERS:
        if not roles:
            raise InvalidInput(
                "Name at least one role volunteers can offer to help with.", field="roles"
            )
        if anonymous:
            raise InvalidInput(
                "A call for volunteers cannot be anonymous: organisers need to know who offered.",
                field="anonymous",
            )
    if len(roles) > MAX_ROLES:
        raise InvalidInput(f"Name {MAX_ROLES} roles or fewer.", field="roles")
    if len({r.name.lower() for r in roles}) != len(roles):
        raise InvalidInput("Each role needs a different name.", field="roles")
    with transaction(session):
        mailing_list = get_list(session, list_slug)
        consultation = Consultation(
            list_id=mailing_list.id,
            kind=kind,
            title=title,
            question_markdown=question_markdown,
            anonymous=anonymous,
            closes_at=closes_at,
            created_by=actor,
            status=ConsultationStatus.DRAFT,
            recipients=0,
            roles=[
                VolunteerRole(name=r.name, description=r.description, aliases=r.aliases, position=i)
                for i, r in enumerate(roles)
            ],
        )
        session.add(consultation)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="consultation.create",
            target=f"consultation:{consultation.id}",
            kind=kind.value,
            anonymous=anonymous,
        )
        return consultation


def _load(session: Session, consultation_id: int, *, lock: bool = False) -> Consultation:
    query = (
        select(Consultation)
        .options(selectinload(Consultation.roles), selectinload(Consultation.mailing_list))
        .where(Consultation.id == consultation_id)
    )
    if lock:
        query = query.with_for_update(of=Consultation)
    consultation = session.scalar(query)
    if consultation is None:
        raise NotFound("There is no such consultation.")
    return consultation


def get_consultation(session: Session, consultation_id: int) -> Consultation:
    with read_transaction(session):
        return _load(session, consultation_id)


def list_consultations(
    session: Session, list_ids: Collection[int] | None = None
) -> list[Consultation]:
    """Consultations, newest first; ``list_ids``: of these lists only (None: all)."""
    query = (
        select(Consultation)
        .options(selectinload(Consultation.mailing_list))
        .order_by(Consultation.created_at.desc())
    )
    if list_ids is not None:
        query = query.where(Consultation.list_id.in_(list(list_ids)))
    with read_transaction(session):
        return list(session.scalars(query))


def is_closed(consultation: Consultation, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return consultation.status is ConsultationStatus.CLOSED or (
        consultation.closes_at is not None and consultation.closes_at <= now
    )


def answer_address(services: Services, consultation: Consultation, person: Person | None) -> str:
    """The per-recipient reply address, anonymous consultations included: an answer is bound to
    the person it was sent to (see :func:`record_answer`). A preview, for no one, has a shared
    one that no answer can come in by."""
    slug = consultation.mailing_list.slug
    if person is None or not person.id:
        token = services.links.answer_token(consultation.id, 0, 0)
    else:
        token = services.links.answer_token(consultation.id, person.id, person.link_version)
    return services.config.addresses.answer_address(slug, token)


def _email_context(
    services: Services, consultation: Consultation, person: Person | None
) -> dict[str, object]:
    return {
        "consultation": consultation,
        "mailing_list": consultation.mailing_list,
        "question_html": markdown_to_html(consultation.question_markdown),
        "question_text": markdown_to_text(consultation.question_markdown),
        "roles": [
            (role, services.links.volunteer_url(person, role.id) if person else "")
            for role in consultation.roles
        ],
    }


def send_consultation(
    session: Session, services: Services, consultation_id: int, *, actor: str
) -> int:
    """Send a draft to every active member, one message each; returns how many. Happens once."""
    with transaction(session):
        consultation = _load(session, consultation_id, lock=True)
        if consultation.status is not ConsultationStatus.DRAFT:
            raise InvalidInput("This consultation has already been sent.")
        if consultation.closes_at is not None and consultation.closes_at <= utcnow():
            raise InvalidInput(
                "The closing date has passed: change it before sending.", field="closes_at"
            )
        mailing_list = consultation.mailing_list
        people = session.scalars(
            select(Person)
            .join(Subscription, Subscription.person_id == Person.id)
            .where(
                Subscription.list_id == mailing_list.id,
                Subscription.status == SubscriptionStatus.ACTIVE,
            )
            .order_by(Person.id)
        ).all()
        address = services.list_address(mailing_list.slug)
        base = _email_context(services, consultation, None)
        for person in people:
            token = services.links.unsubscribe_token(
                person.id, mailing_list.id, person.link_version
            )
            headers = {
                **member_list_headers(services, mailing_list, token),
                "Reply-To": answer_address(services, consultation, person),
            }
            context = {
                **base,
                "unsubscribe_url": services.links.unsubscribe_url(token),
                "roles": [
                    (role, services.links.volunteer_url(person, role.id))
                    for role in consultation.roles
                ],
            }
            enqueue(
                session,
                services,
                kind="consultation",
                person=person,
                sender=Envelope(address, mailing_list.name, headers),
                context=context,
            )
        consultation.status = ConsultationStatus.OPEN
        consultation.sent_at = utcnow()
        consultation.recipients = len(people)
        audit.record(
            session,
            actor=actor,
            action="consultation.send",
            target=f"consultation:{consultation.id}",
            recipients=len(people),
        )
        return len(people)


def close_consultation(session: Session, consultation_id: int, *, actor: str) -> Consultation:
    """Stop taking answers now (later replies are still kept, marked late, and answered
    "closed")."""
    with transaction(session):
        consultation = _load(session, consultation_id, lock=True)
        if consultation.status is ConsultationStatus.DRAFT:
            raise InvalidInput("This consultation has not been sent.")
        if consultation.status is not ConsultationStatus.CLOSED:
            consultation.status = ConsultationStatus.CLOSED
            consultation.closed_at = utcnow()
            audit.record(
                session,
                actor=actor,
                action="consultation.close",
                target=f"consultation:{consultation.id}",
            )
        return consultation


def preview_consultation(
    session: Session, services: Services, consultation_id: int
) -> RenderedEmail:
    """Subject, text and HTML exactly as a member will see them (links point nowhere)."""
    consultation = get_consultation(session, consultation_id)
    sample = sample_member()
    context = {
        **_email_context(services, consultation, sample),
        "person": sample,
        "unsubscribe_url": f"{services.links.base_url}/u/preview",
    }
    return services.emails.render("consultation", context)


# --- answers by email -----------------------------------------------------------------------------


def _role_pattern(term: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in term.lower().split()]
    last = words[-1]
    # A plural of the last word counts too: communication(s), policy/policies.
    words[-1] = last[:-1] + "(?:y|ies)" if last.endswith("y") else last + "(?:e?s)?"
    return re.compile(r"\b" + r"[\s-]+".join(words) + r"\b", re.I)


def match_roles(text: str, roles: list[VolunteerRole]) -> list[VolunteerRole]:
    """The roles a reply names, by name or by one of the role's aliases, in the consultation's
    order."""
    found = []
    for role in roles:
        terms = [role.name, *(a for a in role.aliases.split(",") if a.strip())]
        if any(_role_pattern(term).search(text) for term in terms):
            found.append(role)
    return found


@dataclass(frozen=True)
class AnswerOutcome:
    summary: str
    stored: bool
    late: bool = False
    replied: bool = False
    roles: list[str] = field(default_factory=list)
    #: Stored as an anonymous answer: the message it came in must not keep who sent it or what it
    #: said.
    anonymous: bool = False


def claim_for_reply(
    session: Session, services: Services, *, token: str | None, thread_ids: list[str]
) -> AnswerClaim | None:
    """The consultation and person a reply answers for: by its reply address, else by its
    threading headers.

    Threading matches only a Message-ID we sent with a consultation; anything
    else returns None (the message is then read as an ordinary one).
    """
    if token:
        return services.links.load_answer(token)
    ids = our_ids(thread_ids, services.config.mail.domain)
    if not ids:
        return None
    with read_transaction(session):
        sent = session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.message_id.in_(ids), OutboxMessage.kind == "consultation")
            .limit(1)
        )
    if sent is None or not sent.headers:
        return None
    local = sent.headers.get("Reply-To", "").rpartition("@")[0]
    _, plus, detail = local.partition("+")
    if not plus:
        return None
    try:
        return services.links.load_answer(detail)
    except InvalidLink:
        return None


def record_answer(
    session: Session,
    services: Services,
    *,
    claim: AnswerClaim,
    email: str,
    display_name: str | None,
    text: str,
    thread: ReplyThread,
    acknowledge: bool = True,
) -> AnswerOutcome:
    """Store what a member wrote back, and acknowledge it (threaded; rate-limited like every
    auto-reply; not at all when ``acknowledge`` is False, as for a message whose return path is
    not its From: mailbox).

    A named member's later replies add to their one answer; in an anonymous
    consultation each reply stands alone, and the outcome says so: the
    message it came in must then keep neither its sender nor its text (see
    ``InboundOutcome.forget_sender``). A reply after the closing date is kept
    (marked late) and the sender is told the consultation has closed.

    The answer is the reply address's person's (``claim``), and theirs only:
    from another address, from someone erased or no longer on the list, it
    is refused with :class:`NotTheirAnswer`, and left for an organiser.
    """
    text = text.strip()
    with transaction(session):
        consultation = _load(session, claim.consultation_id)
        if consultation.status is ConsultationStatus.DRAFT:
            raise NotFound("This consultation has not been sent.")
        person = _respondent(session, consultation, claim, email)
        if display_name and not person.display_name:
            person.display_name = " ".join(display_name.split())[:200]
        late = is_closed(consultation)
        may_reply = acknowledge and may_auto_reply(session, services, person.email)
        roles: list[VolunteerRole] = []
        if not text:
            _acknowledge(
                session,
                services,
                consultation,
                person,
                thread,
                may_reply,
                kind="consultation_empty",
            )
            return AnswerOutcome(
                "empty reply: nothing stored", stored=False, late=late, replied=may_reply
            )
        now = utcnow()
        if consultation.anonymous:
            day = (
                (consultation.sent_at or now)
                .astimezone(UTC)
                .replace(hour=0, minute=0, second=0, microsecond=0)
            )
            _add_to_answer(
                session,
                consultation,
                text,
                late=late,
                at=day,
                respondent=services.links.pseudonym("respondent", f"{consultation.id}:{person.id}"),
            )
        else:
            _add_to_answer(session, consultation, text, late=late, at=now, person=person)
            if consultation.kind is ConsultationKind.VOLUNTEERS:
                roles = match_roles(text, consultation.roles)
                for role in roles:
                    _offer(session, role, person, source="email")
            audit.record(
                session,
                actor=f"person:{person.id}",
                action="consultation.answer",
                target=f"consultation:{consultation.id}",
                late=late,
                roles=[r.name for r in roles],
            )
        _acknowledge(
            session,
            services,
            consultation,
            person,
            thread,
            may_reply,
            kind="consultation_ack",
            late=late,
            roles=roles,
        )
        what = "anonymous answer" if consultation.anonymous else "answer"
        summary = f"{what} stored for consultation {consultation.id}" + (
            " (late: closed)" if late else ""
        )
        if consultation.kind is ConsultationKind.VOLUNTEERS:
            summary += "; roles: " + (", ".join(r.name for r in roles) or "none named")
        return AnswerOutcome(
            summary,
            stored=True,
            late=late,
            replied=may_reply,
            roles=[r.name for r in roles],
            anonymous=consultation.anonymous,
        )


class NotTheirAnswer(DomainError):
    """A reply to a consultation that is not its reply address's person's to give."""


def _respondent(
    session: Session, consultation: Consultation, claim: AnswerClaim, email: str
) -> Person:
    """The person a reply answers for: the one its reply address was sent to, when that person
    sent it and is still on the list."""
    address = normalise_email(email)
    if claim.person_id:
        person = session.get(Person, claim.person_id)
        if person is None or person.link_version != claim.link_version:
            raise NotTheirAnswer("its reply address was sent to someone no longer here")
        if mailbox_of(person.email) != mailbox_of(address):
            raise NotTheirAnswer("it came from another address than its reply address was sent to")
    else:  # the one shared reply address anonymous consultations once had
        found = find_person(session, address)
        if found is None:
            raise NotTheirAnswer("it came from someone who was not asked")
        person = found
    if not is_member(session, person.email, consultation.list_id):
        raise NotTheirAnswer("it came from someone who is not on the list")
    return person


def _add_to_answer(
    session: Session,
    consultation: Consultation,
    text: str,
    *,
    late: bool,
    at: datetime,
    person: Person | None = None,
    respondent: str | None = None,
) -> None:
    """Add a reply to the one answer of its person (``person``, or in an anonymous consultation
    ``respondent``), starting it with the first."""
    mine = (
        ConsultationAnswer.person_id == person.id
        if person is not None
        else ConsultationAnswer.respondent == respondent
    )
    answer = session.scalar(
        select(ConsultationAnswer).where(
            ConsultationAnswer.consultation_id == consultation.id, mine
        )
    )
    if answer is None:
        session.add(
            ConsultationAnswer(
                id=uuid.uuid4().hex,
                consultation_id=consultation.id,
                person_id=person.id if person is not None else None,
                respondent=respondent,
                text=text,
                late=late,
                received_at=at,
                updated_at=at,
                replies=1,
            )
        )
        if respondent is not None:
            _store_in_id_order(session)
        return
    answer.text = answer.text + REPLY_SEPARATOR + text
    answer.replies += 1
    if person is not None:
        answer.updated_at = at
    answer.late = answer.late or late


def _store_in_id_order(session: Session) -> None:
    """Within the caller's transaction: a new anonymous answer must not stand where its arrival
    put it, after the answers before it, since the acknowledgements (which name their recipients)
    are in that same order. SQLite keeps the table in the order of its random ids (WITHOUT ROWID);
    PostgreSQL appends, so the table is rewritten in that order (it is small, and anonymous
    answers are few)."""
    if session.get_bind().dialect.name == "postgresql":
        session.flush()
        session.execute(sql("CLUSTER consultation_answer USING pk_consultation_answer"))


def _acknowledge(
    session: Session,
    services: Services,
    consultation: Consultation,
    person: Person,
    thread: ReplyThread,
    may_reply: bool,
    *,
    kind: str,
    late: bool = False,
    roles: list[VolunteerRole] | None = None,
) -> None:
    if not may_reply:
        return
    mailing_list = consultation.mailing_list
    address = services.list_address(mailing_list.slug)
    enqueue(
        session,
        services,
        kind=kind,
        person=person,
        reply_to=thread,
        auto_reply=True,
        sender=Envelope(
            address, mailing_list.name, {"Reply-To": answer_address(services, consultation, person)}
        ),
        context={
            **_email_context(services, consultation, person),
            "late": late,
            "named_roles": [r.name for r in roles or []],
        },
    )


def _offer(session: Session, role: VolunteerRole, person: Person, *, source: str) -> bool:
    """Record interest in a role once; returns whether it is new."""
    exists = session.scalar(
        select(VolunteerOffer.id).where(
            VolunteerOffer.role_id == role.id, VolunteerOffer.person_id == person.id
        )
    )
    if exists is not None:
        return False
    session.add(
        VolunteerOffer(
            role_id=role.id, person_id=person.id, source=source, status=OfferStatus.OFFERED
        )
    )
    return True


# --- volunteering by signed link ------------------------------------------------------------------


@dataclass(frozen=True)
class VolunteerPage:
    """What the volunteer link page may show: the role and the button, nothing of the person (a
    link may be forwarded). After the press, ``offered`` says whether that press made the offer
    (False: it had been made before, and nothing changed)."""

    consultation: Consultation
    role: VolunteerRole
    closed: bool
    offered: bool = False


def _volunteer_claim(
    session: Session, services: Services, token: str
) -> tuple[VolunteerRole, Person]:
    claim = services.links.load_volunteer(token)
    role = session.scalar(
        select(VolunteerRole)
        .options(selectinload(VolunteerRole.consultation).selectinload(Consultation.mailing_list))
        .where(VolunteerRole.id == claim.role_id)
    )
    person = session.get(Person, claim.person_id)
    if role is None or person is None or person.link_version != claim.link_version:
        raise InvalidLink("This link is no longer valid.")
    removed = session.scalar(
        select(Subscription.id).where(
            Subscription.person_id == person.id,
            Subscription.list_id == role.consultation.list_id,
            Subscription.status == SubscriptionStatus.REMOVED,
        )
    )
    if removed is not None:  # taken off that list: its links no longer work for them
        raise InvalidLink("This link is no longer valid.")
    return role, person


def volunteer_page(session: Session, services: Services, token: str) -> VolunteerPage:
    """For GET: what the link is about. Changes nothing (mail scanners open every link)."""
    with read_transaction(session):
        role, _ = _volunteer_claim(session, services, token)
        return VolunteerPage(role.consultation, role, is_closed(role.consultation))


def volunteer_by_link(session: Session, services: Services, token: str) -> VolunteerPage:
    """For POST: record interest in the link's role and confirm by email. Repeating changes
    nothing."""
    with transaction(session):
        role, person = _volunteer_claim(session, services, token)
        consultation = role.consultation
        if is_closed(consultation):
            raise ConsultationClosed(
                "This call for volunteers has closed. Reply to the email if you still want "
                "to help: organisers read every reply."
            )
        offered = _offer(session, role, person, source="link")
        if offered:
            audit.record(
                session,
                actor=f"person:{person.id}",
                action="volunteer.offer",
                target=f"role:{role.id}",
            )
            address = services.list_address(consultation.mailing_list.slug)
            enqueue(
                session,
                services,
                kind="volunteer_thanks",
                person=person,
                sender=Envelope(
                    address,
                    consultation.mailing_list.name,
                    {"Reply-To": answer_address(services, consultation, person)},
                ),
                context={"consultation": consultation, "role": role},
            )
        return VolunteerPage(consultation, role, False, offered)


# --- the organisers' side -------------------------------------------------------------------------


def find_answers(
    session: Session, consultation_id: int, *, search: str = "", tag: str = ""
) -> list[ConsultationAnswer]:
    """Answers, oldest first, optionally only those containing ``search`` or carrying ``tag``."""
    with read_transaction(session):
        query = (
            select(ConsultationAnswer)
            .options(selectinload(ConsultationAnswer.person))
            .where(ConsultationAnswer.consultation_id == consultation_id)
            .order_by(ConsultationAnswer.received_at, ConsultationAnswer.id)
        )
        if search.strip():
            escaped = search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(ConsultationAnswer.text.ilike(f"%{escaped}%", escape="\\"))
        if tag.strip():
            query = query.where(
                ConsultationAnswer.id.in_(
                    select(AnswerTag.answer_id).where(AnswerTag.tag == _clean_tag(tag))
                )
            )
        return list(session.scalars(query))


def _clean_tag(tag: str) -> str:
    return " ".join(tag.lower().split())[:MAX_TAG]


def tag_answer(session: Session, answer_id: str, tag: str, *, actor: str) -> None:
    tag = _clean_tag(tag)
    if not tag:
        raise InvalidInput("Enter a tag.", field="tag")
    with transaction(session):
        answer = session.get(ConsultationAnswer, answer_id)
        if answer is None:
            raise NotFound("There is no such answer.")
        if tag not in {t.tag for t in answer.tags}:
            answer.tags.append(AnswerTag(tag=tag))
            audit.record(
                session,
                actor=actor,
                action="answer.tag",
                target=f"consultation:{answer.consultation_id}",
                tag=tag,
            )


def untag_answer(session: Session, answer_id: str, tag: str, *, actor: str) -> None:
    with transaction(session):
        removed = rows_changed(
            session,
            delete(AnswerTag).where(
                AnswerTag.answer_id == answer_id, AnswerTag.tag == _clean_tag(tag)
            ),
        )
        if removed:
            audit.record(
                session, actor=actor, action="answer.untag", target=f"answer:{answer_id}", tag=tag
            )


def tag_counts(session: Session, consultation_id: int) -> list[tuple[str, int]]:
    with read_transaction(session):
        return [
            (tag, count)
            for tag, count in session.execute(
                select(AnswerTag.tag, func.count())
                .join(ConsultationAnswer, ConsultationAnswer.id == AnswerTag.answer_id)
                .where(ConsultationAnswer.consultation_id == consultation_id)
                .group_by(AnswerTag.tag)
                .order_by(func.count().desc(), AnswerTag.tag)
            )
        ]


def answers_csv(consultation: Consultation, answers: list[ConsultationAnswer]) -> bytes:
    """The answers as a spreadsheet; an anonymous consultation's has no name, address or time."""
    if consultation.anonymous:
        return spreadsheet_csv(
            ["Late", "Tags", "Answer"],
            (("yes" if a.late else "", ", ".join(t.tag for t in a.tags), a.text) for a in answers),
        )
    header = ["Received (UTC)", "Late", "Replies", "Tags", "Answer"]
    return spreadsheet_csv(
        ["Name", "Email", *header],
        (
            (
                (a.person.display_name or "") if a.person else "",
                a.person.email if a.person else "",
                a.received_at.strftime("%Y-%m-%d %H:%M"),
                "yes" if a.late else "",
                a.replies,
                ", ".join(t.tag for t in a.tags),
                a.text,
            )
            for a in answers
        ),
    )


@dataclass(frozen=True)
class RoleVolunteers:
    role: VolunteerRole
    offers: list[VolunteerOffer]


def volunteers_by_role(session: Session, consultation_id: int) -> list[RoleVolunteers]:
    with read_transaction(session):
        consultation = _load(session, consultation_id)
        offers = session.scalars(
            select(VolunteerOffer)
            .options(selectinload(VolunteerOffer.person))
            .join(VolunteerRole, VolunteerRole.id == VolunteerOffer.role_id)
            .where(VolunteerRole.consultation_id == consultation_id)
            .order_by(VolunteerOffer.created_at, VolunteerOffer.id)
        ).all()
        return [
            RoleVolunteers(role, [o for o in offers if o.role_id == role.id])
            for role in consultation.roles
        ]


def accept_offer(
    session: Session, services: Services, offer_id: int, *, actor: str
) -> VolunteerOffer:
    """Accept a volunteer for a role and tell them by email. Accepting twice sends nothing more."""
    with transaction(session):
        offer = session.scalar(
            select(VolunteerOffer)
            .options(
                selectinload(VolunteerOffer.person),
                selectinload(VolunteerOffer.role)
                .selectinload(VolunteerRole.consultation)
                .selectinload(Consultation.mailing_list),
            )
            .where(VolunteerOffer.id == offer_id)
            .with_for_update()
        )
        if offer is None:
            raise NotFound("There is no such offer.")
        if offer.status is OfferStatus.ACCEPTED:
            return offer
        offer.status = OfferStatus.ACCEPTED
        offer.accepted_at = utcnow()
        offer.accepted_by = actor
        consultation = offer.role.consultation
        address = services.list_address(consultation.mailing_list.slug)
        enqueue(
            session,
            services,
            kind="volunteer_accepted",
            person=offer.person,
            sender=Envelope(address, consultation.mailing_list.name, {"Reply-To": address}),
            context={"consultation": consultation, "role": offer.role},
        )
        audit.record(
            session,
            actor=actor,
            action="volunteer.accept",
            target=f"role:{offer.role_id}",
            offer=offer.id,
        )
        return offer


def apply_answer_retention(session: Session, *, days: int) -> int:
    """Delete answers and volunteer offers of consultations closed more than ``days`` ago (0:
    keep)."""
    if days <= 0:
        return 0
    cutoff = utcnow() - timedelta(days=days)
    with transaction(session):
        old = select(Consultation.id).where(
            or_(Consultation.closed_at < cutoff, Consultation.closes_at < cutoff)
        )
        removed = rows_changed(
            session,
            delete(ConsultationAnswer)
            .where(ConsultationAnswer.consultation_id.in_(old))
            .execution_options(synchronize_session=False),
        )
        roles = select(VolunteerRole.id).where(VolunteerRole.consultation_id.in_(old))
        removed += rows_changed(
            session,
            delete(VolunteerOffer)
            .where(VolunteerOffer.role_id.in_(roles))
            .execution_options(synchronize_session=False),
        )
        return removed
