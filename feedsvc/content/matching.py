"""Run a Query over one content state: counts, newest changes, pages, events and archive years.

``queries.py`` decides what a filter means in SQL; this module executes those plans against
the index database for the Index, reading into ``Post`` objects only the rows a caller takes.
Counts and newest changes are memoised in the state's ``Header``, shared by every Index of it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from .errors import SearchNotReady
from .model import Post
from .queries import SK_BITS, Query, combination, plan, search_expression
from .store import codecs, fulltext

if TYPE_CHECKING:
    from .index import Header

#: Memoised counts per content state (bounded: arbitrary queries must not grow it forever).
MEMO_MAX = 4096


def languages(header: Header) -> tuple[str, ...]:
    """Languages that have posts, sorted."""
    return tuple(sorted(k for kind, k in header.counts if kind == "lang"))


def canonical_lang(header: Header, lang: str) -> str:
    """The published spelling of a language tag (BCP 47 tags are case-insensitive: PT-br is pt-BR)."""
    low = lang.lower()
    return next((k for k in languages(header) if k.lower() == low), lang)


def counted(conn: sqlite3.Connection, header: Header, kind: str, key: str) -> int:
    """Published posts in one count of ``queries.count_keys`` (0 when none)."""
    if kind in ("category", "lang"):
        return header.counts.get((kind, key), 0)
    row = conn.execute("SELECT n FROM counts WHERE kind = ? AND key = ?", (kind, key)).fetchone()
    return int(row[0]) if row else 0


def events(conn: sqlite3.Connection, header: Header, query: Query, limit: int) -> Sequence[Post]:
    """Posts with an event matching the filters: the last ``limit`` by (start, slug), in that order."""
    plan = _plan(conn, header, query, events=True)
    if plan is None:
        return ()
    sql, args = plan
    rows = conn.execute(f"SELECT d.pid FROM ({sql}) d ORDER BY d.event_ts DESC, d.slug DESC LIMIT ?", [*args, limit]).fetchall()
    posts = posts_by_id(conn, [r[0] for r in rows])
    return sorted(posts, key=lambda p: (p.event.start.timestamp() if p.event else 0.0, p.slug))


def has_events(conn: sqlite3.Connection, header: Header, query: Query) -> bool:
    """Whether any post with an event matches the filters: the first one found, in no order (not the latest)."""
    plan = _plan(conn, header, query, events=True)
    return plan is not None and conn.execute(f"SELECT 1 FROM ({plan[0]}) d LIMIT 1", plan[1]).fetchone() is not None


def archive_years(conn: sqlite3.Connection, header: Header, base: Query) -> list[tuple[int, int]]:
    """(year, number of matching posts) for every calendar year (site timezone) that has any, oldest first."""
    span = _bounds(conn, header, base)
    if span is None:
        return []
    tz = header.site.tz
    first = datetime.fromtimestamp(span[0], tz).year
    last = datetime.fromtimestamp(span[1], tz).year
    years = []
    for year in range(first, last + 1):
        since, until = year_bounds(tz, year)
        bounded = Query(
            base.category,
            base.tag,
            base.lang,
            base.q,
            max(since, base.since or since),
            min(until, base.until or until),
            base.updated_since,
        )
        n = stats(conn, header, bounded)[0]
        if n:
            years.append((year, n))
    return years


def year_bounds(tz: tzinfo, year: int) -> tuple[datetime, datetime]:
    """The first and last instant of a calendar year in the timezone ``tz`` (the site's)."""
    start = datetime(year, 1, 1, tzinfo=tz)
    end = datetime(year + 1, 1, 1, tzinfo=tz).timestamp() - 1e-6
    return start, datetime.fromtimestamp(end, tz)


def _bounds(conn: sqlite3.Connection, header: Header, query: Query) -> tuple[float, float] | None:
    plan = _plan(conn, header, query)
    if plan is None:
        return None
    sql, args = plan
    row = conn.execute(f"SELECT min(d.date_ts), max(d.date_ts) FROM ({sql}) d", args).fetchone()
    return None if row[0] is None else (row[0], row[1])


def stats(conn: sqlite3.Connection, header: Header, query: Query) -> tuple[int, float]:
    """(number of matches, newest change among them), memoised per content state."""
    memo = header.memo
    hit = memo.get(query)
    if hit is not None:
        return hit
    if query == Query():
        row = conn.execute("SELECT max(changed_ts) FROM posts WHERE published = 1").fetchone()
        result = (header.total, row[0] or 0.0)
    elif query.q is not None:
        _searchable(conn, header)
        # A search's Last-Modified is the newest change of any post: never earlier than its
        # matches' (what Last-Modified must hold), without visiting every match; the count
        # of a search alone is the full-text index's (it holds exactly the published posts).
        newest = stats(conn, header, Query())[1]
        expr = search_expression(query.q)
        if expr is None:
            result = (0, newest)
        elif query == Query(q=query.q):
            result = (conn.execute("SELECT count(*) FROM search WHERE search MATCH ?", (expr,)).fetchone()[0], newest)
        else:
            plan = _plan(conn, header, query)
            count = 0 if plan is None else conn.execute(f"SELECT count(*) FROM ({plan[0]}) d", plan[1]).fetchone()[0]
            result = (count, newest)
    else:
        plan = _plan(conn, header, query)
        combo = combination(query, canonical_lang(header, query.lang) if query.lang is not None else None)
        if plan is None:
            result = (0, 0.0)
        elif combo is not None:
            # Counted ahead (queries.count_keys); the newest change is the first match walking
            # the driving list by change instant (an index of each list), not a visit of all.
            sql, args = plan
            row = conn.execute(f"SELECT d.changed_ts FROM ({sql}) d ORDER BY d.changed_ts DESC LIMIT 1", args).fetchone()
            result = (counted(conn, header, *combo), row[0] if row else 0.0)
        else:
            sql, args = plan
            row = conn.execute(f"SELECT count(*), max(d.changed_ts) FROM ({sql}) d", args).fetchone()
            result = (row[0], row[1] or 0.0)
    if len(memo) >= MEMO_MAX:
        memo.clear()
    memo[query] = result
    return result


def page(conn: sqlite3.Connection, header: Header, query: Query, offset: int, limit: int) -> tuple[Post, ...]:
    """Matches ``offset`` to ``offset + limit`` of ``query``, newest first (ties: slug)."""
    if query.q is not None and query == Query(q=query.q):
        _searchable(conn, header)
        expr = search_expression(query.q)
        return () if expr is None else search_page(conn, expr, offset, limit)
    plan = _plan(conn, header, query)
    if plan is None:
        return ()
    sql, args = plan
    rows = conn.execute(
        f"SELECT d.pid FROM ({sql}) d ORDER BY d.date_ts DESC, d.slug LIMIT ? OFFSET ?", [*args, limit, offset]
    ).fetchall()
    return posts_by_id(conn, [r[0] for r in rows])


def search_page(conn: sqlite3.Connection, expr: str, offset: int, limit: int) -> tuple[Post, ...]:
    """Matches ``offset`` to ``offset + limit`` of a search, newest first, read from the full-text index
    in key order (``queries.search_key``: descending keys are descending seconds of date) and
    stopped past the page: only the seconds the page reaches are sorted by date and slug.
    """
    ceiling, before = None, 0
    if offset:  # the second the page starts in, and how many matches are newer than it
        row = conn.execute(
            "SELECT rowid FROM search WHERE search MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?", (expr, offset)
        ).fetchone()
        if row is None:
            return ()
        ceiling = ((row[0] >> SK_BITS) + 1) << SK_BITS
        before = conn.execute("SELECT count(*) FROM search WHERE search MATCH ? AND rowid >= ?", (expr, ceiling)).fetchone()[0]
    skip = offset - before
    cur = (
        conn.execute("SELECT rowid FROM search WHERE search MATCH ? ORDER BY rowid DESC", (expr,))
        if ceiling is None
        else conn.execute("SELECT rowid FROM search WHERE search MATCH ? AND rowid < ? ORDER BY rowid DESC", (expr, ceiling))
    )
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
        chunk = keys[i : i + 500]
        found += conn.execute(f"SELECT date_ts, slug, id FROM posts WHERE sk IN ({','.join('?' * len(chunk))})", chunk).fetchall()
    found.sort(key=lambda r: (-r[0], r[1]))
    return posts_by_id(conn, [pid for _, _, pid in found[skip : skip + limit]])


def posts_by_id(conn: sqlite3.Connection, ids: list[int]) -> tuple[Post, ...]:
    """The posts with these row ids, in that order."""
    if not ids:
        return ()
    marks = ",".join("?" * len(ids))
    found = {
        r[0]: codecs.post_from_row(*r[1:])
        for r in conn.execute(f"SELECT p.id, {codecs.POST_COLUMNS} FROM posts p {codecs.POST_BODY} WHERE p.id IN ({marks})", ids)
    }
    return tuple(found[i] for i in ids if i in found)


def _searchable(conn: sqlite3.Connection, header: Header) -> None:
    """Refuse a search while published posts still wait for their full text (store/fulltext.py): it would miss them."""
    if header.searchable:
        return
    if fulltext.waiting(conn):
        raise SearchNotReady("search is not available yet: the full-text index is being built after a large load; retry shortly")
    header.searchable = True  # the queue only empties within one state


def _plan(conn: sqlite3.Connection, header: Header, query: Query, events: bool = False) -> tuple[str, list[Any]] | None:
    if query.q is not None:
        _searchable(conn, header)
    lang = canonical_lang(header, query.lang) if query.lang is not None else None
    return plan(query, _sizes(conn, header, query, lang), lang, events)


def _sizes(conn: sqlite3.Connection, header: Header, query: Query, lang: str | None) -> dict[str, int]:
    """The published posts in each list a query filters by, and in all of them (``queries.plan``)."""
    sizes = {
        kind: counted(conn, header, kind, key)
        for kind, key in (("category", query.category), ("tag", query.tag), ("lang", lang))
        if key is not None
    }
    combo = combination(query, lang)
    if combo is not None and len(sizes) > 1 and all(sizes.values()):
        sizes["combination"] = counted(conn, header, *combo)
    return sizes
