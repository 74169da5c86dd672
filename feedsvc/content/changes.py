"""Change instants: when each published post, each scope's membership and the site last changed.

Last-Modified must move when, and only when, a document's bytes move (RFC 9110 8.8.2).
File mtimes cannot say that (``rsync -a`` and ``cp -p`` keep old ones, a rename or a
``mkdir`` moves a directory's), so the writer records instants itself, in the database:

- a post's instant moves when what it publishes moves: a hash of its parsed fields and
  body, and of what it shows of its translations (their language, slug, title, date);
- a scope's departure instant moves when a post leaves it (deleted, unpublished, moved to
  another category, tag, language or date), per (scope, language);
- the site instant moves when site.yaml's published values move.

Every instant of one commit is one whole second, ``max(now, last instant + 1)``, where
``now`` is the scheduled instant a commit reached when it publishes or withdraws posts at
their date or expiry (schedule.py), not the commit's wall time: two
commits never share one, so an ``If-Modified-Since`` within the same second never hides
an edit. The clock is read here, by the writer; readers take the instants as recorded, so
every worker answers one ETag with one Last-Modified. A fresh database (no
instant recorded yet) starts from each file's ``max(updated, mtime)`` instead, so hosts
built from the same files start from the same values.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import orjson

from .model import Post, Problem
from .store.codecs import post_data, post_fields

#: (language, date_ts, updated_ts, categories, tag slugs): what decides where a post is listed.
Attrs = tuple[str, float, float, tuple[str, ...], tuple[str, ...]]
#: Meta keys this module owns.
CLOCK, SITE_INSTANT = "clock", "site_instant"

HINT = (
    "its title, summary, body or other fields changed without `updated` moving: feed readers keep showing "
    "the old <updated> (Atom), date_modified (JSON Feed) and LAST-MODIFIED (iCalendar); set `updated` to "
    "the time of the edit when it matters to readers"
)


def own_hash(post: Post) -> str:
    """A hash of everything a post publishes of itself (not its file's mtime)."""
    data = post_data(post, mtime_ns=0)
    extra = orjson.dumps([post.slug, post.lang, post.translation_of, post.content_html])
    return hashlib.sha256(data + b"\0" + extra).hexdigest()[:32]


def initial_instant(post: Post, now: float) -> int:
    """A fresh database's instant for a post: its ``updated`` or file mtime, whichever is later, never after now."""
    return max(0, min(int(now), int(max(post.updated.timestamp(), post.mtime_ns / 1e9))))


@dataclass(frozen=True, slots=True)
class Before:
    """A post row as it was when the transaction first touched it."""

    published: bool
    instant: float
    own: str
    shown: str
    stale: int
    attrs: Attrs


def _attrs(lang: str, date_ts: float, updated_ts: float, data: bytes) -> Attrs:
    d = post_fields(data)
    return lang, date_ts, updated_ts, tuple(d.categories), tuple(t[0] for t in d.tags)


_ROW = "SELECT id, published, changed_ts, own, shown, stale, lang, date_ts, updated_ts, data FROM posts"


class Changes:
    """The instants one write transaction moves: rows are remembered before they change, decided at commit."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        now: Callable[[], float],
        fresh: bool,
        floor: int,
        wait: Callable[[float], None] | None = None,
    ) -> None:
        self.conn = conn
        self.now = now
        #: Set: an instant ahead of the clock (a second commit within one second) is waited for.
        self.wait = wait
        #: No instant was ever recorded here: posts start from their own dates (see module doc).
        self.fresh = fresh
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (CLOCK,)).fetchone()
        #: The last instant recorded (``floor``: the last one this process saw, should the file be new).
        self.clock = max(int(row[0]) if row else 0, floor)
        self._tick: int | None = None
        #: The latest date or expiry this transaction reached (schedule.py): its instant, rather than
        #: the wall time of the commit (a list that gains a scheduled post changed at the post's date).
        self.boundary: float | None = None
        self._before: dict[str, Before | None] = {}
        self._groups: dict[str, str] | None = None

    def instant(self) -> int:
        """This commit's instant: whole seconds, later than every one recorded before."""
        if self._tick is None:
            now = self.now()
            self._tick = max(int(now) if self.boundary is None else min(int(now), int(self.boundary)), self.clock + 1)
            if self.wait is not None and 0 < self._tick - now <= 1:
                self.wait(self._tick - now)  # never a Last-Modified in the future (RFC 9110 8.8.2.1)
        return self._tick

    def provisional(self, post: Post) -> float:
        """The instant a post row is inserted with (its last one when its source had a row)."""
        before = self._before.get(post.source)
        return before.instant if before is not None else initial_instant(post, self.now())

    def remember(self, source: str) -> None:
        """Keep what a post row is before the transaction changes it (first call per source wins)."""
        if source in self._before:
            return
        self.remember_groups()
        row = self.conn.execute(f"{_ROW} WHERE source = ?", (source,)).fetchone()
        self._before[source] = (
            None if row is None else Before(bool(row[1]), row[2], row[3], row[4], row[5], _attrs(row[6], row[7], row[8], row[9]))
        )

    def remember_absent(self, source: str) -> None:
        """``remember`` for a source known to have no post row (a file the database has no row for)."""
        if source not in self._before:
            self.remember_groups()
            self._before[source] = None

    def remember_id(self, pid: int) -> None:
        """``remember`` by row id."""
        row = self.conn.execute("SELECT source FROM posts WHERE id = ?", (pid,)).fetchone()
        if row is not None:
            self.remember(row[0])

    def remember_groups(self) -> None:
        """Keep the translation groups as they are before the transaction changes them."""
        if self._groups is None:
            self._groups = self._group_of()

    def _group_of(self) -> dict[str, str]:
        # CROSS JOIN: the groups (translated posts only) drive; the planner would scan every post.
        return dict(self.conn.execute("SELECT p.source, g.grp FROM groups g CROSS JOIN posts p ON p.id = g.post").fetchall())

    def _shown(self, pid: int, own: str) -> str:
        """``own`` with what the post shows of its translations (the lists and pages name them)."""
        rows = self.conn.execute(
            "SELECT p.lang, p.slug, p.translation_of IS NULL, p.data FROM groups g JOIN groups h ON h.grp = g.grp "
            "JOIN posts p ON p.id = h.post WHERE g.post = ? AND p.id != ? ORDER BY p.lang, p.slug",
            (pid, pid),
        )
        shown = []
        for lang, slug, original, data in rows:
            fields = post_fields(data)
            shown.append([lang, slug, original, fields.title, fields.date])
        if not shown:
            return own
        return hashlib.sha256(own.encode() + orjson.dumps(shown)).hexdigest()[:32]

    def _candidates(self) -> Iterable[str]:
        """The posts whose instant may move: those touched, and every member of a group one of them was or is in."""
        touched = set(self._before)
        if self._groups is None:
            return sorted(touched)
        after = self._group_of()
        groups = {g for s in touched for g in (self._groups.get(s), after.get(s)) if g is not None}
        return sorted(touched | {s for s, g in (*self._groups.items(), *after.items()) if g in groups})

    def commit(self, site_data: object, site_mtime_ns: int) -> dict[str, object]:
        """Decide every instant this transaction moved; the meta rows to write with them."""
        conn = self.conn
        for source in self._candidates():
            self._settle(source)
        meta: dict[str, object] = {}
        stored = conn.execute("SELECT value FROM meta WHERE key = 'site'").fetchone()
        if stored is None or stored[0] != site_data:
            meta[SITE_INSTANT] = max(0, min(int(self.now()), site_mtime_ns // 10**9)) if self.fresh else self.instant()
        self.clock = max(self.clock, self._tick or 0, int(self.now()) if self.fresh else 0)
        meta[CLOCK] = self.clock
        return meta

    def _settle(self, source: str) -> None:
        conn = self.conn
        row = conn.execute(f"{_ROW} WHERE source = ?", (source,)).fetchone()
        current = (
            None if row is None else Before(bool(row[1]), row[2], row[3], row[4], row[5], _attrs(row[6], row[7], row[8], row[9]))
        )
        before = self._before.get(source, current)  # a group member untouched by this transaction
        if row is None or current is None or not current.published:
            if before is not None and before.published:
                self._depart(before.attrs)
            return
        pid = row[0]
        shown = self._shown(pid, current.own)
        kept = before is not None and before.published and before.shown == shown and before.attrs == current.attrs
        if kept:
            assert before is not None
            instant = before.instant
        elif self.fresh:
            instant = current.instant
        else:
            instant = self.instant()
            if before is not None and before.published and before.attrs != current.attrs:
                self._depart(before.attrs)
        if before is None or self.fresh:
            stale = 0
        elif before.own != current.own:
            stale = int(before.attrs[2] == current.attrs[2])  # changed, and ``updated`` did not move
        else:
            stale = before.stale
        if (instant, shown, stale) == (current.instant, current.shown, current.stale):
            return
        conn.execute("UPDATE posts SET changed_ts = ?, shown = ?, stale = ? WHERE id = ?", (instant, shown, stale, pid))
        if instant != current.instant:
            _, date_ts, _, cats, tags = current.attrs
            slug = conn.execute("SELECT slug FROM posts WHERE id = ?", (pid,)).fetchone()[0]
            conn.executemany(
                "UPDATE post_categories SET changed_ts = ? WHERE category = ? AND date_ts = ? AND slug = ?",
                [(instant, c, date_ts, slug) for c in cats],
            )
            conn.executemany(
                "UPDATE post_tags SET changed_ts = ? WHERE tag = ? AND date_ts = ? AND slug = ?",
                [(instant, t, date_ts, slug) for t in tags],
            )

    def depart(self, kind: str) -> None:
        """A post left a list that is no scope of its own (``news``: the news sitemap): it changed now."""
        if not self.fresh:
            self.conn.execute(
                "INSERT INTO departures VALUES (?, '', '', ?) ON CONFLICT DO UPDATE SET instant = max(instant, excluded.instant)",
                (kind, self.instant()),
            )

    def _depart(self, attrs: Attrs) -> None:
        """A post left the lists of these scopes (in its language): they changed now."""
        if self.fresh:
            return
        lang, _, _, cats, tags = attrs
        lang = lang.lower()  # language tags are case-insensitive (BCP 47), as queries name them
        keys = [("all", ""), *(("category", c) for c in cats), *(("tag", t) for t in tags)]
        self.conn.executemany(
            "INSERT INTO departures VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET instant = max(instant, excluded.instant)",
            [(kind, key, lang, self.instant()) for kind, key in keys],
        )


def departed(conn: sqlite3.Connection, scopes: Iterable[tuple[str, str]], lang: str | None) -> float:
    """The newest instant a post left any of these scopes (in ``lang``, or in any language)."""
    lang = None if lang is None else lang.lower()
    newest = 0.0
    for kind, key in scopes:
        if lang is None:
            row = conn.execute("SELECT max(instant) FROM departures WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        else:
            row = conn.execute(
                "SELECT instant FROM departures WHERE kind = ? AND key = ? AND lang = ?", (kind, key, lang)
            ).fetchone()
        if row is not None and row[0] is not None:
            newest = max(newest, float(row[0]))
    return newest


def stale_updates(conn: sqlite3.Connection, sources: Iterable[str]) -> list[Problem]:
    """Hints for the posts of ``sources`` whose content moved while their ``updated`` did not.

    ``conn``: the database a server keeps for the content (read only): its writer marks a
    post when it sees its content change with ``updated`` unchanged, and clears the mark
    when an edit moves ``updated``.
    """
    wanted = set(sources)
    rows = conn.execute("SELECT source FROM posts WHERE stale = 1 AND published = 1 ORDER BY source").fetchall()
    return [Problem(r[0], "updated", HINT) for r in rows if r[0] in wanted]
