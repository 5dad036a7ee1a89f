"""The organisers' panel. Every view here requires login (checked before any view runs)."""

from __future__ import annotations

import mailbox
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from mailer.domain import audit, second_step
from mailer.domain.attachments import add_attachment, list_attachments
from mailer.domain.health import delivery_health
from mailer.domain.icalendar_invites import calendar_summary
from mailer.domain.invitations import invitation_count, send_invitations
from mailer.domain.lists import all_lists
from mailer.domain.meetings import attendee_report, list_meetings, publish_meeting
from mailer.domain.models import InboundStatus, MeetingStatus, NoticeChoice, utcnow
from mailer.domain.organiser_notices import choose_notices
from mailer.domain.organisers import end_sessions
from mailer.domain.paging import paging
from mailer.domain.places import STATUS_LABELS, Status
from mailer.domain.reports import attendees_csv, find_attendees, representation
from mailer.domain.schedules import PREVIEWS
from mailer.domain.triage import INTENT_WORDS, STATUS_WORDS, inbound_log, triage_queue
from mailer.domain.waitlist import waiting_list
from mailer.mail.addresses import split_recipient
from mailer.rendering import counted
from web.auth import require_list_access, require_login
from web.db import get_config, get_services, get_session, row_id
from web.errors import NotYourList, flash_refusal
from web.panel.actions import (
    ActionForm,
    confirmation,
    csv_download,
    current_actor,
    email_html_response,
    flash_outcome,
)
from web.panel.fields import count_field

bp = Blueprint("panel", __name__, url_prefix="/panel")
#: Rows on one page of the audit log and of the inbound log; older ones are a link away.
AUDIT_PAGE, INBOUND_PAGE = 200, 100
#: Messages on one page of the dev mailbox.
MAILBOX_PAGE = 50
bp.before_request(require_login)
bp.before_request(require_list_access)


@bp.get("/")
def dashboard() -> Any:
    session = get_session()
    lists = all_lists(session, g.visible_lists)
    meetings = list_meetings(session, list_ids=g.visible_lists)
    config = get_config()
    return render_template(
        "panel/dashboard.html",
        lists=lists,
        meetings=meetings,
        domain=config.mail.domain,
        dev_mailbox=config.delivery.backend == "maildir",
    )


@bp.get("/meetings/<int:meeting_id>")
def meeting(meeting_id: int) -> Any:
    report = attendee_report(get_session(), meeting_id)
    organisations = get_config().organisations
    meeting = report.meeting
    search = request.args.get("q", "")[:200]
    try:
        status: Status | None = Status(request.args.get("status", ""))
    except ValueError:
        status = None
    found = find_attendees(
        report,
        search=search,
        status=status,
        organisations=organisations,
        page=request.args.get("page", 1, type=row_id) or 1,
    )
    return render_template(
        "panel/meeting.html",
        report=report,
        found=found,
        search=search,
        status=status.value if status else "",
        statuses=list(STATUS_LABELS.items()),
        meeting=meeting,
        represented=representation(report, organisations) if organisations else None,
        files=list_attachments(get_session(), meeting_id),
        upload=AttachmentForm(),
        agenda=AgendaForm(
            data={"agenda": meeting.agenda, "days_before": meeting.agenda_days_before}
        ),
        previews=PREVIEWS,
        waiting=waiting_list(get_session(), meeting_id),
        open_for_changes=meeting.status is MeetingStatus.PUBLISHED and meeting.ends_at > utcnow(),
    )


class AgendaForm(FlaskForm):
    agenda = TextAreaField(
        "Agenda (Markdown)",
        validators=[Length(max=50_000)],
        description="Sent to registered delegates only, each with their own venue or joining "
        "details.",
    )
    days_before = count_field(
        "Days before the meeting to send it", largest=60, what="number of days", example=7
    )


class AttachmentForm(FlaskForm):
    file = FileField(
        "Add a file to the invitation and agenda",
        validators=[FileRequired("Choose a file")],
        description="PDF, Word, Excel, PowerPoint, OpenDocument, text, CSV, PNG or JPEG; up to 10 "
        "MB.",
    )


@bp.post("/meetings/<int:meeting_id>/attachments")
def meeting_attach(meeting_id: int) -> Any:
    form = AttachmentForm()
    if not form.validate_on_submit():
        flash_refusal(
            "Choose a file to attach."
            if "csrf_token" not in form.errors
            else "Your form expired; try again."
        )
        return redirect(url_for("panel.meeting", meeting_id=meeting_id))
    upload = form.file.data
    flash_outcome(
        lambda: add_attachment(
            get_session(),
            meeting_id,
            filename=upload.filename or "",
            data=upload.read(),
            actor=current_actor(),
        ),
        lambda info: (
            f"Attached {info.filename}. It goes with invitations and the agenda from now on."
        ),
        refused="Not attached",
    )
    return redirect(url_for("panel.meeting", meeting_id=meeting_id))


@bp.get("/meetings/<int:meeting_id>/attendees.csv")
def meeting_csv(meeting_id: int) -> Any:
    report = attendee_report(get_session(), meeting_id)
    return csv_download(
        attendees_csv(report, get_config().organisations), f"meeting-{meeting_id}-attendees.csv"
    )


@bp.post("/meetings/<int:meeting_id>/publish")
def meeting_publish(meeting_id: int) -> Any:
    published = request.form.get("published") == "yes"
    flash_outcome(
        lambda: publish_meeting(
            get_session(), meeting_id, published=published, actor=current_actor()
        ),
        lambda _: (
            "Published: it takes answers, and you can invite members."
            if published
            else "Back to draft: it takes no answers until you publish it."
        ),
        refused="Not changed",
    )
    return redirect(url_for("panel.meeting", meeting_id=meeting_id))


@bp.get("/meetings/<int:meeting_id>/invite")
def meeting_invite_confirm(meeting_id: int) -> Any:
    """Before invitations go: how many members, and what each one gets."""
    report = attendee_report(get_session(), meeting_id)
    meeting = report.meeting
    count = invitation_count(get_session(), meeting_id)
    back = url_for("panel.meeting", meeting_id=meeting_id)
    if not count:
        return confirmation(
            question="There is no one to invite",
            details=[f"Everyone on {meeting.mailing_list.name} has already answered."],
            button=None,
            action="",
            back=back,
        )
    again = meeting.invited_at is not None
    return confirmation(
        question=f"Send the invitation again to {counted(count, 'member')} who "
        f"{'has' if count == 1 else 'have'} not answered?"
        if again
        else f"Send the invitation to {counted(count, 'member')}?",
        details=[
            f"Each member of {meeting.mailing_list.name} who has not answered yet gets their "
            "own email, with links to answer and a calendar invitation.",
            "It says when the meeting is and where in public words; the venue and joining "
            "details go later, to registered delegates only.",
            "Members who have already answered are not sent it again.",
        ],
        button=f"Yes, send {counted(count, 'invitation')}",
        action=url_for("panel.meeting_invite", meeting_id=meeting_id),
        back=back,
    )


@bp.post("/meetings/<int:meeting_id>/invite")
def meeting_invite(meeting_id: int) -> Any:
    flash_outcome(
        lambda: send_invitations(get_session(), get_services(), meeting_id, actor=current_actor()),
        lambda count: (
            f"Invitations are on their way to {counted(count, 'member')}."
            if count
            else "Everyone on the list has already replied or been invited."
        ),
        refused="Not sent",
    )
    return redirect(url_for("panel.meeting", meeting_id=meeting_id))


@bp.get("/inbound")
def inbound() -> Any:
    session = get_session()
    before = request.args.get("before", type=row_id)
    search = request.args.get("q", "")[:200]
    try:
        status: InboundStatus | None = InboundStatus(request.args.get("status", ""))
    except ValueError:
        status = None
    recent = inbound_log(
        session,
        limit=INBOUND_PAGE,
        before=before,
        list_ids=g.visible_lists,
        search=search,
        status=status,
    )
    return render_template(
        "panel/inbound.html",
        messages=triage_queue(session, list_ids=g.visible_lists),
        recent=recent,
        older=recent[-1].id if len(recent) == INBOUND_PAGE else None,
        paged=before is not None,
        list_names={each.slug: each.name for each in all_lists(session, g.visible_lists)},
        intent_words=INTENT_WORDS,
        status_words=STATUS_WORDS,
        search=search,
        status=status.value if status else "",
    )


def _dev_maildir() -> mailbox.Maildir:
    config = get_config()
    if config.delivery.backend != "maildir":
        abort(404)
    config.maildir_path.parent.mkdir(parents=True, exist_ok=True)  # nothing delivered yet
    return mailbox.Maildir(config.maildir_path, create=True)


def _mail_seen_by_organiser() -> Callable[[EmailMessage], bool]:
    """Which sent messages the organiser may see: an admin every one, a plain organiser those
    of the lists they run, known by the List-Id a list message carries or by the list address
    it comes from (confirmations and replies come from the list's own address). Their lists
    are read once, for all the messages asked about."""
    if g.visible_lists is None:
        return lambda _msg: True
    domain = get_config().mail.domain
    slugs = {each.slug for each in all_lists(get_session(), g.visible_lists)}

    def may_see(msg: EmailMessage) -> bool:
        list_id = str(msg.get("List-Id", ""))
        if any(list_id.endswith(f"<{slug}.{domain}>") for slug in slugs):
            return True
        try:
            sender = split_recipient(parseaddr(str(msg.get("From", "")))[1], domain)
        except ValueError:  # not one of our addresses (NotOurDomain is one), or no address
            return False
        return sender.list_slug in slugs

    return may_see


@bp.get("/mailbox")
def dev_mailbox() -> Any:
    box = _dev_maildir()
    may_see = _mail_seen_by_organiser()
    items: list[dict[str, Any]] = []
    for key in box.iterkeys():
        try:
            msg = message_from_bytes(box.get_bytes(key), policy=policy.default)
        except (KeyError, OSError):
            continue
        if not may_see(msg):
            continue
        items.append(
            {
                "key": key,
                "to": str(msg.get("To", "")),
                "subject": str(msg.get("Subject", "")),
                "date": str(msg.get("Date", "")),
                "mtime": box.get_message(key).get_date(),
            }
        )
    items.sort(key=lambda item: item["mtime"], reverse=True)
    search = " ".join(request.args.get("q", "")[:200].split()).lower()
    if search:
        items = [i for i in items if search in i["to"].lower() or search in i["subject"].lower()]
    at = paging(len(items), request.args.get("page", 1, type=row_id) or 1, MAILBOX_PAGE)
    return render_template(
        "panel/mailbox.html",
        items=items[at.offset : at.offset + at.per_page],
        at=at,
        search=request.args.get("q", "")[:200],
    )


def _dev_message(key: str) -> EmailMessage:
    try:
        raw = _dev_maildir().get_bytes(key)
    except KeyError:
        abort(404)
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    if not _mail_seen_by_organiser()(message):
        raise NotYourList()
    return message


@bp.get("/mailbox/<key>")
def dev_mailbox_message(key: str) -> Any:
    """One message of the dev mailbox as its recipient would see it: the HTML part in a frame
    that runs nothing, the text part, the files attached and the calendar entry."""
    msg = _dev_message(key)
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    files = [
        (
            part.get_filename() or "(no name)",
            part.get_content_type(),
            len(_bytes_of(part)),
        )
        for part in msg.iter_attachments()
        if part.get_content_type() != "text/calendar"
    ]
    calendar = next((p for p in msg.walk() if p.get_content_type() == "text/calendar"), None)
    return render_template(
        "panel/mailbox_message.html",
        key=key,
        headers=list(msg.items()),
        text=text_part.get_content() if text_part else "",
        has_html=html_part is not None,
        files=files,
        calendar=calendar_summary(_bytes_of(calendar)) if calendar else None,
    )


def _bytes_of(part: Any) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


@bp.get("/mailbox/<key>/html")
def dev_mailbox_message_html(key: str) -> Any:
    """The HTML part alone, for the sandboxed frame: inline styles, no scripts."""
    html_part = _dev_message(key).get_body(preferencelist=("html",))
    if html_part is None:
        abort(404)
    return email_html_response(str(html_part.get_content()))


class NoticesForm(FlaskForm):
    notices = SelectField(
        "Email me when messages wait for a person, volunteers offer or deliveries fail",
        choices=[
            SelectChoice(NoticeChoice.AT_ONCE.value, "As it happens (at most every 10 minutes)"),
            SelectChoice(NoticeChoice.DAILY.value, "Once a day"),
            SelectChoice(NoticeChoice.NEVER.value, "Never"),
        ],
        description="The email says only how many and where to look: who wrote and what they "
        "wrote stay in the panel.",
    )


@bp.route("/account", methods=["GET", "POST"])
def account() -> Any:
    """An organiser's own choice of emails about what needs them."""
    form = NoticesForm(data={"notices": g.organiser.notices.value})
    if form.validate_on_submit():
        choice = NoticeChoice(form.notices.data)
        choose_notices(get_session(), g.organiser.id, choice)
        flash(
            {
                NoticeChoice.AT_ONCE: "Saved: we will email you as things happen.",
                NoticeChoice.DAILY: "Saved: we will email you once a day when something waits.",
                NoticeChoice.NEVER: "Saved: we will not email you about what waits.",
            }[choice]
        )
        return redirect(url_for("panel.account"))
    return render_template(
        "panel/account.html",
        form=form,
        second_step_required=second_step.required_for(get_config(), g.organiser),
    ), 400 if form.errors else 200


@bp.post("/account/logout-everywhere")
def logout_everywhere() -> Any:
    """End every session of this organiser, on every device (a lost phone, a shared computer);
    they log in again here."""
    if not ActionForm().validate_on_submit():
        abort(400)
    end_sessions(get_session(), g.organiser.id, everywhere=True)
    session.clear()
    flash("You are logged out everywhere, this browser too. Log in again to carry on.")
    return redirect(url_for("auth.login"))


@bp.get("/audit")
def audit_log() -> Any:
    before = request.args.get("before", type=row_id)
    area = request.args.get("area", "")
    area = area if area in audit.AREAS else ""
    entries = audit.recent_lines(get_session(), AUDIT_PAGE, before, area or None)
    return render_template(
        "panel/audit.html",
        entries=entries,
        older=entries[-1].id if len(entries) == AUDIT_PAGE else None,
        paged=before is not None,
        areas=list(audit.AREAS),
        area=area,
    )


@bp.get("/outbox")
def outbox() -> Any:
    return render_template("panel/outbox.html", health=delivery_health(get_session()))


# The views of the other areas register themselves on ``bp`` when imported (Flask's pattern for a
# blueprint split over modules: they import ``bp`` from here, so they come after it).
from web.panel import consultations as _consultations  # noqa: E402,F401  (registers the consultation views)
from web.panel import login_codes as _login_codes  # noqa: E402,F401  (logging in with a code)
from web.panel import manage as _manage  # noqa: E402,F401  (registers the list and meeting forms)
from web.panel import meeting_emails as _meeting_emails  # noqa: E402,F401  (agenda and email previews)
from web.panel import news as _news  # noqa: E402,F401  (registers the news views on this blueprint)
from web.panel import organisers as _organisers  # noqa: E402,F401  (admins: the organisers)
from web.panel import people as _people  # noqa: E402,F401  (registers the data protection views)
from web.panel import triage as _triage  # noqa: E402,F401  (registers the triage views)
from web.panel import waitlist as _waitlist  # noqa: E402,F401  (the waiting list in an organiser's hands)
