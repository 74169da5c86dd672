"""The full-text table's rows: written with each published post, or later, in steps, after a large load.

A published post is in the FTS5 table ``search`` (its rowid the post's ``sk``) or, when a
large load deferred its full text, in ``search_todo``, never both. Tokenising is most of a
first load's writing (about half the writer's CPU at 100k posts), so a large load (a first
start, a rebuild) publishes everything else first and the writer fills the full text
afterwards, a step at a time, between reloads (``fill``). Until ``search_todo`` is empty a
search cannot be answered in full: ``pending`` tells readers (matching.py), which refuse
it (``SearchNotReady``) rather than answer with some of the matches.

The table is contentless (``content=''``): taking a row out needs the very values put in,
which come from the post row (``post_fields``) and its body's plain text, as here.
"""

from __future__ import annotations

import sqlite3

from .codecs import post_fields

#: Posts whose full text one ``fill`` step writes (about 0.5 ms each at 100k posts).
FILL_STEP = 1000


def add(conn: sqlite3.Connection, sk: int, title: str, summary: str, text: str, defer: bool) -> None:
    """A post being published: its full text now, or (``defer``) queued for ``fill``."""
    if defer:
        conn.execute("INSERT INTO search_todo VALUES (?)", (sk,))
    else:
        conn.execute("INSERT INTO search (rowid, title, summary, body) VALUES (?, ?, ?, ?)", (sk, title, summary, text))


def remove(conn: sqlite3.Connection, sk: int, title: str, summary: str, text: str) -> None:
    """A post being unpublished: out of the queue if its full text was never written, else out of the table."""
    if conn.execute("DELETE FROM search_todo WHERE sk = ?", (sk,)).rowcount:
        return
    conn.execute(
        "INSERT INTO search (search, rowid, title, summary, body) VALUES ('delete', ?, ?, ?, ?)", (sk, title, summary, text)
    )


def pending(conn: sqlite3.Connection) -> int:
    """How many published posts still wait for their full text (0: every search is answered in full)."""
    return int(conn.execute("SELECT count(*) FROM search_todo").fetchone()[0])


def waiting(conn: sqlite3.Connection) -> bool:
    """Whether any published post still waits for its full text (one index probe)."""
    return conn.execute("SELECT 1 FROM search_todo LIMIT 1").fetchone() is not None


def fill(conn: sqlite3.Connection, step: int | None = None) -> int:
    """Write the full text of up to ``step`` (``FILL_STEP``) queued posts, newest first, in one transaction; how many remain.

    Changes nothing a reader's state depends on (no content version, no ``state``): readers
    see the searches become answerable, nothing else.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        rows = conn.execute(
            "SELECT t.sk, p.data, b.text FROM search_todo t LEFT JOIN posts p ON p.sk = t.sk "
            "LEFT JOIN bodies b ON b.post = p.id ORDER BY t.sk DESC LIMIT ?",
            (step or FILL_STEP,),
        ).fetchall()
        values = []
        for sk, data, text in rows:
            if data is not None and text is not None:  # else no post holds the key (never so): just dequeued
                fields = post_fields(data)
                values.append((sk, fields.title, fields.summary, text))
        conn.executemany("INSERT INTO search (rowid, title, summary, body) VALUES (?, ?, ?, ?)", values)
        conn.executemany("DELETE FROM search_todo WHERE sk = ?", [(r[0],) for r in rows])
        left = pending(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return left
