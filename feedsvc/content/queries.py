"""The queries: what a filter means in SQL, and what ``q`` means to the full-text index.

``plan`` turns a Query into SQL giving (pid, date_ts, slug, changed_ts) of every match (a pure
function of the query and the sizes of its filters' lists); the Index counts, pages and dates
its results. ``search_expression`` is the search rule.
``count_keys`` names the counts kept per filter and per combination of filters, so that a
query of category, tag and language alone is counted by one primary-key read, and
``search_key`` the full-text rowid of a post, in date order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from math import floor
from typing import Any

import orjson

_WORD = re.compile(r"\w+")
#: Low bits of a search key: the posts of one second of ``date`` (2**20 of them at most).
SK_BITS = 20


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


def count_keys(categories: Sequence[str], tags: Sequence[str], lang: str) -> list[tuple[str, str]]:
    """The (kind, key) counts a published post is counted in: each of its categories and tags, its
    language, and every combination of them (``combination`` names the one a query reads)."""
    keys = [("category", c) for c in categories] + [("tag", t) for t in tags] + [("lang", lang)]
    keys += [("tag+lang", _key(t, lang)) for t in tags]
    for c in categories:
        keys.append(("category+lang", _key(c, lang)))
        keys += [("category+tag", _key(c, t)) for t in tags]
        keys += [("category+tag+lang", _key(c, t, lang)) for t in tags]
    return keys


def _key(*parts: str) -> str:
    return orjson.dumps(parts).decode()


def combination(query: Query, lang: str | None) -> tuple[str, str] | None:
    """The count (kind, key) holding the number of matches of a query of category, tag and language
    (``lang`` its published spelling) and nothing else; None for any other query."""
    if query.q is not None or query.since is not None or query.until is not None or query.updated_since is not None:
        return None
    parts = [
        (kind, value) for kind, value in (("category", query.category), ("tag", query.tag), ("lang", lang)) if value is not None
    ]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return "+".join(kind for kind, _ in parts), _key(*(value for _, value in parts))


def search_slot(date_ts: float) -> int:
    """The lowest search key of the second ``date_ts`` falls in (the slot holds ``1 << SK_BITS`` keys)."""
    return floor(date_ts) << SK_BITS


def search_key(date_ts: float, taken: int | None) -> int | None:
    """The full-text rowid of a post dated ``date_ts``: its second of date, then the next number in that
    second (``taken``: the highest key of the second so far); None when that is the second's last
    (the writer then takes the lowest free one). Keys in descending order are newest first, second
    by second; within a second the Index sorts by date and slug."""
    base = search_slot(date_ts)
    if taken is None or taken < base:
        return base
    return taken + 1 if taken + 1 < base + (1 << SK_BITS) else None


def search_expression(q: str) -> str | None:
    """The FTS5 query for ``q``: every word must occur (each quoted: no operator can be injected)."""
    words = _WORD.findall(q)
    if not words:
        return None
    return " ".join('"' + w.replace('"', '""') + '"' for w in dict.fromkeys(words))


def plan(query: Query, sizes: Mapping[str, int], lang: str | None, events: bool = False) -> tuple[str, list[Any]] | None:
    """SQL giving (pid, date_ts, slug, changed_ts[, event_ts]) of every match; None: nothing can match.

    ``sizes``: the published posts in the list of each filter the query has ("category",
    "tag", "lang"), and under "combination" those in all of them when counted ahead
    (``combination``); ``lang``: the query's language as published. Driven by the smallest
    of the category, tag and language lists (each kept in feed order), the other filters
    checked per row through primary keys; the search through the matches' keys (``search_key``).
    """
    if any(n == 0 for n in sizes.values()):
        return None
    lists = [(n, kind) for kind, n in sizes.items() if kind in ("category", "tag", "lang")]
    driver = min(lists)[1] if lists else "posts"
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
    # The category and tag tables carry each post's language and search key: only events and
    # updated_since look the post row up.
    need_post = post == "p" and (events or query.updated_since is not None)
    sql = sql.format(ev=f", {post}.event_ts" if events else "", join=" JOIN posts p ON p.id = d.post" if need_post else "")
    if events:
        where.append(f"{post}.event_ts IS NOT NULL")
    if query.category is not None and driver != "category":
        where.append(
            "EXISTS (SELECT 1 FROM post_categories c WHERE c.category = ? AND c.date_ts = d.date_ts AND c.slug = d.slug)"
        )
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
        where.append("d.sk IN (SELECT rowid FROM search WHERE search MATCH ?)")
        args.append(expr)
    return sql + "".join(f" AND {w}" for w in where), args
