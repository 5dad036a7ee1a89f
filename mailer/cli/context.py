"""What a command is given: the Config, the runtime, a database session and the services.

The root group puts one ``CliState`` on the click context. A command asks for
what it needs with the ``pass_*`` decorators, which hand it over as keyword
arguments (``config=``, ``runtime=``, ``session=``, ``services=``), so the
decorators can be stacked in any order. The Config is loaded on first use, so
``--help`` works even with a broken configuration file; the runtime (engine,
sessions, services) is opened on first use, once the database is known to be
initialised, and disposed when the command ends.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mailer.config import Config, load_config

if TYPE_CHECKING:
    from mailer.runtime import Runtime

R = TypeVar("R")


@contextmanager
def open_runtime(config: Config) -> Iterator[Runtime]:
    """The engine, sessions and services for ``config``; the engine is disposed on exit."""
    from mailer.runtime import make_runtime

    runtime = make_runtime(config)
    try:
        yield runtime
    finally:
        runtime.engine.dispose()


class DatabaseNotInitialised(Exception):
    """A command that needs the database ran before ``convene init`` made its schema; the
    message names the database (never its password) and says what to run."""


def require_initialised(config: Config) -> None:
    """Raise ``DatabaseNotInitialised`` unless ``config``'s database has a schema; creates
    nothing to find out."""
    from sqlalchemy.engine import make_url

    from mailer.db import normalise_url, revision_at

    if revision_at(config.database_url) is None:
        shown = make_url(normalise_url(config.database_url)).render_as_string(hide_password=True)
        raise DatabaseNotInitialised(
            f"the database ({shown}) is not initialised: run 'convene init' first."
        )


class CliState:
    """One ``convene`` invocation: the ``--config`` path, and the Config and runtime made from it
    (each at most once). ``close`` releases the runtime; the root group calls it at the end."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._config: Config | None = None
        self._runtime: Runtime | None = None
        self._open = ExitStack()

    @property
    def config(self) -> Config:
        """Loaded from ``--config``, else ``$CONVENE_CONFIG``, else ``./convene.toml``; raises
        ConfigError."""
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @property
    def runtime(self) -> Runtime:
        """The runtime of an initialised database; raises ``DatabaseNotInitialised`` (before
        anything is created: no database file, no dev secret key) when ``convene init`` has not
        made the schema yet. ``init`` itself opens its runtime with :func:`open_runtime`."""
        if self._runtime is None:
            require_initialised(self.config)
            self._runtime = self._open.enter_context(open_runtime(self.config))
        return self._runtime

    def close(self) -> None:
        self._open.close()


def current_state() -> CliState:
    state = click.get_current_context().find_object(CliState)
    if state is None:
        raise RuntimeError("a convene command ran outside the convene group")
    return state


def _passing(
    name: str, make: Callable[[CliState], Any]
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """A decorator that calls the command with ``name=make(state)`` added to its keyword
    arguments."""

    def decorator(command: Callable[..., R]) -> Callable[..., R]:
        @functools.wraps(command)
        def with_value(*args: Any, **kwargs: Any) -> R:
            return command(*args, **{name: make(current_state())}, **kwargs)

        return with_value

    return decorator


pass_config = _passing("config", lambda state: state.config)
"""Give the command ``config``: the loaded Config."""

pass_services = _passing("services", lambda state: state.runtime.services)
"""Give the command ``services``: what domain functions need to sign links and render email."""


def pass_session(command: Callable[..., R]) -> Callable[..., R]:
    """Give the command ``session``: one database session, open while the command runs."""

    @functools.wraps(command)
    def with_session(*args: Any, **kwargs: Any) -> R:
        with current_state().runtime.sessions() as session:
            return command(*args, session=session, **kwargs)

    return with_session
