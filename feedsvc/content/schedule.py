"""Scheduled and expiring posts: the instants at which the clock enters the content state.

A post is *live* from its ``date`` until its ``expires`` (when it has one). Only the writer
reads the clock: each write transaction evaluates the posts at one instant, the
*schedule clock* (``max(now, the last one recorded)``: a wall clock set back never takes
back what was published, nor brings back what expired), publishes the posts whose
``date`` it has reached and unpublishes those whose ``expires`` it has reached, through
the same paths as any edit (so the ``changes`` log, webhooks and WebSub see them). It
records that instant and the next boundary after it; the reload thread wakes for that
boundary. Readers only read what was recorded: the same content and the same recorded
instant give the same bytes on every worker and host.

The news sitemap (Google News: articles of the last two days) is one more list the clock
decides: a published post is *news* from its date until ``NEWS_WINDOW`` after it. The
writer marks the news posts at each commit (``settle_news``) and names each post's 48-hour
mark as a boundary, so a post leaves the news sitemap at that instant, like an expiry.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import orjson

#: Meta keys this module owns: the last instant the writer evaluated posts at, and the next boundary after it.
SCHEDULE_CLOCK, NEXT_CHANGE = "schedule_clock", "next_change"

#: How long a post stays in the news sitemap after its date (Google News: "the last two days").
NEWS_WINDOW = 48 * 3600.0

#: A post row is live at instant ``?`` (twice): its date reached, its expiry not.
LIVE_AT = "(p.date_ts <= ? AND (p.expires_ts IS NULL OR p.expires_ts > ?))"


@dataclass(frozen=True, slots=True)
class Pending:
    """A post that will be published (``scheduled``) or withdrawn (``expiring``) at ``at`` (POSIX seconds)."""

    source: str
    slug: str
    kind: str
    at: float


def recorded_clock(conn: sqlite3.Connection) -> float:
    """The last schedule clock a write transaction recorded (0: none yet)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (SCHEDULE_CLOCK,)).fetchone()
    return float(row[0]) if row else 0.0


def is_live(date_ts: float, expires_ts: float | None, at: float) -> bool:
    """Whether a post with these instants is published at ``at`` (the same rule as ``LIVE_AT``)."""
    return date_ts <= at and (expires_ts is None or expires_ts > at)


def due(conn: sqlite3.Connection, since: float, at: float) -> list[tuple[str, float]]:
    """(slug, boundary) of the posts whose date or expiry fell in ``(since, at]``: their state must be decided again.

    Every boundary passed is named, even one that changes nothing (a post both scheduled and
    expired in the span): the transaction that decides it records ``at``, so a clock set
    back later never brings back the state before it.
    """
    rows = conn.execute(
        "SELECT slug, date_ts FROM posts WHERE published IN (0, 1) AND date_ts > ? AND date_ts <= ?", (since, at)
    ).fetchall()
    rows += conn.execute(
        "SELECT slug, expires_ts FROM posts WHERE published IN (0, 1) AND expires_ts > ? AND expires_ts <= ?", (since, at)
    ).fetchall()
    rows += conn.execute("SELECT slug, expires_ts FROM posts WHERE published = 1 AND expires_ts <= ?", (at,)).fetchall()
    rows += conn.execute(
        "SELECT slug, date_ts + ? FROM posts WHERE news = 1 AND date_ts + ? <= ?", (NEWS_WINDOW, NEWS_WINDOW, at)
    ).fetchall()
    return [(str(slug), float(ts)) for slug, ts in rows]


def next_change(conn: sqlite3.Connection, at: float) -> float | None:
    """The first boundary after ``at``: a scheduled post's date, a published post's expiry or a news post's
    48-hour mark (None: none)."""
    row = conn.execute(
        "SELECT min(t) FROM (SELECT min(date_ts) AS t FROM posts WHERE published = 0 AND date_ts > ? "
        "AND (expires_ts IS NULL OR expires_ts > date_ts) "
        "UNION ALL SELECT min(expires_ts) FROM posts WHERE published = 1 AND expires_ts > ? "
        "UNION ALL SELECT min(date_ts) + ? FROM posts WHERE news = 1 AND date_ts + ? > ?)",
        (at, at, NEWS_WINDOW, NEWS_WINDOW, at),
    ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def pending(conn: sqlite3.Connection) -> list[Pending]:
    """The scheduled posts (not yet published) and the expiring ones (published, with an expiry), by time."""
    at = recorded_clock(conn)
    rows = conn.execute(
        "SELECT source, slug, 'scheduled', date_ts FROM posts WHERE published = 0 AND date_ts > ? "
        "AND (expires_ts IS NULL OR expires_ts > date_ts) "
        "UNION ALL SELECT source, slug, 'expiring', expires_ts FROM posts WHERE expires_ts > ? "
        "AND (published = 1 OR date_ts > ?) ORDER BY 4, 1, 3 DESC",
        (at, at, at),
    ).fetchall()
    return [Pending(str(s), str(slug), str(kind), float(ts)) for s, slug, kind, ts in rows]


def expired(conn: sqlite3.Connection, slug: str) -> bool:
    """Whether ``slug`` is the slug or an alias of a post withdrawn at its expiry (answered 410 Gone)."""
    at = recorded_clock(conn)
    if conn.execute("SELECT 1 FROM posts p WHERE p.slug = ? AND p.published = 0 AND p.expires_ts <= ?", (slug, at)).fetchone():
        return True
    for (data,) in conn.execute("SELECT data FROM posts p WHERE p.published = 0 AND p.expires_ts <= ?", (at,)):
        if slug in orjson.loads(data)[11]:
            return True
    return False


def news_sources(conn: sqlite3.Connection) -> set[str]:
    """The sources of the posts marked news (in the news sitemap) when last committed."""
    return {str(r[0]) for r in conn.execute("SELECT source FROM posts WHERE news = 1")}


def settle_news(conn: sqlite3.Connection, at: float) -> int:
    """Mark the news posts at ``at`` (published, dated in ``(at - NEWS_WINDOW, at]``); the news accumulator.

    The accumulator (a sum of the news posts' ``own`` hashes) enters the content version:
    a post leaving the news sitemap changes no post, yet must change every cached copy of it.
    """
    conn.execute("UPDATE posts SET news = 0 WHERE news = 1 AND (published = 0 OR date_ts + ? <= ?)", (NEWS_WINDOW, at))
    conn.execute("UPDATE posts SET news = 1 WHERE published = 1 AND date_ts > ? - ? AND news = 0", (at, NEWS_WINDOW))
    return sum(int(own or "0", 16) for (own,) in conn.execute("SELECT own FROM posts WHERE news = 1")) % (1 << 128)
