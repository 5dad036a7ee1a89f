"""A clearly labelled demo list and meeting, so a first run needs no set-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailer.db import read_transaction
from mailer.domain.lists import create_list
from mailer.domain.meetings import create_meeting
from mailer.domain.models import MailingList, Meeting, OrganiserRole
from mailer.domain.organisers import create_organiser, generate_password
from mailer.mail.addresses import Addresses

DEMO_SLUG = "forum"
DEMO_ORGANISER = "demo-organiser"


@dataclass(frozen=True)
class DemoSeed:
    list_address: str
    meeting: Meeting
    organiser_email: str
    organiser_password: str


def database_is_empty(session: Session) -> bool:
    with read_transaction(session):
        return (session.scalar(select(func.count()).select_from(MailingList)) or 0) == 0


def seed_demo(session: Session, *, domain: str, today: datetime | None = None) -> DemoSeed:
    """Create the demo list, a hybrid meeting three weeks ahead, and a demo organiser."""
    london = ZoneInfo("Europe/London")
    today = (today or datetime.now(london)).astimezone(london)
    day = (today + timedelta(days=21)).date()
    starts = datetime.combine(day, time(14, 0), london)
    create_list(
        session,
        slug=DEMO_SLUG,
        name="[Demo] Leaders of Networks Forum",
        is_demo=True,
        actor="system",
        description="A demo list created on first run. Delete it when you set up your own.",
    )
    meeting = create_meeting(
        session,
        list_slug=DEMO_SLUG,
        title="[Demo] Leaders of Networks Forum",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        timezone_name="Europe/London",
        format="hybrid",
        venue="[Demo venue] Room 1.01, 1 Example Street, London",
        dial_in="[Demo] Join online: https://meet.invalid/demo",
        capacity=40,
        rsvp_deadline=starts - timedelta(days=2),
        description="Quarterly forum (demo data).",
        actor="system",
    )
    password = generate_password()
    email = f"{DEMO_ORGANISER}@{domain}"
    create_organiser(
        session,
        email=email,
        password=password,
        name="Demo organiser",
        role=OrganiserRole.ADMIN,
        actor="system",
        is_demo=True,
    )
    return DemoSeed(Addresses(domain).list_address(DEMO_SLUG), meeting, email, password)
