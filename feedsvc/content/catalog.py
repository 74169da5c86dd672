"""Lean reads of the published URLs for sitemaps: slug, language, dates, titles and translation groups.

A sitemap lists every post; building a ``Post`` (with its body) for each would cost far
more than the few columns a sitemap needs, so these read the columns alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from .index import Index
from .store.codecs import dt_in, post_fields
from .store.schema import PUBLISHED_ROW


@dataclass(frozen=True, slots=True)
class Located:
    """One published post as a sitemap sees it."""

    slug: str
    lang: str
    #: ``updated`` as the editor wrote it (ISO 8601 with its offset).
    updated: str
    #: Its other versions: (lang, slug, is the original), by language.
    versions: tuple[tuple[str, str, bool], ...]
    original: bool


def max_versions(index: Index) -> int:
    """The largest number of versions one text has (1 when nothing is translated)."""
    row = index.conn.execute(
        "SELECT max(n) FROM (SELECT count(*) AS n FROM groups g JOIN posts p ON p.id = g.post "
        f"WHERE {PUBLISHED_ROW} GROUP BY g.grp)"
    ).fetchone()
    return max(1, int(row[0] or 1))


def posts_located(index: Index, offset: int, limit: int) -> list[Located]:
    """Published posts ``offset`` to ``offset + limit`` in feed order (newest first), with their versions."""
    rows = index.conn.execute(
        "SELECT p.id, p.slug, p.lang, p.translation_of, p.data, g.grp FROM posts p "
        "LEFT JOIN groups g ON g.post = p.id WHERE p.published = 1 "
        "ORDER BY p.date_ts DESC, p.slug LIMIT ? OFFSET ?",
        (limit, offset),
    ).fetchall()
    groups: dict[str, list[tuple[int, str, str, bool]]] = {}
    wanted = sorted({r[5] for r in rows if r[5] is not None})
    for start in range(0, len(wanted), 500):  # bounded parameter lists
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for grp, pid, slug, lang, of in index.conn.execute(
            f"SELECT g.grp, p.id, p.slug, p.lang, p.translation_of FROM groups g JOIN posts p ON p.id = g.post "
            f"WHERE {PUBLISHED_ROW} AND g.grp IN ({marks}) ORDER BY p.lang, p.slug",
            chunk,
        ):
            groups.setdefault(grp, []).append((pid, slug, lang, of is None))
    out = []
    for pid, slug, lang, of, data, grp in rows:
        members = groups.get(grp, []) if grp is not None else []
        versions = tuple((m_lang, m_slug, orig) for m_pid, m_slug, m_lang, orig in members if m_pid != pid)
        updated = dt_in(post_fields(data).updated).isoformat()
        out.append(Located(slug, lang, updated, versions, of is None))
    return out


@dataclass(frozen=True, slots=True)
class NewsItem:
    """One post of the news sitemap (schedule.py marks them: published in the last 48 hours)."""

    slug: str
    lang: str
    title: str
    #: ``date`` as the editor wrote it (ISO 8601 with its offset).
    date: str


def news(index: Index, limit: int) -> list[NewsItem]:
    """The posts the writer marked news at its recorded instant, newest first (at most ``limit``)."""
    rows = index.conn.execute(
        f"SELECT p.slug, p.lang, p.data FROM posts p WHERE p.news = 1 AND {PUBLISHED_ROW} "
        "ORDER BY p.date_ts DESC, p.slug LIMIT ?",
        (limit,),
    ).fetchall()
    out = []
    for slug, lang, data in rows:
        d = post_fields(data)
        out.append(NewsItem(slug, lang, d.title, dt_in(d.date).isoformat()))
    return out
