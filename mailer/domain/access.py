"""Which list a thing of the panel belongs to, so that a plain organiser sees only their lists.

Membership of a list reveals orientation or gender identity, so an organiser
who runs one list must not see another's members, answers or mail. Every
panel address names what it shows by an id (a meeting, a news item, a
consultation, an inbound message, a list's slug, and the answers, offers and
imports within them); :func:`owning_list` says
whose it is, and the panel refuses it when the organiser does not run that
list (see :func:`mailer.domain.organisers.lists_run_by`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mailer.db import read_transaction
from mailer.domain.models import (
    Consultation,
    ConsultationAnswer,
    ImportJob,
    InboundMessage,
    MailingList,
    Meeting,
    News,
    VolunteerOffer,
    VolunteerRole,
)

#: What a thing outside every list (mail to an unknown address, say) belongs to: admins only.
NO_LIST: Final = -1

#: For each name an address uses: the query of the list that the thing it names belongs to.
_OWNERS = {
    "meeting_id": select(Meeting.list_id).where(Meeting.id == bindparam("value")),
    "news_id": select(News.list_id).where(News.id == bindparam("value")),
    "consultation_id": select(Consultation.list_id).where(Consultation.id == bindparam("value")),
    "slug": select(MailingList.id).where(MailingList.slug == bindparam("value")),
    "job_id": select(ImportJob.list_id).where(ImportJob.id == bindparam("value")),
    "answer_id": select(Consultation.list_id)
    .join(ConsultationAnswer, ConsultationAnswer.consultation_id == Consultation.id)
    .where(ConsultationAnswer.id == bindparam("value")),
    "offer_id": select(Consultation.list_id)
    .join(VolunteerRole, VolunteerRole.consultation_id == Consultation.id)
    .join(VolunteerOffer, VolunteerOffer.role_id == VolunteerRole.id)
    .where(VolunteerOffer.id == bindparam("value")),
}


def owning_list(session: Session, name: str, value: object) -> int | None:
    """The id of the list that the thing ``name`` = ``value`` (a panel address's part, such as
    ``meeting_id`` = 3) belongs to: :data:`NO_LIST` for an inbound message to no list, None when
    there is no such thing (the page says so) or ``name`` names nothing list-bound."""
    with read_transaction(session):
        if name == "inbound_id":
            slug = session.scalar(
                select(InboundMessage.list_slug).where(InboundMessage.id == value)
            )
            if slug is None:
                exists = session.scalar(select(InboundMessage.id).where(InboundMessage.id == value))
                return NO_LIST if exists is not None else None
            list_id = session.scalar(select(MailingList.id).where(MailingList.slug == slug))
            return NO_LIST if list_id is None else list_id
        if name not in _OWNERS:
            return None
        if name == "slug":  # a list's address is found in any case, so it is checked in any case
            value = str(value).lower()
        return session.scalar(_OWNERS[name], {"value": value})


def names_a_list_thing(name: str) -> bool:
    """Whether an address part called ``name`` names something of a list (which a plain
    organiser may then be refused); one that names nothing found is refused too, as the page
    might find it another way."""
    return name in _OWNERS or name == "inbound_id"


def may_see(list_id: int | None, visible: Collection[int] | None) -> bool:
    """Whether an organiser who runs ``visible`` (None: every list, an admin) may see a thing of
    ``list_id`` (None: nothing to check)."""
    return visible is None or list_id is None or list_id in visible
