"""Panel: news written in Markdown, previewed exactly as members get it, tested, then sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from mailer.domain.formatted_text import markdown_to_html
from mailer.domain.meetings import attendee_report
from mailer.domain.models import Audience, NewsStatus
from mailer.domain.news import (
    MAX_BODY,
    audience_words,
    cancel_news,
    create_news,
    delivery_report,
    get_news,
    list_news,
    preview_news,
    recipient_count,
    schedule_news,
    send_news_now,
    send_test,
    update_news,
)
from mailer.rendering import counted, first_upper
from web.db import get_services, get_session, row_id
from web.errors import flash_refusal, refusal_on_form
from web.panel import bp
from web.panel.actions import (
    ActionForm,
    confirmation,
    current_actor,
    email_html_response,
    list_choices,
    run_action,
)
from web.panel.fields import local_time_field


class NewsForm(FlaskForm):
    list_slug = SelectField("List", validators=[DataRequired("Choose a list")])
    #: Offered only when writing from a meeting's page: which of its delegates it is for.
    audience = SelectField("Send to", default=Audience.MEMBERS.value)
    subject = StringField("Subject", validators=[DataRequired("Enter a subject"), Length(max=200)])
    body = TextAreaField(
        "Message (Markdown)",
        validators=[DataRequired("Write the message"), Length(max=100_000)],
        description="Use # for headings, **bold**, *italic*, - for lists and [text](https://…) "
        "for links.",
    )


class ScheduleForm(FlaskForm):
    send_at = local_time_field("Send at (UK time)", required="Enter when to send it")


@bp.get("/news")
def news_list() -> Any:
    items = list_news(get_session(), g.visible_lists)
    return render_template(
        "panel/news_list.html", items=items, audiences={n.id: audience_words(n) for n in items}
    )


@bp.route("/news/new", methods=["GET", "POST"])
def news_new() -> Any:
    """Write news for a list, or (``?meeting=ID``, from a meeting's page) for its delegates."""
    form = NewsForm()
    meeting_id = request.args.get("meeting", type=row_id)
    meeting = attendee_report(get_session(), meeting_id).meeting if meeting_id else None
    if meeting is None:
        form.list_slug.choices = list_choices()
        form.audience.choices = [SelectChoice(Audience.MEMBERS.value, "Everyone on the list")]
    else:
        form.list_slug.choices = [
            SelectChoice(meeting.mailing_list.slug, meeting.mailing_list.name)
        ]
        form.audience.choices = [
            SelectChoice(Audience.DELEGATES.value, f"Every delegate of {meeting.title}"),
            SelectChoice(Audience.IN_PERSON.value, "Delegates coming in person"),
            SelectChoice(Audience.REMOTE.value, "Delegates joining remotely"),
        ]
        if request.method == "GET":
            form.audience.data = Audience.DELEGATES.value
    if form.validate_on_submit():
        with refusal_on_form(form, "body"):
            news = create_news(
                get_session(),
                list_slug=form.list_slug.data,
                subject=form.subject.data,
                body_markdown=form.body.data,
                actor=current_actor(),
                organiser_id=g.organiser.id,
                audience=Audience(form.audience.data),
                meeting_id=meeting.id if meeting else None,
            )
            flash("Draft saved. Check the preview, then send a test to yourself.")
            return redirect(url_for("panel.news_detail", news_id=news.id))
    return render_template(
        "panel/news_form.html", form=form, news=None
    ), 400 if form.errors else 200


@bp.route("/news/<int:news_id>/edit", methods=["GET", "POST"])
def news_edit(news_id: int) -> Any:
    news = get_news(get_session(), news_id)
    form = NewsForm(
        data={
            "list_slug": news.mailing_list.slug,
            "subject": news.subject,
            "body": news.body_markdown,
        }
    )
    form.list_slug.choices = [SelectChoice(news.mailing_list.slug, news.mailing_list.name)]
    form.audience.choices = [SelectChoice(news.audience.value, first_upper(audience_words(news)))]
    form.audience.data = news.audience.value
    if form.validate_on_submit():
        with refusal_on_form(form, "body"):
            update_news(
                get_session(),
                news_id,
                subject=form.subject.data,
                body_markdown=form.body.data,
                actor=current_actor(),
            )
            flash("Changes saved.")
            return redirect(url_for("panel.news_detail", news_id=news_id))
    return render_template(
        "panel/news_form.html", form=form, news=news
    ), 400 if form.errors else 200


@bp.post("/news/preview")
def news_markdown_preview() -> Any:
    """The news body as members will see it, for the live preview beside the editor (CSRF-protected
    POST).

    The HTML is sanitised by the same function that renders the email, so the
    preview can be shown in the page as it is.
    """
    source = request.form.get("body", "")
    if len(source) > MAX_BODY:
        return jsonify(error=f"The message must be {MAX_BODY:,} characters or fewer."), 400
    return jsonify(html=markdown_to_html(source))


@bp.get("/news/<int:news_id>")
def news_detail(news_id: int) -> Any:
    news = get_news(get_session(), news_id)
    rendered = preview_news(get_session(), get_services(), news_id)
    report = delivery_report(get_session(), news.mailing_id) if news.mailing_id else None
    return render_template(
        "panel/news_detail.html",
        news=news,
        audience=audience_words(news),
        rendered=rendered,
        report=report,
        action=ActionForm(),
        schedule=ScheduleForm(),
    )


@bp.get("/news/<int:news_id>/preview.html")
def news_preview_html(news_id: int) -> Any:
    """The HTML part on its own, for the preview frame: inline styles allowed, scripts never."""
    return email_html_response(preview_news(get_session(), get_services(), news_id).html)


def _act(news_id: int, action, success: str | Callable[[Any], str]) -> Any:  # type: ignore[no-untyped-def]
    return run_action(action, success, url_for("panel.news_detail", news_id=news_id))


@bp.post("/news/<int:news_id>/test")
def news_test(news_id: int) -> Any:
    return _act(
        news_id,
        lambda: send_test(
            get_session(),
            get_services(),
            news_id,
            to_email=g.organiser.email,
            actor=current_actor(),
        ),
        f"A test copy is on its way to {g.organiser.email}.",
    )


@bp.get("/news/<int:news_id>/send")
def news_send_confirm(news_id: int) -> Any:
    """Before news goes: to how many members, each on their own."""
    news = get_news(get_session(), news_id)
    if news.status in (NewsStatus.SENT, NewsStatus.CANCELLED):
        done = "already been sent" if news.sent_at else "been cancelled"
        return confirmation(
            question=f"“{news.subject}” has {done}",
            details=[],
            button=None,
            action="",
            back=url_for("panel.news_detail", news_id=news_id),
        )
    count = recipient_count(get_session(), news_id)
    people = counted(count, "person", "people")
    return confirmation(
        question=f"Send “{news.subject}” to {people} now?",
        details=[
            f"It goes to {audience_words(news)}: each gets their own copy, with their own "
            "unsubscribe link; nobody sees anyone else's address.",
            "It cannot be taken back once it has gone.",
        ],
        button=f"Yes, send to {people}",
        action=url_for("panel.news_send", news_id=news_id),
        back=url_for("panel.news_detail", news_id=news_id),
    )


@bp.post("/news/<int:news_id>/send")
def news_send(news_id: int) -> Any:
    return _act(
        news_id,
        lambda: send_news_now(get_session(), get_services(), news_id, actor=current_actor()),
        lambda result: (
            f"Sending to {counted(result, 'person', 'people')}. Delivery results appear below."
        ),
    )


@bp.post("/news/<int:news_id>/cancel")
def news_cancel(news_id: int) -> Any:
    return _act(
        news_id, lambda: cancel_news(get_session(), news_id, actor=current_actor()), "Cancelled."
    )


@bp.post("/news/<int:news_id>/schedule")
def news_schedule(news_id: int) -> Any:
    form = ScheduleForm()
    if not form.validate_on_submit():
        flash_refusal("Enter the date and time to send it.")
        return redirect(url_for("panel.news_detail", news_id=news_id))
    local: datetime = form.send_at.data
    at = local.replace(tzinfo=ZoneInfo("Europe/London"))
    return _act(
        news_id,
        lambda: schedule_news(get_session(), news_id, at=at, actor=current_actor()),
        f"Scheduled for {local:%d %B %Y at %H:%M}.",
    )
