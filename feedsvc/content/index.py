"""Read the index database: one consistent snapshot of the published posts, with every query.

``Index`` is what the feeds, the API and the pages see. Its lookups and queries are SQL
over the database; only the rows a caller takes (a page, a feed's newest entries)
become ``Post`` objects. Counts and Last-Modified dates of a query are memoised per
content state, shared by every Index of that state in the process.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, overload

import orjson

from . import db
from .markdown import slugify
from .model import Category, Post, Problem, Site, Tag

_WORD = re.compile(r"\w+")
#: Memoised counts per content state (bounded: arbitrary queries must not grow it forever).
MEMO_MAX = 4096


@dataclass(frozen=True, slots=True)
class Query:
    """Normalised filters for Index.query; hashable so results can be memoised."""

    category: str | None = None
    tag: str | None = None
    lang: str | None = None
    q: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    updated_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class TagInfo:
    """A tag with its label and number of posts."""

    tag: Tag
    count: int


@dataclass(frozen=True, slots=True)
class CategoryInfo:
    """A declared category with its number of posts."""

    category: Category
    count: int


def search_expression(q: str) -> str | None:
    """The FTS5 query for ``q``: every word must occur (each quoted: no operator can be injected)."""
    words = _WORD.findall(q)
    if not words:
        return None
    return " ".join('"' + w.replace('"', '""') + '"' for w in dict.fromkeys(words))


@dataclass(eq=False)
class Header:
    """What one committed state of the database says besides its posts; shared by its Index objects."""

    state: str
    site: Site
    version: str
    problems: tuple[Problem, ...]
    degraded: tuple[str, ...]
    content_mtime: datetime
    total: int
    counts: dict[tuple[str, str], int]
    memo: dict[Query, tuple[int, float]] = field(default_factory=dict)
    tags: dict[str, TagInfo] | None = None


def read_header(conn: sqlite3.Connection, path: str = "", degraded: Sequence[str] | None = None,
                previous: Header | None = None, owner: object = None) -> Index:
    """An Index of the database's current state (``previous`` is reused when the state has not moved).

    ``owner``: what must stay alive while the Index is used (the database holding ``conn``).
    """
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    state = str(meta.get("state", ""))
    if previous is not None and previous.state == state and degraded is None:
        return Index(previous, conn, owner)
    if "site" not in meta:
        raise LookupError(f"the index database {path} holds no content yet")
    problems = [Problem(*p) for p in orjson.loads(meta.get("site_problems") or b"[]")]
    rows = conn.execute(
        "SELECT path, field, message FROM files WHERE field IS NOT NULL "
        "UNION ALL SELECT p.source, 'slug', printf('%Q is already used by %s', p.slug, o.source) "
        "FROM posts p JOIN posts o ON o.slug = p.slug AND o.published = 1 WHERE p.published = 0 "
        "UNION ALL SELECT path, field, message FROM link_problems ORDER BY 1").fetchall()
    problems += [Problem(*r) for r in rows]
    reasons = tuple(degraded) if degraded is not None else tuple(orjson.loads(meta.get("degraded") or b"[]"))
    header = Header(
        state=state, site=db.site_from_data(meta["site"]), version=str(meta["version"]),
        problems=tuple(problems), degraded=reasons,
        content_mtime=datetime.fromtimestamp(int(meta.get("content_mtime_ns", 0)) / 1e9, UTC),
        total=int(meta.get("count", 0)),
        counts={(k, key): n for k, key, n in conn.execute("SELECT kind, key, n FROM counts WHERE kind != 'tag'")},
    )
    return Index(header, conn, owner)


class PostList(Sequence[Post]):
    """The posts matching a query, newest first: counted in SQL, and only the slices taken are read."""

    __slots__ = ("_index", "_query", "_len")

    def __init__(self, index: Index, query: Query) -> None:
        self._index = index
        self._query = query
        self._len: int | None = None

    def __len__(self) -> int:
        if self._len is None:
            self._len = self._index._stats(self._query)[0]
        return self._len

    @overload
    def __getitem__(self, i: int) -> Post: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Post]: ...
    def __getitem__(self, i: int | slice) -> Post | Sequence[Post]:
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self)) if (i.start or 0) < 0 or (i.stop or 0) < 0 or i.stop is None \
                else (i.start or 0, i.stop, i.step or 1)
            if stop <= start:
                return ()
            posts = self._index._page(self._query, start, stop - start)
            return posts[::step] if step != 1 else posts
        n = i + len(self) if i < 0 else i
        if n < 0:
            raise IndexError(i)
        found = self._index._page(self._query, n, 1)
        if not found:
            raise IndexError(i)
        return found[0]

    def __iter__(self) -> Iterator[Post]:
        start = 0
        while True:
            chunk = self._index._page(self._query, start, 256)
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

    def __init__(self, index: Index) -> None:
        self._index = index

    def _all(self) -> dict[str, TagInfo]:
        header = self._index.header
        if header.tags is None:
            rows = self._index.conn.execute(
                "SELECT l.tag, l.label, l.n, c.n FROM tag_labels l JOIN counts c ON c.kind = 'tag' AND c.key = l.tag "
                "ORDER BY l.tag, l.n DESC, l.label").fetchall()
            tags: dict[str, TagInfo] = {}
            for slug, label, _, count in rows:
                if slug not in tags:
                    tags[slug] = TagInfo(Tag(slug, label), count)
            header.tags = tags
        return header.tags

    def __getitem__(self, slug: str) -> TagInfo:
        if self._index.header.tags is not None:
            return self._index.header.tags[slug]
        row = self._index.conn.execute(
            "SELECT l.label, c.n FROM tag_labels l JOIN counts c ON c.kind = 'tag' AND c.key = l.tag "
            "WHERE l.tag = ? ORDER BY l.n DESC, l.label LIMIT 1", (slug,)).fetchone()
        if row is None:
            raise KeyError(slug)
        return TagInfo(Tag(slug, row[0]), row[1])

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


class Index:
    """All published posts of one content state, newest first (ties: slug), with lookups."""

    def __init__(self, header: Header, conn: sqlite3.Connection, owner: object = None) -> None:
        self.header = header
        self.conn = conn
        self._owner = owner
        self.site = header.site
        #: Hash of the published content: the same on every worker and host.
        self.version = header.version
        #: Files that could not be published (or are served from their last good version).
        self.problems = header.problems
        #: Why the last good content is being served (empty when all is well).
        self.degraded = header.degraded
        #: Latest modification seen in the content tree (file/dir mtimes), for Last-Modified.
        self.content_mtime = header.content_mtime

    # -- lookups -----------------------------------------------------------------------------
    @property
    def posts(self) -> PostList:
        """Every published post, newest first."""
        return PostList(self, Query())

    def get(self, slug: str) -> Post | None:
        """The post with this slug, or None."""
        return self._one("p.slug = ? AND p.published = 1", slug)

    def _one(self, where: str, *args: object) -> Post | None:
        row = self.conn.execute(f"SELECT {db.POST_COLUMNS} FROM posts p {db.POST_BODY} WHERE {where}", args).fetchone()
        return None if row is None else db.post_from_row(*row)

    def alias_target(self, slug: str) -> str | None:
        """The current slug for a retired one (from a post's ``aliases``), or None."""
        if self.conn.execute("SELECT 1 FROM posts WHERE slug = ? AND published = 1", (slug,)).fetchone():
            return None
        row = self.conn.execute("SELECT slug FROM aliases WHERE alias = ? ORDER BY date_ts DESC, slug LIMIT 1",
                                (slug,)).fetchone()
        return None if row is None else str(row[0])

    def oldest(self) -> Post | None:
        """The published post published first (ties: the last in feed order)."""
        return self._one("p.published = 1 ORDER BY p.date_ts, p.slug DESC LIMIT 1")

    def latest_update(self) -> Post | None:
        """The published post updated last (ties: the first in feed order)."""
        return self._one("p.published = 1 ORDER BY p.updated_ts DESC, p.date_ts DESC, p.slug LIMIT 1")

    def translations(self, post: Post) -> tuple[Post, ...]:
        """The other published versions of the text ``post`` belongs to, by language."""
        rows = self.conn.execute(
            f"SELECT {db.POST_COLUMNS} FROM posts s JOIN groups g ON g.post = s.id JOIN groups h ON h.grp = g.grp "
            f"JOIN posts p ON p.id = h.post {db.POST_BODY} WHERE s.source = ? AND s.published = 1 AND p.id != s.id "
            "ORDER BY p.lang, p.slug", (post.source,)).fetchall()
        return tuple(db.post_from_row(*r) for r in rows)

    @property
    def categories(self) -> tuple[CategoryInfo, ...]:
        """Declared categories in site.yaml order, with post counts."""
        counts = self.header.counts
        return tuple(CategoryInfo(c, counts.get(("category", c.slug), 0)) for c in self.site.categories)

    @property
    def tags(self) -> Tags:
        """Tags by slug (sorted), with label and post count."""
        return Tags(self)

    def tag_slug(self, name_or_slug: str) -> str | None:
        """The slug of a tag given by its slug or by its name, case-insensitively; None when unknown."""
        for candidate in dict.fromkeys((name_or_slug, slugify(name_or_slug))):
            if candidate and self.conn.execute("SELECT 1 FROM counts WHERE kind = 'tag' AND key = ?",
                                               (candidate,)).fetchone():
                return candidate
        return None

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages that have posts, sorted."""
        return tuple(sorted(k for kind, k in self.header.counts if kind == "lang"))

    def canonical_lang(self, lang: str) -> str:
        """The published spelling of a language tag (BCP 47 tags are case-insensitive: PT-br is pt-BR)."""
        low = lang.lower()
        return next((k for k in self.languages if k.lower() == low), lang)

    # -- Last-Modified ---------------------------------------------------------------------
    def last_modified(self, posts: Sequence[Post]) -> datetime:
        """Last-Modified for a document listing ``posts``: never earlier than any change, never in the future."""
        return self._last_modified(max((p.changed_ts for p in posts), default=0.0))

    def _last_modified(self, newest: float) -> datetime:
        stamp = max(newest, self.content_mtime.timestamp())
        return min(datetime.fromtimestamp(stamp, UTC), datetime.now(UTC)).replace(microsecond=0)

    def query_last_modified(self, query: Query | None = None, **filters: Any) -> datetime:
        """``last_modified`` of every match of a query (an edit moving a post between pages moves every page)."""
        return self._last_modified(self._stats(query or Query(**filters))[1])

    # -- queries ---------------------------------------------------------------------------
    def query(self, query: Query | None = None, **filters: Any) -> PostList:
        """Posts matching every given filter, newest first.

        ``category``/``tag``/``lang`` are exact slugs; ``q`` needs every word (case and
        accent insensitive) in the title, summary or body; ``since``/``until`` bound
        the publication date (inclusive), ``updated_since`` the modification date.
        """
        return PostList(self, query or Query(**filters))

    def events(self, query: Query | None = None, limit: int = 500) -> Sequence[Post]:
        """Posts with an event matching the filters: the last ``limit`` by (start, slug), in that order."""
        plan = self._plan(query or Query(), events=True)
        if plan is None:
            return ()
        sql, args = plan
        rows = self.conn.execute(f"SELECT d.pid FROM ({sql}) d ORDER BY d.event_ts DESC, d.slug DESC LIMIT ?",
                                 [*args, limit]).fetchall()
        posts = self._posts([r[0] for r in rows])
        return sorted(posts, key=lambda p: (p.event.start.timestamp() if p.event else 0.0, p.slug))

    def archive_years(self, query: Query | None = None) -> list[tuple[int, int]]:
        """(year, number of matching posts) for every calendar year (site timezone) that has any, oldest first."""
        base = query or Query()
        stats = self._bounds(base)
        if stats is None:
            return []
        tz = self.site.tz
        first = datetime.fromtimestamp(stats[0], tz).year
        last = datetime.fromtimestamp(stats[1], tz).year
        years = []
        for year in range(first, last + 1):
            since, until = self.year_bounds(year)
            bounded = Query(base.category, base.tag, base.lang, base.q, max(since, base.since or since),
                            min(until, base.until or until), base.updated_since)
            n = self._stats(bounded)[0]
            if n:
                years.append((year, n))
        return years

    def year_bounds(self, year: int) -> tuple[datetime, datetime]:
        """The first and last instant of a calendar year in the site's timezone."""
        tz = self.site.tz
        start = datetime(year, 1, 1, tzinfo=tz)
        end = datetime(year + 1, 1, 1, tzinfo=tz).timestamp() - 1e-6
        return start, datetime.fromtimestamp(end, tz)

    def _bounds(self, query: Query) -> tuple[float, float] | None:
        plan = self._plan(query)
        if plan is None:
            return None
        sql, args = plan
        row = self.conn.execute(f"SELECT min(d.date_ts), max(d.date_ts) FROM ({sql}) d", args).fetchone()
        return None if row[0] is None else (row[0], row[1])

    def _stats(self, query: Query) -> tuple[int, float]:
        """(number of matches, newest change among them), memoised per content state."""
        memo = self.header.memo
        hit = memo.get(query)
        if hit is not None:
            return hit
        if query == Query():
            row = self.conn.execute("SELECT max(changed_ts) FROM posts WHERE published = 1").fetchone()
            result = (self.header.total, row[0] or 0.0)
        else:
            plan = self._plan(query)
            if plan is None:
                result = (0, 0.0)
            else:
                sql, args = plan
                row = self.conn.execute(f"SELECT count(*), max(d.changed_ts) FROM ({sql}) d", args).fetchone()
                result = (row[0], row[1] or 0.0)
        if len(memo) >= MEMO_MAX:
            memo.clear()
        memo[query] = result
        return result

    def _page(self, query: Query, offset: int, limit: int) -> tuple[Post, ...]:
        plan = self._plan(query)
        if plan is None:
            return ()
        sql, args = plan
        rows = self.conn.execute(f"SELECT d.pid FROM ({sql}) d ORDER BY d.date_ts DESC, d.slug LIMIT ? OFFSET ?",
                                 [*args, limit, offset]).fetchall()
        return self._posts([r[0] for r in rows])

    def _posts(self, ids: list[int]) -> tuple[Post, ...]:
        if not ids:
            return ()
        marks = ",".join("?" * len(ids))
        found = {r[0]: db.post_from_row(*r[1:]) for r in self.conn.execute(
            f"SELECT p.id, {db.POST_COLUMNS} FROM posts p {db.POST_BODY} WHERE p.id IN ({marks})", ids)}
        return tuple(found[i] for i in ids if i in found)

    def _plan(self, query: Query, events: bool = False) -> tuple[str, list[Any]] | None:
        """SQL giving (pid, date_ts, slug, changed_ts[, event_ts]) of every match; None: nothing can match.

        Driven by the smallest of the category, tag and language lists (each kept in feed
        order), the other filters checked per row through primary keys.
        """
        counts = self.header.counts
        lang = self.canonical_lang(query.lang) if query.lang is not None else None
        sizes = []
        if query.category is not None:
            sizes.append((counts.get(("category", query.category), 0), "category"))
        if query.tag is not None:
            row = self.conn.execute("SELECT n FROM counts WHERE kind = 'tag' AND key = ?", (query.tag,)).fetchone()
            sizes.append((row[0] if row else 0, "tag"))
        if lang is not None:
            sizes.append((counts.get(("lang", lang), 0), "lang"))
        if any(n == 0 for n, _ in sizes):
            return None
        driver = min(sizes)[1] if sizes else "posts"
        if events and driver == "lang":
            driver = "posts"
        where: list[str] = []
        args: list[Any] = []
        if driver == "category":
            sql = "SELECT d.post AS pid, d.date_ts, d.slug, d.changed_ts{ev} FROM post_categories d{join} WHERE d.category = ?"
            args.append(query.category)
        elif driver == "tag":
            sql = "SELECT d.post AS pid, d.date_ts, d.slug, d.changed_ts{ev} FROM post_tags d{join} WHERE d.tag = ?"
            args.append(query.tag)
        else:
            sql = "SELECT d.id AS pid, d.date_ts, d.slug, d.changed_ts{ev} FROM posts d{join} WHERE d.published = 1"
        post = "d" if driver in ("posts", "lang") else "p"
        # The category and tag tables carry each post's language: only events and
        # updated_since look the post row up.
        need_post = post == "p" and (events or query.updated_since is not None)
        sql = sql.format(ev=f", {post}.event_ts" if events else "",
                         join=" JOIN posts p ON p.id = d.post" if need_post else "")
        if events:
            where.append(f"{post}.event_ts IS NOT NULL")
        if query.category is not None and driver != "category":
            where.append("EXISTS (SELECT 1 FROM post_categories c WHERE c.category = ? AND c.date_ts = d.date_ts "
                         "AND c.slug = d.slug)")
            args.append(query.category)
        if query.tag is not None and driver != "tag":
            where.append("EXISTS (SELECT 1 FROM post_tags t WHERE t.tag = ? AND t.date_ts = d.date_ts AND t.slug = d.slug)")
            args.append(query.tag)
        if lang is not None:
            where.append("d.lang = ?")
            args.append(lang)
        if query.since is not None:
            where.append("d.date_ts >= ?")
            args.append(query.since.timestamp())
        if query.until is not None:
            where.append("d.date_ts <= ?")
            args.append(query.until.timestamp())
        if query.updated_since is not None:
            where.append(f"{post}.updated_ts >= ?")
            args.append(query.updated_since.timestamp())
        if query.q is not None:
            expr = search_expression(query.q)
            if expr is None:
                return None
            where.append(f"{'d.id' if post == 'd' else 'd.post'} IN (SELECT rowid FROM search WHERE search MATCH ?)")
            args.append(expr)
        return sql + "".join(f" AND {w}" for w in where), args
