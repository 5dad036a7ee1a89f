"""Organisers' Markdown (news, agendas) and our own plain text, each written for both parts of an
email: HTML that is safe to send, and plain text that reads as text (no ``**`` or ``[..](..)``).
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode
from markupsafe import Markup, escape

# A bare web address in an organiser's text is a link, as in any mail client.
_markdown = (
    MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False})
    .enable("table")
    .enable("linkify")
)
_ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "strong",
    "em",
    "a",
    "ul",
    "ol",
    "li",
    "blockquote",
    "code",
    "pre",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}

#: A web address in our own text or an organiser's venue and joining details.
_URL = re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def markdown_to_html(source: str) -> str:
    """Markdown to HTML that is safe to send: raw HTML is not passed through, and the
    result is sanitised again (links only to http, https and mailto)."""
    html = _markdown.render(source)
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def markdown_to_text(source: str) -> str:
    """Markdown as a plain-text email says it: emphasis without its stars, a link as its words
    followed by its address, headings underlined, lists and quotes kept as text shows them."""
    blocks = [_block(node) for node in SyntaxTreeNode(_markdown.parse(source)).children]
    return "\n\n".join(block for block in blocks if block)


def _block(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind == "heading":
        words = _inline(node.children[0]) if node.children else ""
        return f"{words}\n{('=' if node.tag == 'h1' else '-') * len(words)}"
    if kind == "paragraph":
        return _inline(node.children[0]) if node.children else ""
    if kind in ("bullet_list", "ordered_list"):
        start = int(str(node.attrs.get("start", 1)))
        items = []
        for number, item in enumerate(node.children, start=start):
            marker = f"{number}. " if kind == "ordered_list" else "- "
            body = "\n\n".join(_block(child) for child in item.children)
            items.append(marker + body.replace("\n", "\n" + " " * len(marker)))
        return "\n".join(items)
    if kind == "blockquote":
        inner = "\n\n".join(_block(child) for child in node.children)
        return "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))
    if kind in ("fence", "code_block"):
        return "\n".join(f"    {line}" for line in node.content.rstrip("\n").split("\n"))
    if kind == "hr":
        return "----"
    if kind == "table":
        rows = [
            " | ".join(_inline(cell.children[0]) if cell.children else "" for cell in row.children)
            for section in node.children
            for row in section.children
        ]
        return "\n".join(rows)
    return "\n\n".join(_block(child) for child in node.children)


def _inline(node: SyntaxTreeNode) -> str:
    out: list[str] = []
    for child in node.children:
        kind = child.type
        if kind == "text":
            out.append(child.content)
        elif kind == "code_inline":
            out.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            out.append("\n")
        elif kind == "link":
            words, href = _inline(child), str(child.attrs.get("href", ""))
            address = href.removeprefix("mailto:")
            out.append(address if words in (href, address) else f"{words} ({address})")
        elif kind == "image":
            out.append(child.content or "")
        else:  # strong, em and anything that only styles its words
            out.append(_inline(child))
    return "".join(out)


def text_to_html(text: str) -> Markup:
    """Our own plain text (or an organiser's venue or joining details) as HTML: escaped, each
    line kept, each web address a link."""
    lines = [_linked(line) for line in text.strip("\n").split("\n")]
    return Markup("<br>\n").join(lines)


def paragraphs_to_html(text: str) -> Markup:
    """A plain-text email's body as HTML paragraphs, for the kinds written in text alone."""
    blocks = [block for block in re.split(r"\n[ \t]*\n", text.strip("\n")) if block.strip()]
    return Markup("\n").join(Markup("<p>{}</p>").format(text_to_html(block)) for block in blocks)


def _linked(line: str) -> Markup:
    parts: list[Markup] = []
    last = 0
    for found in _URL.finditer(line):
        parts.append(escape(line[last : found.start()]))
        url = found.group(0)
        parts.append(Markup('<a href="{0}" style="color:#1d70b8;">{0}</a>').format(url))
        last = found.end()
    parts.append(escape(line[last:]))
    return Markup("").join(parts)
