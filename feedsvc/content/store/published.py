"""The published set within one write transaction: a post row into or out of what lists published posts.

Publishing a row adds it to the filter tables (``post_categories``, ``post_tags``, ``aliases``),
the counts and tag labels, the full text (fulltext.py) and the content version's sum; unpublishing
takes exactly that away again. Count changes are gathered and written once, at the
transaction's end (``flush_counts``). Which rows are published is the writer's decision.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter

from ..model import Post
from ..queries import count_keys
from ..slugs import tag_slug_before_marks
from . import fulltext
from .codecs import post_fields

#: The content version is a hash of the site and a sum of one 128-bit hash per published
#: post: adding or removing a post changes it in O(1), and the same content gives the same
#: version on every host.
_MOD = 1 << 128


class Published:
    """The published set's tables and running totals, changed one post row at a time.

    ``touched``: the writer's set of slugs published, unpublished or regrouped (the
    ``changes`` log); every row published or unpublished here adds its slug to it.
    """

    def __init__(self, conn: sqlite3.Connection, touched: set[str], defer_search: bool = False) -> None:
        self.conn = conn
        self.touched = touched
        #: Queue the full text of posts published here instead of writing it (fulltext.py: a large load).
        self.defer_search = defer_search
        #: Count changes of this transaction, written once at its end.
        self._counts: Counter[tuple[str, str]] = Counter()
        self._labels: Counter[tuple[str, str]] = Counter()
        row = conn.execute("SELECT value FROM meta WHERE key = 'acc'").fetchone()
        #: The sum of the published posts' hashes, and their number.
        self.acc = int(row[0], 16) if row else 0
        row = conn.execute("SELECT value FROM meta WHERE key = 'count'").fetchone()
        self.count = int(row[0]) if row else 0

    def publish(
        self, pid: int, row: tuple[str, float, float, str, str, bytes, str, int] | None = None, post: Post | None = None
    ) -> None:
        """Add a post row to the filter tables, counts, full text and version (``post``: the one ``row`` was made from)."""
        conn = self.conn
        if row is None:
            conn.execute("UPDATE posts SET published = 1 WHERE id = ?", (pid,))
        slug, date_ts, changed_ts, lang, h, data, text, sk = (
            row
            or conn.execute(
                "SELECT p.slug, p.date_ts, p.changed_ts, p.lang, p.h, p.data, b.text, p.sk FROM posts p "
                "JOIN bodies b ON b.post = p.id WHERE p.id = ?",
                (pid,),
            ).fetchone()
        )
        if post is not None:  # the values ``data`` was just written from
            title, cats, summary, aliases = post.title, list(post.categories), post.summary, list(post.aliases)
            tags = [[t.slug, t.label] for t in post.tags]
        else:
            d = post_fields(data)
            title, cats, tags, summary, aliases = d.title, d.categories, d.tags, d.summary, d.aliases
        conn.executemany(
            "INSERT INTO post_categories VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(c, date_ts, slug, pid, changed_ts, lang, sk) for c in cats],
        )
        conn.executemany(
            "INSERT INTO post_tags VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(t, date_ts, slug, pid, changed_ts, label, lang, sk) for t, label in tags],
        )
        conn.executemany("INSERT OR IGNORE INTO aliases VALUES (?, ?, ?)", [(a, date_ts, slug) for a in aliases])
        for t, label in tags:
            self._labels[(t, label)] += 1
        self._count_up(count_keys(cats, [t for t, _ in tags], lang), 1)
        fulltext.add(conn, sk, title, summary, text, self.defer_search)
        self.acc = (self.acc + int(h, 16)) % _MOD
        self.count += 1
        self.touched.add(slug)

    def unpublish(self, pid: int) -> None:
        """Take a published post row out of everything ``publish`` put it in."""
        conn = self.conn
        conn.execute("UPDATE posts SET published = 0 WHERE id = ?", (pid,))
        slug, date_ts, lang, h, data, text, sk = conn.execute(
            "SELECT p.slug, p.date_ts, p.lang, p.h, p.data, b.text, p.sk FROM posts p JOIN bodies b ON b.post = p.id "
            "WHERE p.id = ?",
            (pid,),
        ).fetchone()
        d = post_fields(data)
        title, cats, tags, summary, aliases = d.title, d.categories, d.tags, d.summary, d.aliases
        conn.executemany(
            "DELETE FROM post_categories WHERE category = ? AND date_ts = ? AND slug = ?", [(c, date_ts, slug) for c in cats]
        )
        conn.executemany(
            "DELETE FROM post_tags WHERE tag = ? AND date_ts = ? AND slug = ?", [(t, date_ts, slug) for t, _ in tags]
        )
        conn.executemany(
            "DELETE FROM aliases WHERE alias = ? AND date_ts = ? AND slug = ?", [(a, date_ts, slug) for a in aliases]
        )
        for t, label in tags:
            self._labels[(t, label)] -= 1
        self._count_up(count_keys(cats, [t for t, _ in tags], lang), -1)
        fulltext.remove(conn, sk, title, summary, text)
        self.acc = (self.acc - int(h, 16)) % _MOD
        self.count -= 1
        self.touched.add(slug)

    def _count_up(self, keys: list[tuple[str, str]], delta: int) -> None:
        for key in dict.fromkeys(keys):
            self._counts[key] += delta

    def flush_counts(self) -> None:
        """Apply the count changes gathered since the transaction began (one statement per key, not per post)."""
        conn = self.conn
        conn.executemany(
            "INSERT INTO counts VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n",
            [(kind, key, n) for (kind, key), n in self._counts.items() if n],
        )
        conn.executemany(
            "INSERT INTO tag_labels VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n",
            [(tag, label, n) for (tag, label), n in self._labels.items() if n],
        )
        conn.execute("DELETE FROM counts WHERE n <= 0")
        conn.execute("DELETE FROM tag_labels WHERE n <= 0")
        for tag, label in self._labels:
            old = tag_slug_before_marks(label) if not label.isascii() else tag
            if old and old != tag:
                if conn.execute("SELECT 1 FROM tag_labels WHERE tag = ? AND label = ?", (tag, label)).fetchone():
                    conn.execute("INSERT OR IGNORE INTO tag_renames VALUES (?, ?, ?)", (old, tag, label))
                else:
                    conn.execute("DELETE FROM tag_renames WHERE old = ? AND tag = ? AND label = ?", (old, tag, label))
        self._counts.clear()
        self._labels.clear()

    def version(self, site_key: str, news: int) -> str:
        """The content version: the site, the published posts' sum and number, and the news sitemap's ``news``."""
        return hashlib.sha256(f"{site_key}\0{self.acc:032x}\0{self.count}\0{news:032x}".encode()).hexdigest()[:32]
