"""Organisers' Markdown and our own text, for both parts of an email: plain text that reads as text,
HTML whose addresses are links and whose lines are kept."""

from __future__ import annotations

from mailer.domain.formatted_text import (
    markdown_to_html,
    markdown_to_text,
    paragraphs_to_html,
    text_to_html,
)


def test_markdown_reads_as_plain_text() -> None:
    source = (
        "# Agenda\n\n1. Welcome\n2. **Pronouns at work**, with [the slides](https://x.example/s)\n\n"
        "- tea\n- *cake*\n\n> Quoted words\n\nMail <mailto:forum@lists.test> or `code`."
    )
    text = markdown_to_text(source)
    assert text.startswith("Agenda\n======\n\n1. Welcome\n2. Pronouns at work, with the slides")
    assert "(https://x.example/s)" in text and "- tea\n- cake" in text
    assert "> Quoted words" in text and "Mail forum@lists.test or code." in text
    assert not any(mark in text for mark in ("**", "](", "`", "# "))


def test_a_bare_address_is_a_link_in_html_and_stays_as_written_in_text() -> None:
    source = "Read more at https://intranet.example.org/forum."
    assert '<a href="https://intranet.example.org/forum"' in markdown_to_html(source)
    assert markdown_to_text(source) == source


def test_our_text_keeps_its_lines_escapes_and_links_its_addresses() -> None:
    html = str(text_to_html("Room 2.02\n2 Other Street <b>\nhttps://teams.example/join?a=1&b=2."))
    assert html.count("<br>") == 2 and "&lt;b&gt;" in html
    assert '<a href="https://teams.example/join?a=1&amp;b=2"' in html and "</a>." in html
    paragraphs = str(paragraphs_to_html("One line.\n\nAnother\nline.\n"))
    assert paragraphs == "<p>One line.</p>\n<p>Another<br>\nline.</p>"
