"""Read the index database: one consistent snapshot of the published posts, with every query.

``Index`` is what the feeds, the API and the pages see. Its lookups and queries are SQL
over the database; only the rows a caller takes (a page, a feed's newest entries)
become ``Post`` objects. Counts and Last-Modified dates of a query are memoised per
content state, shared by every Index of that state in the process.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from . import schedule
from .changes import SITE_INSTANT, departed
from .errors import NoContentYet
from .lists import PostList, Tags
from .markdown import slugify
from .model import CategoryInfo, Post, Problem, Site, TagInfo
from .queries import SK_BITS, Query, combination, plan, search_expression
from .store import codecs
from .store.schema import CLAIM_PROBLEMS

#: The published test of a row found by another index. The unary ``+`` keeps the planner
#: from driving the lookup by the ``published`` column (every post_* order index starts
#: with it): without statistics it preferred that index, scanning every published post
#: (14 ms per unknown slug at 10k posts) instead of one ``posts_slug`` probe.
PUBLISHED_ROW = "+p.published = 1"
#: Memoised counts per content state (bounded: arbitrary queries must not grow it forever).
MEMO_MAX = 4096


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
    #: When site.yaml's published values last changed (every document shows them).
    site_instant: float = 0.0
    #: The next scheduled date or expiry (POSIX seconds; schedule.py), or None.
    next_change: float | None = None


def read_header(conn: sqlite3.Connection, path: str = "", degraded: Sequence[str] | None = None,
                previous: Header | None = None, owner: object = None) -> Index:
    """An Index of the database's current state (``previous`` is reused when the state has not moved).

    ``owner``: what must stay alive while the Index is used (the database holding ``conn``).
    """
    row = conn.execute("SELECT value FROM meta WHERE key = 'state'").fetchone()
    state = str(row[0]) if row else ""
    if previous is not None and previous.state == state and degraded is None:
        return Index(previous, conn, owner)  # one primary-key read per request while nothing changes
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if "site" not in meta:
        raise NoContentYet(f"the index database {path} holds no content yet")
    problems = [Problem(*p) for p in orjson.loads(meta.get("site_problems") or b"[]")]
    rows = conn.execute(
        f"SELECT path, field, message FROM files WHERE field IS NOT NULL UNION ALL {CLAIM_PROBLEMS} "
        "UNION ALL SELECT path, field, message FROM link_problems ORDER BY 1").fetchall()
    problems += [Problem(*r) for r in rows]
    reasons = tuple(degraded) if degraded is not None else tuple(orjson.loads(meta.get("degraded") or b"[]"))
    header = Header(
        state=state, site=codecs.site_from_data(meta["site"]), version=str(meta["version"]),
        problems=tuple(problems), degraded=reasons,
        content_mtime=datetime.fromtimestamp(int(meta.get("content_mtime_ns", 0)) / 1e9, UTC),
        total=int(meta.get("count", 0)),
        counts={(k, key): n for k, key, n in conn.execute(
            "SELECT kind, key, n FROM counts WHERE kind IN ('category', 'lang')")},
        site_instant=float(meta.get(SITE_INSTANT) or 0),
        next_change=None if meta.get(schedule.NEXT_CHANGE) is None else float(meta[schedule.NEXT_CHANGE]),
    )
    return Index(header, conn, owner)


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
        #: Latest modification seen in the content tree (file/dir mtimes): a metric, not Last-Modified.
        self.content_mtime = header.content_mtime

    # -- lookups -----------------------------------------------------------------------------
    @property
    def posts(self) -> PostList:
        """Every published post, newest first."""
        return PostList(self, Query())

    def get(self, slug: str) -> Post | None:
        """The post with this slug, or None (one posts_slug lookup, whatever the corpus size)."""
        return self._one(f"p.slug = ? AND {PUBLISHED_ROW}", slug)

    def _one(self, where: str, *args: object) -> Post | None:
        row = self.conn.execute(f"SELECT {codecs.POST_COLUMNS} FROM posts p {codecs.POST_BODY} WHERE {where}", args).fetchone()
        return None if row is None else codecs.post_from_row(*row)

    def alias_target(self, slug: str) -> str | None:
        """The current slug for a retired one (from a post's ``aliases``), or None."""
        if self.conn.execute(f"SELECT 1 FROM posts p WHERE p.slug = ? AND {PUBLISHED_ROW}", (slug,)).fetchone():
            return None
        row = self.conn.execute("SELECT slug FROM aliases WHERE alias = ? ORDER BY date_ts DESC, slug LIMIT 1",
                                (slug,)).fetchone()
        return None if row is None else str(row[0])

    def expired(self, slug: str) -> bool:
        """Whether ``slug`` names (as its slug or an alias) a post withdrawn at its ``expires``: 410 Gone."""
        return schedule.expired(self.conn, slug)

    def pending(self) -> list[schedule.Pending]:
        """The scheduled and the expiring posts, by the time they are published or withdrawn."""
        return schedule.pending(self.conn)

    def oldest(self) -> Post | None:
        """The published post published first (ties: the last in feed order)."""
        return self._one("p.published = 1 ORDER BY p.date_ts, p.slug DESC LIMIT 1")

    def latest_update(self) -> Post | None:
        """The published post updated last (ties: the first in feed order)."""
        return self._one("p.published = 1 ORDER BY p.updated_ts DESC, p.date_ts DESC, p.slug LIMIT 1")

    def translations(self, post: Post) -> tuple[Post, ...]:
        """The other published versions of the text ``post`` belongs to, by language."""
        rows = self.conn.execute(
            f"SELECT {codecs.POST_COLUMNS} FROM posts s JOIN groups g ON g.post = s.id JOIN groups h ON h.grp = g.grp "
            f"JOIN posts p ON p.id = h.post {codecs.POST_BODY} WHERE s.source = ? AND s.published = 1 AND p.id != s.id "
            "ORDER BY p.lang, p.slug", (post.source,)).fetchall()
        return tuple(codecs.post_from_row(*r) for r in rows)

    def changes(self, epoch: str, after: int) -> tuple[str, int, list[str] | None]:
        """The slugs changed since log entry ``after`` of ``epoch``: (epoch, last entry, slugs).

        The slugs are None when the log cannot answer (another database, or entries since
        dropped): the caller then compares the whole state.
        """
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'changes_epoch'").fetchone()
        now = str(row[0]) if row else ""
        last = self.conn.execute("SELECT max(seq) FROM changes").fetchone()[0]
        floor = self.conn.execute("SELECT value FROM meta WHERE key = 'changes_floor'").fetchone()
        if now != epoch or (floor is not None and int(floor[0]) > after):
            return now, int(last or 0), None
        if last is None:
            return now, after, []
        rows = self.conn.execute("SELECT slug FROM changes WHERE seq > ? AND seq <= ? ORDER BY seq", (after, last))
        return now, last, list(dict.fromkeys(r[0] for r in rows))

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

    def count(self, kind: str, key: str) -> int:
        """Published posts in one count of ``queries.count_keys`` (0 when none)."""
        if kind in ("category", "lang"):
            return self.header.counts.get((kind, key), 0)
        row = self.conn.execute("SELECT n FROM counts WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        return int(row[0]) if row else 0

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages that have posts, sorted."""
        return tuple(sorted(k for kind, k in self.header.counts if kind == "lang"))

    def canonical_lang(self, lang: str) -> str:
        """The published spelling of a language tag (BCP 47 tags are case-insensitive: PT-br is pt-BR)."""
        low = lang.lower()
        return next((k for k in self.languages if k.lower() == low), lang)

    # -- Last-Modified ---------------------------------------------------------------------
    # The instants are the writer's (changes.py): the same for every reader of one state,
    # never read from the clock here.
    def last_modified(self, posts: Sequence[Post]) -> datetime:
        """Last-Modified for a document showing ``posts`` (and the site): the newest change instant among them."""
        sources = list(dict.fromkeys(p.source for p in posts))
        newest = 0.0
        for i in range(0, len(sources), 500):
            chunk = sources[i:i + 500]
            row = self.conn.execute(f"SELECT max(changed_ts) FROM posts WHERE source IN ({','.join('?' * len(chunk))}) "
                                    "AND published = 1", chunk).fetchone()
            newest = max(newest, row[0] or 0.0)
        return self._last_modified(newest)

    def news_last_modified(self) -> datetime:
        """Last-Modified of the news sitemap: the newest change among its posts, and the last time one left it."""
        row = self.conn.execute("SELECT max(changed_ts) FROM posts WHERE news = 1 AND published = 1").fetchone()
        return self._last_modified(max(row[0] or 0.0, departed(self.conn, [("news", "")], None)))

    def _last_modified(self, newest: float) -> datetime:
        return datetime.fromtimestamp(max(newest, self.header.site_instant), UTC).replace(microsecond=0)

    def query_last_modified(self, query: Query | None = None, **filters: Any) -> datetime:
        """Last-Modified of a document listing every match of a query: the newest change among the matches,
        and the last time a post left the query's scope (an edit moving a post between pages moves every page).
        """
        query = query or Query(**filters)
        if query.q is not None or (query.category is None and query.tag is None):
            scopes = [("all", "")]
        else:
            scopes = [(kind, key) for kind, key in (("category", query.category), ("tag", query.tag)) if key is not None]
        lang = self.canonical_lang(query.lang) if query.lang is not None and query.q is None else None
        return self._last_modified(max(self._stats(query)[1], departed(self.conn, scopes, lang)))

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
        elif query.q is not None:
            # A search's Last-Modified is the newest change of any post: never earlier than its
            # matches' (what Last-Modified must hold), without visiting every match; the count
            # of a search alone is the full-text index's (it holds exactly the published posts).
            newest = self._stats(Query())[1]
            expr = search_expression(query.q)
            if expr is None:
                result = (0, newest)
            elif query == Query(q=query.q):
                result = (self.conn.execute("SELECT count(*) FROM search WHERE search MATCH ?", (expr,)).fetchone()[0],
                          newest)
            else:
                plan = self._plan(query)
                count = 0 if plan is None else self.conn.execute(f"SELECT count(*) FROM ({plan[0]}) d", plan[1]).fetchone()[0]
                result = (count, newest)
        else:
            plan = self._plan(query)
            combo = combination(query, self.canonical_lang(query.lang) if query.lang is not None else None)
            if plan is None:
                result = (0, 0.0)
            elif combo is not None:
                # Counted ahead (queries.count_keys); the newest change is the first match walking
                # the driving list by change instant (an index of each list), not a visit of all.
                sql, args = plan
                row = self.conn.execute(f"SELECT d.changed_ts FROM ({sql}) d ORDER BY d.changed_ts DESC LIMIT 1",
                                        args).fetchone()
                result = (self.count(*combo), row[0] if row else 0.0)
            else:
                sql, args = plan
                row = self.conn.execute(f"SELECT count(*), max(d.changed_ts) FROM ({sql}) d", args).fetchone()
                result = (row[0], row[1] or 0.0)
        if len(memo) >= MEMO_MAX:
            memo.clear()
        memo[query] = result
        return result

    def _page(self, query: Query, offset: int, limit: int) -> tuple[Post, ...]:
        if query.q is not None and query == Query(q=query.q):
            expr = search_expression(query.q)
            return () if expr is None else self._search_page(expr, offset, limit)
        plan = self._plan(query)
        if plan is None:
            return ()
        sql, args = plan
        rows = self.conn.execute(f"SELECT d.pid FROM ({sql}) d ORDER BY d.date_ts DESC, d.slug LIMIT ? OFFSET ?",
                                 [*args, limit, offset]).fetchall()
        return self._posts([r[0] for r in rows])

    def _search_page(self, expr: str, offset: int, limit: int) -> tuple[Post, ...]:
        """Matches ``offset`` to ``offset + limit`` of a search, newest first, read from the full-text index
        in key order (``queries.search_key``: descending keys are descending seconds of date) and
        stopped past the page: only the seconds the page reaches are sorted by date and slug.
        """
        conn = self.conn
        ceiling, before = None, 0
        if offset:  # the second the page starts in, and how many matches are newer than it
            row = conn.execute("SELECT rowid FROM search WHERE search MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
                               (expr, offset)).fetchone()
            if row is None:
                return ()
            ceiling = ((row[0] >> SK_BITS) + 1) << SK_BITS
            before = conn.execute("SELECT count(*) FROM search WHERE search MATCH ? AND rowid >= ?",
                                  (expr, ceiling)).fetchone()[0]
        skip = offset - before
        cur = conn.execute("SELECT rowid FROM search WHERE search MATCH ? ORDER BY rowid DESC", (expr,)) \
            if ceiling is None else \
            conn.execute("SELECT rowid FROM search WHERE search MATCH ? AND rowid < ? ORDER BY rowid DESC",
                         (expr, ceiling))
        keys: list[int] = []
        last = None
        for (key,) in cur:  # stops at the first second past the page
            second = key >> SK_BITS
            if len(keys) >= skip + limit and second != last:
                break
            keys.append(key)
            last = second
        cur.close()
        found: list[tuple[float, str, int]] = []
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            found += conn.execute(f"SELECT date_ts, slug, id FROM posts WHERE sk IN ({','.join('?' * len(chunk))})",
                                  chunk).fetchall()
        found.sort(key=lambda r: (-r[0], r[1]))
        return self._posts([pid for _, _, pid in found[skip:skip + limit]])

    def _posts(self, ids: list[int]) -> tuple[Post, ...]:
        if not ids:
            return ()
        marks = ",".join("?" * len(ids))
        found = {r[0]: codecs.post_from_row(*r[1:]) for r in self.conn.execute(
            f"SELECT p.id, {codecs.POST_COLUMNS} FROM posts p {codecs.POST_BODY} WHERE p.id IN ({marks})", ids)}
        return tuple(found[i] for i in ids if i in found)

    def _plan(self, query: Query, events: bool = False) -> tuple[str, list[Any]] | None:
        return plan(self, query, events)
