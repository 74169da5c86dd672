"""Write the index database: apply parsed files in one transaction, decide which posts are published.

The only module that writes the database (with ``published.py``, which it drives). A post
row is *published* when its file is the first (by path) to claim its slug and the first to
claim its id, and is live at the transaction's schedule clock (schedule.py: its date
reached, its expiry not); publishing adds it to the filter tables, the counts, the
full-text table and the content version, and unpublishing takes exactly that away again
(published.py), so every table is changed only for the posts a reload touched. The change
instants (Last-Modified) of what a transaction touched are decided at its end (changes.py).
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import NamedTuple

from ..changes import Changes, own_hash
from ..model import Post, Problem
from ..queries import SK_BITS, search_key, search_slot
from ..schedule import (
    LIVE_AT,
    NEXT_CHANGE,
    SCHEDULE_CLOCK,
    due,
    is_live,
    news_sources,
    next_change,
    recorded_clock,
    settle_news,
)
from .codecs import post_data, post_fields
from .published import Published
from .schema import PUBLISHED_ROW

#: Entries kept in the ``changes`` log; a reader further behind re-reads the whole state.
CHANGES_KEPT = 200_000


def post_hash(source: str, sha: str) -> str:
    """The part of the content version one published file contributes."""
    return hashlib.sha256(f"{source}\0{sha}".encode()).hexdigest()[:32]


class Prepared(NamedTuple):
    """What a post row holds that its parsed post alone decides (worked out in the parser processes)."""

    h: str
    data: bytes
    own: str


def prepare(post: Post, sha: str) -> Prepared:
    """A parsed post's ``h``, ``data`` and ``own`` columns (``post_hash``, ``post_data``, ``own_hash``)."""
    return Prepared(post_hash(post.source, sha), post_data(post), own_hash(post))


class Writer:
    """Changes to the database within one open transaction (``BEGIN IMMEDIATE`` .. ``COMMIT``).

    ``now``: the clock, read only to date the changes this transaction makes; ``fresh``:
    no change was ever dated in this database (``changes.Changes``); ``floor``: the last
    instant this process recorded, should the database file be new; ``wait``: sleeps until
    the clock reaches this commit's instant, when it is ahead (see ``changes.Changes``);
    ``defer_search``: queue the full text of the posts it publishes (fulltext.py).
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        now: Callable[[], float] = time.time,
        fresh: bool = False,
        floor: int = 0,
        wait: Callable[[float], None] | None = None,
        defer_search: bool = False,
    ) -> None:
        self.conn = conn
        #: The change instants this transaction moves (Last-Modified).
        self.changes = Changes(conn, now, fresh, floor, wait)
        #: Slugs and ids whose owner must be decided again before commit.
        self._slugs: set[str] = set()
        self._ids: set[str] = set()
        #: Slugs published, unpublished or regrouped by this transaction (the ``changes`` log).
        self.touched: set[str] = set()
        #: The published set's tables and totals (published.py).
        self.published = Published(conn, self.touched, defer_search)
        self.changed = False
        #: Re-publish files even when their bytes are unchanged (a new site.yaml shapes every post).
        self.force = False
        #: The instant posts are evaluated at (schedule.py): never before the one last recorded.
        self._since = recorded_clock(conn)
        self.at = max(now(), self._since)
        #: The posts in the news sitemap before this transaction (a post leaving it moves its Last-Modified).
        self._news = news_sources(conn)

    # -- files -----------------------------------------------------------------------------
    def file_problem(self, rel: str, sig: tuple[int, int, int], sha: str, problem: Problem) -> Problem:
        """Record a problem with a file; a file that was good keeps its last good post. Returns the problem as reported."""
        has_post = self.conn.execute("SELECT 1 FROM posts WHERE source = ?", (rel,)).fetchone() is not None
        if has_post:
            problem = Problem(problem.path, problem.field, problem.message + " (serving the last good version)")
        self.conn.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (rel, *sig, time.time_ns(), sha, int(has_post), problem.field, problem.message),
        )
        self.changed = True
        return problem

    def file_parsed(
        self,
        rel: str,
        sig: tuple[int, int, int],
        sha: str,
        post: Post | None,
        prepared: Prepared | None = None,
        new: bool = False,
    ) -> None:
        """Record a file that parsed: its post (None: a draft, published nowhere).

        ``prepared``: ``prepare(post, sha)`` when already worked out; ``new``: the file has no
        row (nor, then, a post row) in the database, as on a first load: nothing to compare or remove.
        """
        if new:
            self.changes.remember_absent(rel)
            same = False
        else:
            row = self.conn.execute("SELECT sha, field FROM files WHERE path = ?", (rel,)).fetchone()
            same = not self.force and row is not None and row[0] == sha and row[1] is None
            if not same:
                self._remove_post(rel)
        if not same:  # the same bytes again (a touch, a racy re-read): the post stands as it is
            if post is not None:
                self._add_post(post, sha, prepared)
            self.changed = True
        self.conn.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
            (rel, *sig, time.time_ns(), sha, int(post is not None)),
        )

    def file_gone(self, rel: str) -> None:
        """A file was deleted: its post goes with it."""
        self._remove_post(rel)
        self.conn.execute("DELETE FROM files WHERE path = ?", (rel,))
        self.changed = True

    def catch_up(self) -> None:
        """Decide again the posts whose date or expiry was reached since the last recorded schedule clock."""
        passed = due(self.conn, self._since, self.at)
        if passed:
            self._slugs.update(slug for slug, _ in passed)
            self.changes.boundary = max(ts for _, ts in passed)
            self.changed = True

    def drop_posts_not_in(self, keep: Iterable[str]) -> list[str]:
        """Remove every post whose categories are not all in ``keep`` (a site.yaml change); their sources."""
        allowed = set(keep)
        gone = []
        for source, data in self.conn.execute("SELECT source, data FROM posts").fetchall():
            if not set(post_fields(data).categories) <= allowed:
                gone.append(source)
        for source in gone:
            self._remove_post(source)
            self.conn.execute("UPDATE files SET has_post = 0 WHERE path = ?", (source,))
        return gone

    # -- posts ----------------------------------------------------------------------------
    def _add_post(self, post: Post, sha: str, prepared: Prepared | None = None) -> None:
        h, data, own = prepared or prepare(post, sha)
        changed_ts = self.changes.provisional(post)
        free = self.conn.execute("SELECT 1 FROM posts WHERE slug = ? OR entry_id = ?", (post.slug, post.id)).fetchone() is None
        free = free and is_live(post.date_ts, post.expires_ts, self.at)
        base = search_slot(post.date_ts)
        taken = self.conn.execute("SELECT max(sk) FROM posts WHERE sk >= ? AND sk < ?", (base, base + (1 << SK_BITS))).fetchone()[
            0
        ]
        sk = search_key(post.date_ts, taken)
        if sk is None:  # the second's keys crept to its end (posts re-published): the lowest free one
            sk = self.conn.execute(
                "SELECT ? WHERE NOT EXISTS (SELECT 1 FROM posts WHERE sk = ?) UNION ALL "
                "SELECT * FROM (SELECT a.sk + 1 FROM posts a WHERE a.sk >= ? AND a.sk < ? AND NOT EXISTS "
                "(SELECT 1 FROM posts b WHERE b.sk = a.sk + 1) ORDER BY a.sk LIMIT 1) LIMIT 1",
                (base, base, base, base + (1 << SK_BITS) - 1),
            ).fetchone()[0]
        cur = self.conn.execute(
            "INSERT INTO posts (source, slug, entry_id, published, date_ts, updated_ts, changed_ts, lang, event_ts, "
            "translation_of, h, data, own, expires_ts, sk) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                post.source,
                post.slug,
                post.id,
                int(free),
                post.date_ts,
                post.updated.timestamp(),
                changed_ts,
                post.lang,
                post.event.start.timestamp() if post.event else None,
                post.translation_of,
                h,
                data,
                own,
                post.expires_ts,
                sk,
            ),
        )
        pid = cur.lastrowid
        assert pid is not None
        self.conn.execute("INSERT INTO bodies VALUES (?, ?, ?)", (pid, post.content_html, post.content_text))
        if free:  # the common case: publish from the values in hand
            self.published.publish(pid, (post.slug, post.date_ts, changed_ts, post.lang, h, data, post.content_text, sk), post)
        else:  # claimed by another file, or not live yet (or any more): ``settle`` decides
            self._slugs.add(post.slug)
            self._ids.add(post.id)

    def _remove_post(self, source: str) -> None:
        self.changes.remember(source)
        row = self.conn.execute("SELECT id, slug, entry_id, published FROM posts WHERE source = ?", (source,)).fetchone()
        if row is None:
            return
        pid, slug, entry_id, published = row
        if published:
            self.published.unpublish(pid)
        self.conn.execute("DELETE FROM posts WHERE id = ?", (pid,))
        self.conn.execute("DELETE FROM bodies WHERE post = ?", (pid,))
        self._slugs.add(slug)
        self._ids.add(entry_id)

    def settle(self) -> None:
        """Give each slug and id touched by this transaction to its first file by path; publish or unpublish.

        A post is published when no file earlier by path has its slug or its id (published or not),
        so the outcome never depends on the order files were read in, and when it is live at the
        schedule clock (a scheduled post keeps its slug and id while it waits).
        """
        conn = self.conn
        pids = {pid for slug in self._slugs for (pid,) in conn.execute("SELECT id FROM posts WHERE slug = ?", (slug,))}
        pids.update(pid for eid in self._ids for (pid,) in conn.execute("SELECT id FROM posts WHERE entry_id = ?", (eid,)))
        decided = [
            conn.execute(
                "SELECT p.id, p.published, NOT EXISTS (SELECT 1 FROM posts o WHERE o.slug = p.slug AND o.source < p.source) "
                "AND NOT EXISTS (SELECT 1 FROM posts o WHERE o.entry_id = p.entry_id AND o.source < p.source) "
                f"AND {LIVE_AT} FROM posts p WHERE p.id = ?",
                (self.at, self.at, pid),
            ).fetchone()
            for pid in sorted(pids)
        ]
        for pid, published, owner in decided:  # first the losers, so a winner's rows never clash with theirs
            if published and not owner:
                self.changes.remember_id(pid)
                self.published.unpublish(pid)
        for pid, published, owner in decided:
            if owner and not published:
                self.changes.remember_id(pid)
                self.published.publish(pid)
        self._slugs.clear()
        self._ids.clear()

    # -- translations ------------------------------------------------------------------------
    def link_translations(self) -> None:
        """Group each published original with the published posts naming it in ``translation_of``.

        A bad reference (unknown slug, the post itself, a translation of a translation, a
        second version in one language) is a problem of the translating file, which stays
        published without the link.
        """
        conn = self.conn
        self.changes.remember_groups()
        before = self._groups()
        conn.execute("DELETE FROM groups")
        conn.execute("DELETE FROM link_problems")
        rows = conn.execute(
            "SELECT p.id, p.source, p.slug, p.lang, p.translation_of FROM posts p INDEXED BY posts_translation "
            f"WHERE p.translation_of IS NOT NULL AND {PUBLISHED_ROW} ORDER BY p.source"
        ).fetchall()
        problems: list[tuple[str, str, str]] = []
        groups: dict[str, list[tuple[int, str]]] = {}
        for pid, source, slug, lang, target in rows:
            original = conn.execute(
                f"SELECT p.id, p.lang, p.translation_of, p.source FROM posts p WHERE p.slug = ? AND {PUBLISHED_ROW}", (target,)
            ).fetchone()
            if target == slug:
                problems.append((source, "translation_of", "names this post itself"))
            elif original is None:
                problems.append((source, "translation_of", f"no published post has the slug {target!r}"))
            elif original[2] is not None:
                problems.append(
                    (source, "translation_of", f"{target!r} is itself a translation (of {original[2]!r}); name the original")
                )
            else:
                members = groups.setdefault(target, [(original[0], original[1])])
                clash = next((m for m in members if m[1].lower() == lang.lower()), None)
                if clash is not None:
                    other = conn.execute("SELECT source FROM posts WHERE id = ?", (clash[0],)).fetchone()[0]
                    problems.append((source, "translation_of", f"{target!r} already has a version in {lang!r} ({other})"))
                else:
                    members.append((pid, lang))
        conn.executemany(
            "INSERT INTO groups VALUES (?, ?)", [(pid, grp) for grp, members in groups.items() for pid, _ in members]
        )
        conn.executemany("INSERT INTO link_problems VALUES (?, ?, ?)", problems)
        after = self._groups()
        for grp in set(before) | set(after):  # a post's translations are part of what it shows
            if before.get(grp) != after.get(grp):
                self.touched.update(before.get(grp, set()) | after.get(grp, set()))

    def _groups(self) -> dict[str, set[str]]:
        """Each translation group's member slugs (published posts only)."""
        out: dict[str, set[str]] = {}
        for grp, slug in self.conn.execute(
            f"SELECT g.grp, p.slug FROM groups g CROSS JOIN posts p ON p.id = g.post WHERE {PUBLISHED_ROW}"  # groups drive
        ):
            out.setdefault(grp, set()).add(slug)
        return out

    # -- the transaction's end ---------------------------------------------------------------
    def finish(self, meta: dict[str, object]) -> None:
        """Write the content version, the change instants and ``meta`` (still inside the transaction)."""
        self.published.flush_counts()
        news = settle_news(self.conn, self.at)
        if self._news - news_sources(self.conn):
            self.changes.depart("news")
        meta = {**meta, **self.changes.commit(meta.get("site"), int(str(meta.get("site_mtime_ns", 0))))}
        site_key = str(meta.get("site_key", ""))
        published = self.published
        values = {
            **meta,
            "acc": f"{published.acc:032x}",
            "count": published.count,
            "version": published.version(site_key, news),
            SCHEDULE_CLOCK: self.at,
            NEXT_CHANGE: next_change(self.conn, self.at),
        }
        self.conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))
        if self.touched:
            # REPLACE: a slug's earlier entry goes, its latest change comes last (a reader behind sees that one).
            self.conn.executemany("INSERT OR REPLACE INTO changes (slug) VALUES (?)", [(s,) for s in sorted(self.touched)])
            floor = self.conn.execute("SELECT max(seq) - ? FROM changes", (CHANGES_KEPT,)).fetchone()[0]
            if floor > 0 and self.conn.execute("DELETE FROM changes WHERE seq <= ?", (floor,)).rowcount:
                self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('changes_floor', ?)", (floor,))
            self.touched.clear()
