"""What a query or the tag table gives: sequences read from the database a slice at a time.

Each reads through a narrow interface (``Matches``: the Index's public ``count`` and
``page``; the tag table through a connection), never the Index itself.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, overload

from .model import Post, Tag, TagInfo

if TYPE_CHECKING:
    from .queries import Query


class Matches(Protocol):
    """What a PostList reads from (an Index): how many posts match a query, and one page of them."""

    def count(self, query: Query) -> int: ...

    def page(self, query: Query, offset: int, limit: int) -> Sequence[Post]: ...


class TagCache(Protocol):
    """Where the tag table is kept once read whole (an Index's header, shared by its content state)."""

    tags: dict[str, TagInfo] | None


class PostList(Sequence[Post]):
    """The posts matching a query, newest first: counted in SQL, and only the slices taken are read."""

    __slots__ = ("_source", "_query", "_len")

    def __init__(self, source: Matches, query: Query) -> None:
        self._source = source
        self._query = query
        self._len: int | None = None

    def __len__(self) -> int:
        if self._len is None:
            self._len = self._source.count(self._query)
        return self._len

    @overload
    def __getitem__(self, i: int) -> Post: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Post]: ...
    def __getitem__(self, i: int | slice) -> Post | Sequence[Post]:
        if isinstance(i, slice):
            start, stop, step = (
                i.indices(len(self))
                if (i.start or 0) < 0 or (i.stop or 0) < 0 or i.stop is None
                else (i.start or 0, i.stop, i.step or 1)
            )
            if stop <= start:
                return ()
            posts = self._source.page(self._query, start, stop - start)
            return posts[::step] if step != 1 else posts
        n = i + len(self) if i < 0 else i
        if n < 0:
            raise IndexError(i)
        found = self._source.page(self._query, n, 1)
        if not found:
            raise IndexError(i)
        return found[0]

    def __iter__(self) -> Iterator[Post]:
        start = 0
        while True:
            chunk = self._source.page(self._query, start, 256)
            yield from chunk
            if len(chunk) < 256:
                return
            start += 256

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PostList({len(self)} posts)"


class Tags(Mapping[str, TagInfo]):
    """Tags by slug (sorted), with label and post count: a lookup reads one tag, iterating reads all."""

    def __init__(self, conn: sqlite3.Connection, cache: TagCache) -> None:
        self._conn = conn
        self._cache = cache

    def _all(self) -> dict[str, TagInfo]:
        header = self._cache
        if header.tags is None:
            rows = self._conn.execute(
                "SELECT l.tag, l.label, l.n, c.n FROM tag_labels l JOIN counts c ON c.kind = 'tag' AND c.key = l.tag "
                "ORDER BY l.tag, l.n DESC, l.label"
            ).fetchall()
            tags: dict[str, TagInfo] = {}
            for slug, label, _, count in rows:
                if slug not in tags:
                    tags[slug] = TagInfo(Tag(slug, label), count)
            header.tags = tags
        return header.tags

    def __getitem__(self, slug: str) -> TagInfo:
        if self._cache.tags is not None:
            return self._cache.tags[slug]
        row = self._conn.execute(
            "SELECT l.label, c.n FROM tag_labels l JOIN counts c ON c.kind = 'tag' AND c.key = l.tag "
            "WHERE l.tag = ? ORDER BY l.n DESC, l.label LIMIT 1",
            (slug,),
        ).fetchone()
        if row is None:
            raise KeyError(slug)
        return TagInfo(Tag(slug, row[0]), row[1])

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())
