"""Options several commands share, and how a command prints its result (text, or JSON with
--json)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import IO, Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

json_option: Callable[[F], F] = click.option(
    "--json", "as_json", is_flag=True, help="print JSON instead of text"
)
"""``--json``, given to the command as ``as_json``; print with ``echo_result``."""

timezone_option: Callable[[F], F] = click.option(
    "--timezone",
    default="Europe/London",
    show_default=True,
    help="time zone of the local times given",
)


def markdown_file_option(flag: str, name: str) -> Callable[[F], F]:
    """A required ``flag`` naming a Markdown file (``-`` for standard input); the command gets
    the file's text as ``name``."""

    def read(ctx: click.Context, param: click.Parameter, file: IO[str]) -> str:
        return file.read()

    return click.option(
        flag,
        name,
        required=True,
        metavar="FILE",
        type=click.File("r", encoding="utf-8"),
        callback=read,
        help="Markdown file, or - for standard input",
    )


def echo_json(data: Any) -> None:
    """``data`` as indented JSON on standard output; dates and other values as their text."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def echo_result(as_json: bool, data: Any, text: str | Iterable[str]) -> None:
    """With ``--json`` print ``data``, else ``text`` (a line, or lines, for people)."""
    if as_json:
        echo_json(data)
        return
    for line in [text] if isinstance(text, str) else text:
        click.echo(line)
