"""Email commands, Mailman's way: one small class per command, found by name in one registry.

The -join and -leave addresses are the join and leave commands without a
word; the -request address reads the command word from the subject or the
first line; the list address itself reads plain language (see
:mod:`mailer.inbound.intents`), which names one of these commands or goes to
an organiser. A new command is one new module and one line below.
"""

from __future__ import annotations

import re

from mailer.commands.base import CommandRequest, EmailCommand
from mailer.commands.confirm import Confirm
from mailer.commands.decline import Decline
from mailer.commands.help import Help
from mailer.commands.join import Join
from mailer.commands.leave import Leave
from mailer.commands.register import Register

COMMANDS: dict[str, EmailCommand] = {
    word: command
    for command in (Join(), Leave(), Help(), Confirm(), Register(), Decline())
    for word in (command.name, *command.aliases)
}

_COMMAND_LINE = re.compile(r"^\s*(?:(?:re|aw|fw|fwd)\s*:\s*)*([a-z]+)\b[ \t]*(\S*)", re.I)


def command_in(*lines: str) -> tuple[EmailCommand, str] | None:
    """The first of ``lines`` (a subject, a body) that starts with a command word: the command and
    what follows its word. Reply and forward prefixes ("Re:", "Fwd:") are skipped."""
    for line in lines:
        found = _COMMAND_LINE.match(line)
        if found and found.group(1).lower() in COMMANDS:
            return COMMANDS[found.group(1).lower()], found.group(2)
    return None


__all__ = ["COMMANDS", "CommandRequest", "EmailCommand", "command_in"]
