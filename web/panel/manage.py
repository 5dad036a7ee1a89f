"""Panel: create lists and meetings, and manage members, with the same rules as the CLI."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from mailer.domain.errors import DomainError, InvalidInput, NotFound
from mailer.domain.imports import (
    INLINE_ROWS,
    import_members,
    import_progress,
    preview_import,
    start_import,
)
from mailer.domain.lists import (
    LeftTheList,
    add_member,
    configure_list,
    create_list,
    find_list,
    find_members,
    get_list,
    list_members,
    rename_member,
)
from mailer.domain.meetings import (
    attendee_report,
    create_meeting,
    create_series,
    parse_local_datetime,
    repeat_rule,
)
from mailer.domain.membership import remove_from_list
from mailer.domain.models import Meeting, SubscriptionStatus
from mailer.domain.reports import members_csv
from mailer.domain.rsvp import change_places, places_plan
from mailer.domain.schedules import (
    MeetingChanges,
    cancel_meeting,
    cancellation_count,
    preview_update,
    update_meeting,
)
from mailer.rendering import counted
from web.db import get_config, get_services, get_session, row_id
from web.errors import flash_refusal, refusal_on_form
from web.panel import bp
from web.panel.actions import (
    confirmation,
    csv_download,
    current_actor,
    flash_outcome,
    list_choices,
)
from web.panel.fields import count_field, local_time_field


class ListForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter the list's name"), Length(max=200)])
    slug = StringField(
        "Address",
        validators=[DataRequired("Enter the list's address"), Length(max=64)],
        description="The part before the @, e.g. forum for forum@your-domain.",
    )
    description = TextAreaField("Description (optional)", validators=[Length(max=2000)])


class MemberForm(FlaskForm):
    email = EmailField(
        "Email address", validators=[DataRequired("Enter an email address"), Length(max=320)]
    )
    name = StringField("Name (optional)", validators=[Length(max=200)])


class SettingsForm(FlaskForm):
    allowed_sender_domains = StringField(
        "Only take mail from these domains (optional)",
        validators=[Length(max=2000)],
        description="Comma-separated, e.g. *.gov.uk, nhs.net. Empty takes mail from anyone.",
    )
    trust_dmarc = BooleanField(
        "Let people join without a confirmation email when our mail server has "
        "verified their address (DMARC pass)"
    )


class RemoveForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired(), Length(max=320)])


class MeetingForm(FlaskForm):
    list_slug = SelectField("List", validators=[DataRequired("Choose a list")])
    title = StringField("Title", validators=[DataRequired("Enter a title"), Length(max=200)])
    starts_at = local_time_field("Starts (UK time)", required="Enter when it starts")
    ends_at = local_time_field("Ends (UK time)", required="Enter when it ends")
    format = SelectField(
        "Format",
        choices=[
            SelectChoice("hybrid", "Hybrid: in person and online"),
            SelectChoice("in_person", "In person"),
            SelectChoice("remote", "Online only"),
        ],
    )
    location = StringField(
        "Location (public, optional)",
        validators=[Length(max=100)],
        description="A few words for the meeting's page and invitations, e.g. London and online. "
        "Not the address: that goes in the venue.",
    )
    venue = TextAreaField("Venue (sent only to in-person delegates)", validators=[Length(max=2000)])
    dial_in = TextAreaField(
        "Joining details (sent only to remote delegates)", validators=[Length(max=2000)]
    )
    capacity = count_field(
        "In-person places (optional)", largest=100_000, what="number of places", example=40
    )
    rsvp_deadline = local_time_field("Replies close (optional, UK time)")
    description = TextAreaField(
        "Public summary (optional)",
        validators=[Length(max=5000)],
        description="Shown on the meeting's public page, in invitations and in calendars, "
        "as you type it (plain text: no formatting). The agenda is separate: it goes only to "
        "registered delegates.",
    )


class MeetingEditForm(FlaskForm):
    """A meeting's details as the organiser may change them after it is created."""

    title = StringField("Title", validators=[DataRequired("Enter a title"), Length(max=200)])
    starts_at = MeetingForm.starts_at
    ends_at = MeetingForm.ends_at
    location = MeetingForm.location
    venue = MeetingForm.venue
    dial_in = MeetingForm.dial_in
    capacity = MeetingForm.capacity
    rsvp_deadline = MeetingForm.rsvp_deadline
    description = MeetingForm.description


def _in_meeting_time(value: datetime, zone: str) -> datetime:
    """A time as the form shows it: in the meeting's zone, to the minute."""
    return value.astimezone(ZoneInfo(zone)).replace(tzinfo=None, second=0, microsecond=0)


def _if_moved(entered: datetime | None, current: datetime, zone: str) -> datetime | None:
    """The time entered, or None when it is the one the form showed (so it is no change)."""
    return None if entered == _in_meeting_time(current, zone) else entered


@bp.route("/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
def meeting_edit(meeting_id: int) -> Any:
    """Change a meeting: first "Check the changes" shows what changes and who will be emailed
    what; only "Save and tell them" changes it and sends the updates."""
    meeting = attendee_report(get_session(), meeting_id).meeting
    form = MeetingEditForm()
    if request.method == "GET":
        form.title.data = meeting.title
        form.starts_at.data = _in_meeting_time(meeting.starts_at, meeting.timezone)
        form.ends_at.data = _in_meeting_time(meeting.ends_at, meeting.timezone)
        form.location.data = meeting.location
        form.venue.data = meeting.venue
        form.dial_in.data = meeting.dial_in
        form.description.data = meeting.description
        form.capacity.data = meeting.capacity
        form.rsvp_deadline.data = (
            _in_meeting_time(meeting.rsvp_deadline, meeting.timezone)
            if meeting.rsvp_deadline
            else None
        )
    plan = places = None
    if form.validate_on_submit():
        changes = MeetingChanges(
            title=form.title.data,
            starts_at=_if_moved(form.starts_at.data, meeting.starts_at, meeting.timezone),
            ends_at=_if_moved(form.ends_at.data, meeting.ends_at, meeting.timezone),
            location=form.location.data or "",
            venue=form.venue.data or "",
            dial_in=form.dial_in.data or "",
            description=form.description.data or "",
        )
        capacity = form.capacity.data
        deadline = (
            parse_local_datetime(form.rsvp_deadline.data, meeting.timezone, "rsvp_deadline")
            if form.rsvp_deadline.data
            else None
        )
        if (
            deadline is not None
            and meeting.rsvp_deadline is not None
            and (
                form.rsvp_deadline.data == _in_meeting_time(meeting.rsvp_deadline, meeting.timezone)
            )
        ):
            deadline = meeting.rsvp_deadline  # shown to the minute: unchanged
        with refusal_on_form(form, "title"):
            plan = preview_update(get_session(), meeting_id, changes)
            places = places_plan(get_session(), meeting_id, capacity)
            if request.form.get("confirmed") == "yes":
                promoted = change_places(
                    get_session(),
                    get_services(),
                    meeting_id,
                    capacity=capacity,
                    rsvp_deadline=deadline,
                    actor=current_actor(),
                )
                told = update_meeting(
                    get_session(),
                    get_services(),
                    meeting_id,
                    actor=current_actor(),
                    **changes.__dict__,
                )
                flash(
                    "Saved. "
                    + (
                        f"{counted(told, 'person', 'people')} emailed about the change. "
                        if told
                        else ""
                    )
                    + (
                        f"{counted(promoted, 'person', 'people')} given a place from the "
                        "waiting list, and told."
                        if promoted
                        else ""
                    )
                )
                return redirect(url_for("panel.meeting", meeting_id=meeting_id))
    return render_template(
        "panel/meeting_edit.html",
        form=form,
        meeting=meeting,
        plan=plan,
        places=places,
        places_changed=places is not None
        and (
            form.capacity.data != meeting.capacity
            or form.rsvp_deadline.data
            != (
                _in_meeting_time(meeting.rsvp_deadline, meeting.timezone)
                if meeting.rsvp_deadline
                else None
            )
        ),
    ), 400 if form.errors else 200


@bp.route("/meetings/<int:meeting_id>/cancel", methods=["GET", "POST"])
def meeting_cancel(meeting_id: int) -> Any:
    """Cancel a meeting, after saying who will be told and letting the organiser say why."""
    report = attendee_report(get_session(), meeting_id)
    meeting = report.meeting
    form = CancelForm()
    if form.validate_on_submit():
        told = cancel_meeting(
            get_session(),
            get_services(),
            meeting_id,
            actor=current_actor(),
            reason=form.reason.data or "",
        )
        flash(f"Cancelled. {counted(told, 'person', 'people')} told, with their calendars.")
        return redirect(url_for("panel.meeting", meeting_id=meeting_id))
    return render_template(
        "panel/meeting_cancel.html",
        form=form,
        meeting=meeting,
        told=cancellation_count(get_session(), meeting_id),
    )


class CancelForm(FlaskForm):
    reason = TextAreaField(
        "Why (optional, sent to everyone told)",
        validators=[Length(max=2000, message="Keep the reason to 2,000 characters.")],
        description="Sent as you type it (plain text: no formatting).",
    )


@bp.route("/lists/new", methods=["GET", "POST"])
def list_new() -> Any:
    form = ListForm()
    if form.validate_on_submit():
        with refusal_on_form(form, "slug", (DomainError,)):
            created = create_list(
                get_session(),
                slug=form.slug.data,
                name=form.name.data,
                description=form.description.data or "",
                actor=current_actor(),
            )
            flash(f"Created {created.name}: {get_config().addresses.list_address(created.slug)}")
            return redirect(url_for("panel.list_detail", slug=created.slug))
    return render_template(
        "panel/list_form.html", form=form, domain=get_config().mail.domain
    ), 400 if form.errors else 200


@bp.route("/lists/<slug>", methods=["GET", "POST"])
def list_detail(slug: str) -> Any:
    form = MemberForm()
    mailing_list = find_list(get_session(), slug)
    if form.validate_on_submit():
        with refusal_on_form(form, "email", (InvalidInput, LeftTheList)):
            add_member(
                get_session(),
                slug=slug,
                email=form.email.data,
                display_name=form.name.data or None,
                actor=current_actor(),
            )
            flash(f"Added {form.email.data}.")
            return redirect(url_for("panel.list_detail", slug=slug))
    search = request.args.get("q", "")[:200]
    try:
        status = SubscriptionStatus(request.args.get("status", "")) or None
    except ValueError:
        status = None
    page = find_members(
        get_session(),
        slug,
        search=search,
        status=status,
        page=request.args.get("page", 1, type=row_id) or 1,
        seen_by=g.visible_lists,
    )
    settings = SettingsForm(
        data={
            "allowed_sender_domains": mailing_list.allowed_sender_domains,
            "trust_dmarc": mailing_list.trust_dmarc,
        }
    )
    return render_template(
        "panel/list_detail.html",
        mailing_list=mailing_list,
        members=page.members,
        page=page,
        search=search,
        status=status.value if status else "",
        statuses=[(s.value, s.value.capitalize()) for s in SubscriptionStatus],
        form=form,
        remove=RemoveForm(),
        settings=settings,
        upload=ImportForm(),
        domain=get_config().mail.domain,
    ), 400 if form.errors else 200


class ImportForm(FlaskForm):
    file = FileField(
        "Import members from a CSV file",
        validators=[FileRequired("Choose a CSV file")],
        description="One row per person: an email column, and a name column if you have one.",
    )


class ConfirmImportForm(FlaskForm):
    data = HiddenField(validators=[DataRequired()])


@bp.post("/lists/<slug>/import")
def list_import(slug: str) -> Any:
    confirm = ConfirmImportForm()
    if confirm.data.data and confirm.validate_on_submit():
        try:
            raw = base64.b64decode(confirm.data.data, validate=True)
            preview = preview_import(raw)
            if len(preview.valid) > INLINE_ROWS:
                job = start_import(
                    get_session(), slug=slug, rows=preview.valid, actor=current_actor()
                )
                return redirect(url_for("panel.list_import_progress", slug=slug, job_id=job.id))
            result = import_members(
                get_session(), slug=slug, rows=preview.valid, actor=current_actor()
            )
        except (binascii.Error, ValueError):
            flash_refusal("Not imported: the file sent back was damaged. Choose it again.")
            return redirect(url_for("panel.list_detail", slug=slug))
        except DomainError as exc:  # the list was deleted, say, since the preview
            flash_refusal(f"Not imported: {exc}")
            return redirect(url_for("panel.dashboard"))
        flash(
            f"Added {counted(result.added, 'member')}"
            + (
                f"; {counted(result.already, 'address', 'addresses')} already on the list"
                if result.already
                else ""
            )
            + (
                f"; {result.left_earlier} had left the list or been removed from it, and were "
                "not added back"
                if result.left_earlier
                else ""
            )
            + "."
        )
        return redirect(url_for("panel.list_detail", slug=slug))
    form = ImportForm()
    if not form.validate_on_submit():
        flash_refusal("Choose a CSV file to import.")
        return redirect(url_for("panel.list_detail", slug=slug))
    raw = form.file.data.read()
    try:
        preview = preview_import(raw)
    except InvalidInput as exc:
        flash_refusal(f"Not imported: {exc}")
        return redirect(url_for("panel.list_detail", slug=slug))
    return render_template(
        "panel/import_preview.html",
        slug=slug,
        preview=preview,
        confirm=ConfirmImportForm(data={"data": base64.b64encode(raw).decode()}),
    )


@bp.get("/lists/<slug>/imports/<int:job_id>")
def list_import_progress(slug: str, job_id: int) -> Any:
    """Progress of a large import; refreshes itself (no JavaScript needed) until it is done."""
    job = import_progress(get_session(), job_id)
    if job.mailing_list.slug != slug:
        abort(404)
    return render_template("panel/import_progress.html", job=job, slug=slug)


@bp.get("/lists/<slug>/members.csv")
def list_members_csv(slug: str) -> Any:
    members = list_members(get_session(), slug, seen_by=g.visible_lists)
    return csv_download(members_csv(members), f"{slug}-members.csv")


@bp.post("/lists/<slug>/settings")
def list_settings(slug: str) -> Any:
    form = SettingsForm()
    if not form.validate_on_submit():
        abort(400)
    domains = form.allowed_sender_domains.data or ""
    flash_outcome(
        lambda: configure_list(
            get_session(),
            slug=slug,
            actor=current_actor(),
            allowed_sender_domains=domains,
            trust_dmarc=bool(form.trust_dmarc.data),
        ),
        lambda _list: "Settings saved.",
        refused="Not saved",
    )
    return redirect(url_for("panel.list_detail", slug=slug))


@bp.get("/lists/<slug>/remove")
def list_remove_member_confirm(slug: str) -> Any:
    email = request.args.get("email", "")
    mailing_list = get_list(get_session(), slug)
    return confirmation(
        question=f"Remove {email} from {mailing_list.name}?",
        details=[
            "They get no more mail from the list, and every link they were sent stops working.",
            "Their answers to its meetings still to come are withdrawn: a place they hold goes "
            "to the next in line, and they cannot register again.",
            "They are not told. Only an organiser can add them back.",
        ],
        button="Yes, remove them",
        action=url_for("panel.list_remove_member", slug=slug),
        back=url_for("panel.list_detail", slug=slug),
        warning=True,
        fields={"email": email},
    )


@bp.post("/lists/<slug>/remove")
def list_remove_member(slug: str) -> Any:
    form = RemoveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        remove_from_list(
            get_session(),
            get_services(),
            slug=slug,
            email=form.email.data,
            actor=current_actor(),
        )
    except NotFound as exc:
        flash_refusal(str(exc))
    else:
        flash(f"Removed {form.email.data}.")
    return redirect(url_for("panel.list_detail", slug=slug))


class NameForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[Length(max=200, message="Keep the name to 200 characters.")],
        description="As the member is greeted in emails and shown here. Leave empty for none.",
    )


@bp.route("/lists/<slug>/name", methods=["GET", "POST"])
def list_member_name(slug: str) -> Any:
    """Correct a member's name (mail from an unproven sender never changes it)."""
    email = request.args.get("email", "")
    mailing_list = find_list(get_session(), slug)
    member = next((m for m in list_members(get_session(), slug) if m.email == email), None)
    if member is None:
        abort(404)
    form = NameForm(data={"name": member.display_name or ""})
    if form.validate_on_submit():
        with refusal_on_form(form, "name", (InvalidInput,)):
            rename_member(
                get_session(),
                slug=slug,
                email=email,
                display_name=form.name.data or "",
                actor=current_actor(),
            )
            flash(f"Saved the name of {email}.")
            return redirect(url_for("panel.list_detail", slug=slug))
    status = 400 if form.errors else 200
    return (
        render_template(
            "panel/member_name.html", mailing_list=mailing_list, email=email, form=form
        ),
        status,
    )


class NewMeetingForm(MeetingForm):
    """A meeting, or the first of a series: "every 3 months on the last Thursday", say."""

    repeats = SelectField(
        "Repeats",
        choices=[
            SelectChoice("0", "Does not repeat"),
            SelectChoice("1", "Every month"),
            SelectChoice("3", "Every 3 months"),
            SelectChoice("6", "Every 6 months"),
            SelectChoice("12", "Every year"),
        ],
        default="0",
    )
    same = SelectField(
        "Each time on",
        choices=[
            SelectChoice(
                "weekday", "The same weekday of the month (for example the last Thursday)"
            ),
            SelectChoice("date", "The same date of the month"),
        ],
        default="weekday",
    )
    occurrences = count_field(
        "How many meetings to set up now", largest=12, what="number of meetings", example=4
    )


@bp.route("/meetings/new", methods=["GET", "POST"])
def meeting_new() -> Any:
    form = NewMeetingForm()
    form.list_slug.choices = list_choices()
    copied = None
    if (copy := request.args.get("copy", type=row_id)) is not None:
        copied = attendee_report(get_session(), copy).meeting
        if not form.is_submitted():
            _copy_details(form, copied)
    if form.validate_on_submit() and form.repeats.data != "0":
        with refusal_on_form(form, "repeats", (DomainError,)):
            return _create_series(form)
    elif form.validate_on_submit():
        with refusal_on_form(form, "title", (DomainError,)):
            meeting = create_meeting(
                get_session(),
                list_slug=form.list_slug.data,
                title=form.title.data,
                starts_at=form.starts_at.data,
                ends_at=form.ends_at.data,
                format=form.format.data,
                venue=form.venue.data or "",
                dial_in=form.dial_in.data or "",
                capacity=form.capacity.data,
                rsvp_deadline=form.rsvp_deadline.data,
                description=form.description.data or "",
                location=form.location.data or "",
                actor=current_actor(),
            )
            flash("Meeting created. Check it, then send the invitations.")
            return redirect(url_for("panel.meeting", meeting_id=meeting.id))
    return render_template(
        "panel/meeting_form.html", form=form, copied=copied
    ), 400 if form.errors else 200


def _copy_details(form: NewMeetingForm, meeting: Meeting) -> None:
    """A new meeting's form filled with another's details, all but its times ("Set up another
    like it"): the next forum is usually the last one at a new date."""
    form.list_slug.data = meeting.mailing_list.slug
    form.title.data = meeting.title
    form.format.data = meeting.format.value
    form.location.data = meeting.location
    form.venue.data = meeting.venue
    form.dial_in.data = meeting.dial_in
    form.capacity.data = meeting.capacity
    form.description.data = meeting.description


def _local_day(value: datetime, zone: str) -> str:
    local = value.astimezone(ZoneInfo(zone))
    return f"{local.day} {local:%B %Y}"


def _create_series(form: NewMeetingForm) -> Any:
    starts: datetime = form.starts_at.data
    deadline: datetime | None = form.rsvp_deadline.data
    created = create_series(
        get_session(),
        list_slug=form.list_slug.data,
        title=form.title.data,
        starts_at=starts,
        ends_at=form.ends_at.data,
        rrule=repeat_rule(starts, every_months=int(form.repeats.data), same=form.same.data),
        count=form.occurrences.data or 4,
        format=form.format.data,
        venue=form.venue.data or "",
        dial_in=form.dial_in.data or "",
        description=form.description.data or "",
        location=form.location.data or "",
        capacity=form.capacity.data,
        deadline_days_before=(starts - deadline).days if deadline else None,
        actor=current_actor(),
    )
    flash(
        f"{counted(len(created), 'meeting')} created: "
        + "; ".join(_local_day(m.starts_at, m.timezone) for m in created)
        + ". Check each, then send its invitations."
    )
    return redirect(url_for("panel.meeting", meeting_id=created[0].id))
