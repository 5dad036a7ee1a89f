"""Pages of a long list (members, attendees): which page there is, and where it starts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Paging:
    """Page ``page`` of ``pages`` over ``total`` items, ``per_page`` to a page."""

    page: int
    pages: int
    total: int
    per_page: int

    @property
    def offset(self) -> int:
        """How many items come before this page."""
        return (self.page - 1) * self.per_page

    @property
    def first(self) -> int:
        """Where this page's first item stands among all (1 for the first)."""
        return self.offset + 1


def paging(total: int, page: int, per_page: int) -> Paging:
    """The page asked for, kept within the pages there are (an out-of-range page number from an
    old link shows the nearest page, not an empty one)."""
    pages = max(1, -(-total // per_page))
    return Paging(min(max(1, page), pages), pages, total, per_page)
