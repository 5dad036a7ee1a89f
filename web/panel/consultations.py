"""Panel: consultations and calls for volunteers, their answers (search, tags, CSV) and
volunteers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from mailer.domain.consultations import (
    RoleSpec,
    accept_offer,
    answers_csv,
    close_consultation,
    create_consultation,
    find_answers,
    get_consultation,
    list_consultations,
    preview_consultation,
    send_consultation,
    tag_answer,
    tag_counts,
    untag_answer,
    volunteers_by_role,
)
from mailer.domain.lists import active_member_count
from mailer.domain.models import ConsultationKind
from mailer.domain.paging import paging
from mailer.rendering import counted
from web.db import get_services, get_session, row_id
from web.errors import flash_refusal, refusal_on_form
from web.panel import bp
from web.panel.actions import (
    ActionForm,
    confirmation,
    csv_download,
    current_actor,
    flash_outcome,
    list_choices,
    run_action,
)
from web.panel.fields import local_date_field

LONDON = ZoneInfo("Europe/London")


class ConsultationForm(FlaskForm):
    list_slug = SelectField("List", validators=[DataRequired("Choose a list")])
    kind = SelectField(
        "What kind",
        choices=[
            SelectChoice("question", "A question to the members"),
            SelectChoice("volunteers", "A call for volunteers"),
        ],
    )
    title = StringField(
        "Title (the email's subject)", validators=[DataRequired("Enter a title"), Length(max=300)]
    )
    question = TextAreaField(
        "Question (Markdown)",
        validators=[DataRequired("Write the question"), Length(max=50_000)],
        description="What you want members to answer. They reply to the email in their own words.",
    )
    roles = TextAreaField(
        "Roles (calls for volunteers)",
        validators=[Optional(), Length(max=10_000)],
        description="One role per line. After a colon, other words people use for it, separated "
        "by commas: Communications: comms, social media",
    )
    closes_at = local_date_field(
        "Closing date (optional)",
        description="Replies after the end of this day (UK time) are kept but marked late.",
    )
    anonymous = BooleanField(
        "Collect answers anonymously",
        description="Organisers see what people write but not who wrote it. Not possible for "
        "calls for volunteers.",
    )


class TagForm(FlaskForm):
    tag = StringField("Tag", validators=[DataRequired("Enter a tag"), Length(max=60)])


def _roles(text: str) -> list[RoleSpec]:
    specs = []
    for line in (text or "").splitlines():
        name, _, aliases = line.partition(":")
        if name.strip():
            specs.append(RoleSpec(name=name.strip(), aliases=aliases.strip()))
    return specs


@bp.get("/consultations")
def consultations() -> Any:
    return render_template(
        "panel/consultations.html", items=list_consultations(get_session(), g.visible_lists)
    )


@bp.route("/consultations/new", methods=["GET", "POST"])
def consultation_new() -> Any:
    form = ConsultationForm()
    form.list_slug.choices = list_choices()
    if form.validate_on_submit():
        closes_at = (
            datetime.combine(form.closes_at.data, time(23, 59), tzinfo=LONDON)
            if form.closes_at.data
            else None
        )
        with refusal_on_form(form, "question"):
            consultation = create_consultation(
                get_session(),
                list_slug=form.list_slug.data,
                title=form.title.data,
                question_markdown=form.question.data,
                kind=ConsultationKind(form.kind.data),
                anonymous=form.anonymous.data,
                closes_at=closes_at,
                roles=_roles(form.roles.data),
                actor=current_actor(),
            )
            flash("Draft saved. Check the preview, then send it.")
            return redirect(url_for("panel.consultation_detail", consultation_id=consultation.id))
    return render_template("panel/consultation_form.html", form=form), 400 if form.errors else 200


@bp.get("/consultations/<int:consultation_id>")
def consultation_detail(consultation_id: int) -> Any:
    consultation = get_consultation(get_session(), consultation_id)
    search, tag = request.args.get("q", "")[:200], request.args.get("tag", "")[:60]
    session = get_session()
    preview = (
        preview_consultation(session, get_services(), consultation_id)
        if consultation.status.value == "draft"
        else None
    )
    answers = find_answers(session, consultation_id, search=search, tag=tag)
    at = paging(len(answers), request.args.get("page", 1, type=row_id) or 1, ANSWERS_PER_PAGE)
    return render_template(
        "panel/consultation_detail.html",
        consultation=consultation,
        search=search,
        tag=tag,
        found=len(answers),
        answers=answers[at.offset : at.offset + at.per_page],
        at=at,
        counts=tag_counts(session, consultation_id),
        volunteers=volunteers_by_role(session, consultation_id),
        preview=preview,
        action=ActionForm(),
        tag_form=TagForm(),
    )


#: Answers shown on one page of a consultation's page (the CSV has them all).
ANSWERS_PER_PAGE = 50


@bp.get("/consultations/<int:consultation_id>/answers.csv")
def consultation_csv(consultation_id: int) -> Any:
    consultation = get_consultation(get_session(), consultation_id)
    answers = find_answers(
        get_session(),
        consultation_id,
        search=request.args.get("q", ""),
        tag=request.args.get("tag", ""),
    )
    return csv_download(
        answers_csv(consultation, answers), f"consultation-{consultation_id}-answers.csv"
    )


def _act(consultation_id: int, action, success: str | Callable[[Any], str]) -> Any:  # type: ignore[no-untyped-def]
    return run_action(
        action, success, url_for("panel.consultation_detail", consultation_id=consultation_id)
    )


@bp.get("/consultations/<int:consultation_id>/send")
def consultation_send_confirm(consultation_id: int) -> Any:
    """Before a consultation goes: to how many members, and what they are told."""
    consultation = get_consultation(get_session(), consultation_id)
    count = active_member_count(get_session(), consultation.list_id)
    return confirmation(
        question=f"Send “{consultation.title}” to {counted(count, 'member')} now?",
        details=[
            f"Each member of {consultation.mailing_list.name} gets their own email and answers "
            "by replying to it.",
            "Their answers are stored without their name or address."
            if consultation.anonymous
            else "You will see who wrote each answer.",
            "It cannot be taken back once it has gone.",
        ],
        button=f"Yes, send to {counted(count, 'member')}",
        action=url_for("panel.consultation_send", consultation_id=consultation_id),
        back=url_for("panel.consultation_detail", consultation_id=consultation_id),
    )


@bp.get("/consultations/<int:consultation_id>/close")
def consultation_close_confirm(consultation_id: int) -> Any:
    consultation = get_consultation(get_session(), consultation_id)
    return confirmation(
        question=f"Close “{consultation.title}” now?",
        details=[
            "Replies after now are still kept, marked late, and their senders are told it has "
            "closed."
        ],
        button="Yes, close it",
        action=url_for("panel.consultation_close", consultation_id=consultation_id),
        back=url_for("panel.consultation_detail", consultation_id=consultation_id),
        warning=True,
    )


@bp.get("/consultations/<int:consultation_id>/offers/<int:offer_id>/accept")
def offer_accept_confirm(consultation_id: int, offer_id: int) -> Any:
    offers = [
        (offer, group.role)
        for group in volunteers_by_role(get_session(), consultation_id)
        for offer in group.offers
        if offer.id == offer_id
    ]
    if not offers:
        abort(404)
    offer, role = offers[0]
    who = offer.person.display_name or offer.person.email
    return confirmation(
        question=f"Accept {who} for {role.name}?",
        details=[f"We will email {offer.person.email} to say their offer is accepted."],
        button="Yes, accept",
        action=url_for("panel.offer_accept", consultation_id=consultation_id, offer_id=offer_id),
        back=url_for("panel.consultation_detail", consultation_id=consultation_id),
    )


@bp.post("/consultations/<int:consultation_id>/send")
def consultation_send(consultation_id: int) -> Any:
    return _act(
        consultation_id,
        lambda: send_consultation(
            get_session(), get_services(), consultation_id, actor=current_actor()
        ),
        lambda result: f"Sending to {counted(result, 'member')}, each on their own.",
    )


@bp.post("/consultations/<int:consultation_id>/close")
def consultation_close(consultation_id: int) -> Any:
    return _act(
        consultation_id,
        lambda: close_consultation(get_session(), consultation_id, actor=current_actor()),
        "Closed. Later replies are kept, marked late, and told it has closed.",
    )


@bp.post("/consultations/<int:consultation_id>/answers/<answer_id>/tags")
def answer_tag(consultation_id: int, answer_id: str) -> Any:
    form = TagForm()
    if not form.validate_on_submit():
        flash_refusal("Enter a tag.")
    else:
        flash_outcome(
            lambda: tag_answer(get_session(), answer_id, form.tag.data, actor=current_actor()),
            None,
            refused="Not done",
            missing_is_refused=True,
        )
    return redirect(
        url_for("panel.consultation_detail", consultation_id=consultation_id)
        + f"#answer-{answer_id}"
    )


@bp.post("/consultations/<int:consultation_id>/answers/<answer_id>/tags/remove")
def answer_untag(consultation_id: int, answer_id: str) -> Any:
    return _act(
        consultation_id,
        lambda: untag_answer(
            get_session(), answer_id, request.form.get("tag", ""), actor=current_actor()
        ),
        "Tag removed.",
    )


@bp.post("/consultations/<int:consultation_id>/offers/<int:offer_id>/accept")
def offer_accept(consultation_id: int, offer_id: int) -> Any:
    return _act(
        consultation_id,
        lambda: accept_offer(get_session(), get_services(), offer_id, actor=current_actor()),
        "Accepted. We have emailed the volunteer.",
    )
