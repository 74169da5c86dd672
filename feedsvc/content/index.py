"""Read the index database: one consistent snapshot of the published posts, with every query.

``Index`` is what the feeds, the API and the pages see: its header (site, version,
problems, counts), its lookups and its Last-Modified dates are here; its queries run in
``matching.py``. Only the rows a caller takes (a page, a feed's newest entries) become
``Post`` objects. Counts and Last-Modified dates of a query are memoised per content
state, shared by every Index of that state in the process.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from . import matching, schedule
from .changes import SITE_INSTANT, departed
from .errors import NoContentYet
from .lists import PostList, Tags
from .model import CategoryInfo, Post, Problem, Site, TagInfo
from .queries import Query
from .slugs import tag_slug
from .store import codecs, fulltext
from .store.schema import CLAIM_PROBLEMS, PUBLISHED_ROW


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
    #: Every published post's full text was seen written (store/fulltext.py): searches are answered.
    searchable: bool = False


def read_header(
    conn: sqlite3.Connection,
    path: str = "",
    degraded: Sequence[str] | None = None,
    previous: Header | None = None,
    owner: object = None,
) -> Index:
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
        "UNION ALL SELECT path, field, message FROM link_problems ORDER BY 1"
    ).fetchall()
    problems += [Problem(*r) for r in rows]
    reasons = tuple(degraded) if degraded is not None else tuple(orjson.loads(meta.get("degraded") or b"[]"))
    header = Header(
        state=state,
        site=codecs.site_from_data(meta["site"]),
        version=str(meta["version"]),
        problems=tuple(problems),
        degraded=reasons,
        content_mtime=datetime.fromtimestamp(int(meta.get("content_mtime_ns", 0)) / 1e9, UTC),
        total=int(meta.get("count", 0)),
        counts={(k, key): n for k, key, n in conn.execute("SELECT kind, key, n FROM counts WHERE kind IN ('category', 'lang')")},
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
        row = self.conn.execute(
            "SELECT slug FROM aliases WHERE alias = ? ORDER BY date_ts DESC, slug LIMIT 1", (slug,)
        ).fetchone()
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
            "ORDER BY p.lang, p.slug",
            (post.source,),
        ).fetchall()
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
        return Tags(self.conn, self.header)

    def tag_slug(self, name_or_slug: str) -> str | None:
        """The slug of a tag given by its slug, its name (case-insensitively) or the slug the first releases
        gave it (``slugs.tag_slug_before_marks``); None when unknown."""
        for candidate in dict.fromkeys((name_or_slug, tag_slug(name_or_slug))):
            if candidate and self._has_tag(candidate):
                return candidate
        row = self.conn.execute("SELECT min(tag) FROM tag_renames WHERE old = ?", (name_or_slug,)).fetchone()
        return row[0] if row[0] and self._has_tag(row[0]) else None

    def _has_tag(self, slug: str) -> bool:
        return self.conn.execute("SELECT 1 FROM counts WHERE kind = 'tag' AND key = ?", (slug,)).fetchone() is not None

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages that have posts, sorted."""
        return matching.languages(self.header)

    def canonical_lang(self, lang: str) -> str:
        """The published spelling of a language tag (BCP 47 tags are case-insensitive: PT-br is pt-BR)."""
        return matching.canonical_lang(self.header, lang)

    # -- Last-Modified ---------------------------------------------------------------------
    # The instants are the writer's (changes.py): the same for every reader of one state,
    # never read from the clock here.
    def last_modified(self, posts: Sequence[Post]) -> datetime:
        """Last-Modified for a document showing ``posts`` (and the site): the newest change instant among them."""
        sources = list(dict.fromkeys(p.source for p in posts))
        newest = 0.0
        for i in range(0, len(sources), 500):
            chunk = sources[i : i + 500]
            row = self.conn.execute(
                f"SELECT max(p.changed_ts) FROM posts p WHERE p.source IN ({','.join('?' * len(chunk))}) AND {PUBLISHED_ROW}",
                chunk,
            ).fetchone()
            newest = max(newest, row[0] or 0.0)
        return self._last_modified(newest)

    def news_last_modified(self) -> datetime:
        """Last-Modified of the news sitemap: the newest change among its posts, and the last time one left it."""
        row = self.conn.execute(f"SELECT max(p.changed_ts) FROM posts p WHERE p.news = 1 AND {PUBLISHED_ROW}").fetchone()
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
        return self._last_modified(max(matching.stats(self.conn, self.header, query)[1], departed(self.conn, scopes, lang)))

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
        return matching.events(self.conn, self.header, query or Query(), limit)

    def has_events(self, query: Query | None = None) -> bool:
        """Whether any post with an event matches the filters (a calendar has something to show)."""
        return matching.has_events(self.conn, self.header, query or Query())

    def archive_years(self, query: Query | None = None) -> list[tuple[int, int]]:
        """(year, number of matching posts) for every calendar year (site timezone) that has any, oldest first."""
        return matching.archive_years(self.conn, self.header, query or Query())

    def year_bounds(self, year: int) -> tuple[datetime, datetime]:
        """The first and last instant of a calendar year in the site's timezone."""
        return matching.year_bounds(self.site.tz, year)

    def search_waiting(self) -> int:
        """Published posts whose full text is still being written after a large load (searches answer 503 until 0)."""
        return 0 if self.header.searchable else fulltext.pending(self.conn)

    def count(self, query: Query) -> int:
        """The number of posts matching ``query`` (memoised per content state)."""
        return matching.stats(self.conn, self.header, query)[0]

    def page(self, query: Query, offset: int, limit: int) -> tuple[Post, ...]:
        """Matches ``offset`` to ``offset + limit`` of ``query``, newest first (ties: slug)."""
        return matching.page(self.conn, self.header, query, offset, limit)
