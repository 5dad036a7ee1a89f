"""Email templates: ``templates/email/<kind>.txt`` and ``<kind>.html``.

Rendered with a plain Jinja environment so the worker needs no Flask. A text
template sets its subject with ``{% set subject = "..." %}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

from mailer.domain.formatted_text import paragraphs_to_html, text_to_html

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None


# Formatting is a pure function of its arguments, and the same meeting's times are written into
# every reply and page about it: each distinct (time, zone) is formatted once.
@lru_cache(maxsize=4096)
def format_when(value: datetime, zone: str = "Europe/London") -> str:
    """``Thursday 12 March 2026, 2:00pm to 4:30pm (GMT)`` style, in the meeting's zone."""
    local = value.astimezone(ZoneInfo(zone))
    hour = local.strftime("%I").lstrip("0")
    day = f"{local.strftime('%A')} {local.day} {local.strftime('%B %Y')}"
    return f"{day}, {hour}:{local.strftime('%M%p').lower()} ({local.tzname()})"


@lru_cache(maxsize=4096)
def format_time_range(starts: datetime, ends: datetime, zone: str = "Europe/London") -> str:
    start_local, end_local = starts.astimezone(ZoneInfo(zone)), ends.astimezone(ZoneInfo(zone))
    date = f"{start_local.strftime('%A')} {start_local.day} {start_local.strftime('%B %Y')}"

    def hm(t: datetime) -> str:
        return f"{t.strftime('%I').lstrip('0')}:{t.strftime('%M%p').lower()}"

    if start_local.date() == end_local.date():
        return f"{date}, {hm(start_local)} to {hm(end_local)} ({start_local.tzname()})"
    return f"{format_when(starts, zone)} to {format_when(ends, zone)}"


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``1 member``, ``3 members``, ``2 addresses``: a count with its noun, never "member(s)"."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def first_upper(text: str) -> str:
    """``text`` with its first letter a capital and the rest as written (unlike Jinja's
    ``capitalize``, which lower-cases the title of a meeting inside it)."""
    return text[:1].upper() + text[1:]


@pass_context
def answer_now(context: Context) -> str:
    """The person's answer as the email being written knows it (its ``waitlisted``,
    ``response`` and ``mode``): "waiting" (for an in-person place), "decline", "in-person",
    "remote", or "" when it knows none. Their links then offer only a change of answer."""
    if context.get("waitlisted"):
        return "waiting"
    if context.get("response") == "declined":
        return "decline"
    return {"in_person": "in-person", "remote": "remote"}.get(str(context.get("mode")), "")


def add_filters(env: Environment) -> None:
    env.filters["when"] = format_when
    env.filters["counted"] = counted
    env.filters["first_upper"] = first_upper
    env.globals["time_range"] = format_time_range
    env.globals["answer_now"] = answer_now


#: Where a footer says that the links above are personal; see ``EmailRenderer.render``.
LINKS_NOTE = "\x1fpersonal-links-note\x1f"
PERSONAL_LINKS_SENTENCE = "The links above are personal to you but contain no personal details."


class EmailRenderer:
    """Renders email templates; ``globals`` (base_url, service_name) are visible to every one."""

    def __init__(
        self, templates_dir: Path = TEMPLATES_DIR, globals: dict[str, Any] | None = None
    ) -> None:
        # Templates ship with the code: compiled once, never re-read from disk per message.
        self.text_env = Environment(
            loader=FileSystemLoader(templates_dir),
            autoescape=False,
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self.html_env = Environment(
            loader=FileSystemLoader(templates_dir),
            auto_reload=False,
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
        )
        for env in (self.text_env, self.html_env):
            add_filters(env)
            env.globals.update(globals or {})
            env.globals["links_note"] = LINKS_NOTE
        self.html_env.filters["text_to_html"] = text_to_html
        base_url = str((globals or {}).get("base_url", ""))
        # A link of ours that is not the privacy page (which the footer itself links to).
        self.personal_link = re.compile(
            re.escape(base_url.rstrip("/")) + r"/(?!privacy\b)[^\s\"'<>]+" if base_url else r"(?!)"
        )

    def render(self, kind: str, context: dict[str, Any]) -> RenderedEmail:
        module = self.text_env.get_template(f"email/{kind}.txt").make_module(context)
        subject = getattr(module, "subject", None)
        if not subject:
            raise ValueError(f"email/{kind}.txt does not set a subject")
        subject = " ".join(str(subject).split())
        # Lines holding only template tags leave blank lines behind; fold runs of them.
        text = re.sub(r"\n[ \t]*(?:\n[ \t]*){2,}", "\n\n", str(module)).strip("\n") + "\n"
        text = self._say_whether_links_are_above(text)
        try:
            html = self.html_env.get_template(f"email/{kind}.html").render(context)
        except TemplateNotFound:  # written in text alone: the same words, as HTML
            body, _, _ = text.rpartition("\n--\n")
            html = self.html_env.get_template("email/_from_text.html").render(
                subject=subject, body=paragraphs_to_html(body or text)
            )
        return RenderedEmail(
            subject=subject, text=text, html=self._say_whether_links_are_above(html)
        )

    def _say_whether_links_are_above(self, rendered: str) -> str:
        """The footer says the links above are personal only where there are links above: the
        note stands where the footer put ``LINKS_NOTE``, or goes with its line."""
        before, marker, after = rendered.partition(LINKS_NOTE)
        if not marker:
            return rendered
        if self.personal_link.search(before):
            return before + PERSONAL_LINKS_SENTENCE + after
        if after.startswith("\n") and before.endswith("\n"):
            after = after[1:]
        return before.rstrip(" ") + after
