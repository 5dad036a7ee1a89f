"""Errors raised by domain rules; each edge turns them into its own answer
(an SMTP code, a reply email, an HTTP page or a CLI message)."""


class DomainError(Exception):
    """A rule refused the request. ``str(error)`` is safe to show the person."""


class NotFound(DomainError):
    pass


class AlreadyExists(DomainError):
    pass


class InvalidInput(DomainError):
    """A value is malformed; ``field`` names the input it came from, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidLink(DomainError):
    """A signed link was altered, truncated, or revoked."""


class ExpiredLink(DomainError):
    """A signed link is genuine but too old, or its meeting is over."""


class RsvpClosed(DomainError):
    """The meeting no longer takes answers: cancelled, over, or past its deadline."""


class InvalidChoice(DomainError):
    """The answer does not fit the meeting, e.g. remote for an in-person-only meeting."""


class AuthenticationFailed(DomainError):
    pass
