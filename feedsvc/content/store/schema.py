"""The index database's layout: its tables (the DDL), its version, and how a connection is set up.

One SQLite file (WAL) holds every parsed post with its rendered HTML and plain text,
the filter tables (categories, tags, aliases: published posts only, each keyed in
feed order), counts, an FTS5 table for ``q``, and what the last reload found (files,
problems, the content version). It is a cache of the content directory: deleting it
loses nothing, and a file of another schema or parser version is rebuilt (``prepare``).
How a post or a site becomes a row is codecs.py's; the file itself is dbfile.py's.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

log = logging.getLogger("feedsvc.content")

#: Bumped whenever the schema or what a parsed post holds changes: such a file is rebuilt.
SCHEMA_VERSION = 15

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE files(
    path TEXT PRIMARY KEY,
    mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL, ino INTEGER NOT NULL,
    seen_ns INTEGER NOT NULL,              -- when this row was written (racy-mtime check)
    sha TEXT NOT NULL,                     -- of the bytes last read
    has_post INTEGER NOT NULL,             -- a version of it is in posts (maybe its last good one)
    field TEXT, message TEXT               -- the file's current problem, if any
) WITHOUT ROWID;
CREATE INDEX files_without_post ON files(mtime_ns) WHERE has_post = 0;
CREATE INDEX files_sig ON files(path, mtime_ns, size, ino, seen_ns);
CREATE INDEX files_problems ON files(path) WHERE field IS NOT NULL;
CREATE TABLE posts(
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,
    slug TEXT NOT NULL,
    entry_id TEXT NOT NULL,                -- the post's id (Atom id, JSON Feed id, iCalendar UID)
    published INTEGER NOT NULL DEFAULT 0,  -- 0: another file (earlier by path) holds the slug or the id
    date_ts REAL NOT NULL,
    updated_ts REAL NOT NULL,
    changed_ts REAL NOT NULL,              -- change instant, whole seconds (changes.py): Last-Modified
    lang TEXT NOT NULL,
    event_ts REAL,                         -- the event's start, when the post has one
    translation_of TEXT,
    h TEXT NOT NULL,                       -- hash of (source, sha): the content version's part
    data BLOB NOT NULL,                    -- every other field (JSON)
    own TEXT NOT NULL DEFAULT '',          -- hash of what the post publishes (changes.own_hash)
    shown TEXT NOT NULL DEFAULT '',        -- the same with what it shows of its translations
    stale INTEGER NOT NULL DEFAULT 0,      -- 1: its content changed without `updated` moving
    expires_ts REAL,                       -- front matter `expires`: unpublished from then on (schedule.py)
    news INTEGER NOT NULL DEFAULT 0,       -- 1: in the news sitemap (published within 48 h of the schedule clock)
    sk INTEGER NOT NULL                    -- its rowid in search: date order (queries.search_key)
);
-- The bodies apart: the posts table stays small (a few hundred bytes a row), so filters that
-- look rows up touch few pages, and only the rows a page shows read their bodies.
CREATE TABLE bodies(post INTEGER PRIMARY KEY, html TEXT NOT NULL, text TEXT NOT NULL);
CREATE INDEX posts_slug ON posts(slug, source);
CREATE INDEX posts_entry_id ON posts(entry_id, source);
CREATE INDEX posts_order ON posts(published, date_ts DESC, slug, changed_ts, sk);
CREATE INDEX posts_lang ON posts(published, lang, date_ts DESC, slug, changed_ts, sk);
CREATE INDEX posts_changed ON posts(published, changed_ts);
CREATE INDEX posts_lang_changed ON posts(published, lang, changed_ts);
CREATE UNIQUE INDEX posts_sk ON posts(sk);
CREATE INDEX posts_updated ON posts(published, updated_ts DESC, date_ts DESC, slug);
CREATE INDEX posts_events ON posts(published, event_ts, slug) WHERE event_ts IS NOT NULL;
CREATE INDEX posts_news ON posts(date_ts DESC, slug) WHERE news = 1;
CREATE INDEX posts_expires ON posts(published, expires_ts) WHERE expires_ts IS NOT NULL;
CREATE INDEX posts_translation ON posts(translation_of) WHERE translation_of IS NOT NULL;
CREATE TABLE post_categories(
    category TEXT NOT NULL, date_ts REAL NOT NULL, slug TEXT NOT NULL, post INTEGER NOT NULL,
    changed_ts REAL NOT NULL, lang TEXT NOT NULL, sk INTEGER NOT NULL, PRIMARY KEY(category, date_ts DESC, slug)
) WITHOUT ROWID;
CREATE INDEX post_categories_changed ON post_categories(category, changed_ts);
CREATE TABLE post_tags(
    tag TEXT NOT NULL, date_ts REAL NOT NULL, slug TEXT NOT NULL, post INTEGER NOT NULL,
    changed_ts REAL NOT NULL, label TEXT NOT NULL, lang TEXT NOT NULL, sk INTEGER NOT NULL,
    PRIMARY KEY(tag, date_ts DESC, slug)) WITHOUT ROWID;
CREATE INDEX post_tags_changed ON post_tags(tag, changed_ts);
CREATE TABLE aliases(
    alias TEXT NOT NULL, date_ts REAL NOT NULL, slug TEXT NOT NULL, PRIMARY KEY(alias, date_ts DESC, slug)
) WITHOUT ROWID;
CREATE TABLE tag_labels(tag TEXT NOT NULL, label TEXT NOT NULL, n INTEGER NOT NULL,
                        PRIMARY KEY(tag, label)) WITHOUT ROWID;
-- The slug the first releases gave a published tag label, where the mark rule gave it another
-- (slugs.tag_slug_before_marks): its old URLs redirect to the tag's slug (Index.tag_slug).
CREATE TABLE tag_renames(old TEXT NOT NULL, tag TEXT NOT NULL, label TEXT NOT NULL,
                         PRIMARY KEY(old, tag, label)) WITHOUT ROWID;
-- Published posts per category, tag, language, and per combination of them (queries.count_keys).
CREATE TABLE counts(kind TEXT NOT NULL, key TEXT NOT NULL, n INTEGER NOT NULL,
                    PRIMARY KEY(kind, key)) WITHOUT ROWID;
CREATE TABLE groups(post INTEGER PRIMARY KEY, grp TEXT NOT NULL);
CREATE INDEX groups_grp ON groups(grp);
-- When a post last left a scope's lists, per language (changes.py): kind 'all', 'category', 'tag'.
CREATE TABLE departures(kind TEXT NOT NULL, key TEXT NOT NULL, lang TEXT NOT NULL, instant INTEGER NOT NULL,
                        PRIMARY KEY(kind, key, lang)) WITHOUT ROWID;
CREATE TABLE link_problems(path TEXT NOT NULL, field TEXT NOT NULL, message TEXT NOT NULL);
-- The slugs each commit published, unpublished or regrouped, in commit order (the outbox's
-- event source: written in the same transaction as the change, so none is lost to a crash).
-- One row per slug (its latest change), so the log stays as small as the corpus.
CREATE TABLE changes(seq INTEGER PRIMARY KEY AUTOINCREMENT, slug TEXT NOT NULL UNIQUE);
-- The full-text index of the published posts: its rowid is the post's sk, so that it gives
-- matches newest first without sorting them all (matching.search_page).
CREATE VIRTUAL TABLE search USING fts5(
    title, summary, body, content='', tokenize="unicode61 remove_diacritics 2 tokenchars '_'");
-- The published posts whose full text a large load left for later (fulltext.py): each is in
-- search or here, never both: searches are refused until this is empty.
CREATE TABLE search_todo(sk INTEGER PRIMARY KEY);
"""

#: The published test of a row found by another index. The unary ``+`` keeps the planner
#: from driving the lookup by the ``published`` column (every post_* order index starts
#: with it): without statistics it preferred that index, scanning every published post
#: (14 ms per unknown slug at 10k posts) instead of one ``posts_slug`` probe. Posts are
#: aliased ``p`` wherever it is used.
PUBLISHED_ROW = "+p.published = 1"


#: Why each unpublished post is not published: a file earlier by path holds its slug or its id
#: (``Writer.settle`` decides; the loader logs these rows and /healthz shows them). The id is
#: named only when another slug holds it: a copy of a post (same slug, same date) has both.
CLAIM_PROBLEMS = """
SELECT p.source, 'slug', printf('%Q is already used by %s', p.slug, min(o.source)) FROM posts p
  JOIN posts o ON o.slug = p.slug AND o.source < p.source WHERE p.published = 0 GROUP BY p.id
UNION ALL
SELECT p.source, 'id', printf('%Q is already used by %s', p.entry_id, min(o.source)) FROM posts p
  JOIN posts o ON o.entry_id = p.entry_id AND o.source < p.source AND o.slug != p.slug
  WHERE p.published = 0 GROUP BY p.id"""


#: Each reader connection's own page cache (KiB). Pages beyond it come from the OS page cache,
#: which every process shares and no process's memory is charged for; a worker has up to
#: 8 pooled readers, so this bounds what SQLite keeps in a worker's heap (at 4 MB each, a
#: worker grew by 30+ MB under mixed load as its connections filled their caches).
READER_CACHE_KB = 1024


#: The writer's page cache (KiB): a reload touches the same few index pages again and again.
WRITER_CACHE_KB = 32768


def connect(path: str, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, foreign to no thread.

    ``readonly``: opened with ``mode=ro``, so a missing file is an error, never created.
    """
    if path == ":memory:" or path.startswith("file:"):
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, uri=path.startswith("file:"))
    elif readonly:  # never creates nor writes the file (a reader must not make an empty one)
        uri = f"{Path(path).absolute().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, isolation_level=None, check_same_thread=False, uri=True, timeout=10)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute(f"PRAGMA cache_size = -{READER_CACHE_KB}")
    conn.execute("PRAGMA temp_store = MEMORY")
    return conn


def prepare(conn: sqlite3.Connection, parser_version: str) -> bool:
    """Make ``conn``'s database ours: WAL and our schema. True when it had to be created afresh."""
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode not in ("wal", "memory"):
        log.warning("index database: journal mode %s (WAL unavailable here)", mode)
    conn.execute("PRAGMA synchronous = NORMAL")
    # The WAL is reused from its start after each checkpoint but never shrinks by itself:
    # cap what it keeps, so one large transaction (a first load) does not stay on disk.
    conn.execute("PRAGMA journal_size_limit = 16777216")
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except sqlite3.DatabaseError:
        row = None
    if row is not None and row[0] == f"{SCHEMA_VERSION}/{parser_version}":
        return False
    conn.execute("BEGIN IMMEDIATE")
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' "
        "ESCAPE '!' AND name NOT LIKE 'search!_%' ESCAPE '!'"
    ).fetchall():
        conn.execute(f'DROP TABLE IF EXISTS "{name}"')
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("INSERT INTO meta VALUES ('schema', ?)", (f"{SCHEMA_VERSION}/{parser_version}",))
    # A new database numbers its changes afresh: readers of the log tell the two apart by this.
    conn.execute("INSERT INTO meta VALUES ('changes_epoch', ?)", (os.urandom(8).hex(),))
    conn.execute("COMMIT")
    return True
