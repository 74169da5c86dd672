"""Page arithmetic shared by the API and RFC 5005 paged feeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page:
    """Page ``number`` (1-based) of ``total`` items, ``per_page`` at a time."""

    number: int
    per_page: int
    total: int

    @property
    def total_pages(self) -> int:
        """Number of pages; an empty list still has one (empty) page."""
        return max(1, -(-self.total // self.per_page))

    @property
    def exists(self) -> bool:
        """False for a page past the end (which is a 404)."""
        return 1 <= self.number <= self.total_pages

    @property
    def next(self) -> int | None:
        """The next page number, or None on the last page."""
        return self.number + 1 if self.number < self.total_pages else None

    @property
    def prev(self) -> int | None:
        """The previous page number, or None on the first page."""
        return self.number - 1 if self.number > 1 else None

    def slice(self, items: Sequence[T]) -> Sequence[T]:
        """The items on this page."""
        start = (self.number - 1) * self.per_page
        return items[start : start + self.per_page]
