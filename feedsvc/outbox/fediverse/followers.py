"""Followers of the site's actors and tombstones of unpublished posts, in the outbox's queue database.

The inbox (any process) adds and removes followers in the same queue transaction that
enqueues the signed Accept, so a follower is never stored without its Accept on the way.
Deliveries read them in the writer's event step.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from urllib.parse import urlsplit

SCHEMA = """
CREATE TABLE IF NOT EXISTS ap_followers(
    actor TEXT NOT NULL,          -- our actor's username
    follower TEXT NOT NULL,       -- the remote actor's id
    inbox TEXT NOT NULL,          -- where to deliver: its shared inbox when it offers one
    since REAL NOT NULL,
    PRIMARY KEY (actor, follower)) WITHOUT ROWID;
-- posts whose Delete was sent: their URL answers 410 with a Tombstone to activity requests
CREATE TABLE IF NOT EXISTS ap_tombstones(slug TEXT PRIMARY KEY, url TEXT NOT NULL) WITHOUT ROWID;
-- verified inbox signatures of the last minutes: a second use is a replay
CREATE TABLE IF NOT EXISTS ap_seen(sig TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class Follower:
    """One remote actor following one of ours."""

    actor: str
    follower: str
    inbox: str
    since: float

    @property
    def server(self) -> str:
        """The follower's server (its host)."""
        return urlsplit(self.follower).netloc


def setup(conn: sqlite3.Connection) -> None:
    """Create the followers and tombstones tables if they are not there."""
    conn.executescript(SCHEMA)


def add(conn: sqlite3.Connection, actor: str, follower: str, inbox: str, now: float) -> None:
    """Store (or refresh) a follower, inside an open transaction."""
    conn.execute(
        "INSERT INTO ap_followers VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET inbox = excluded.inbox",
        (actor, follower, inbox, now),
    )


def remove(conn: sqlite3.Connection, follower: str, actor: str | None = None) -> int:
    """Forget a follower (of one actor, or of all when ``actor`` is None); the number of rows removed."""
    if actor is None:
        return int(conn.execute("DELETE FROM ap_followers WHERE follower = ?", (follower,)).rowcount)
    return int(conn.execute("DELETE FROM ap_followers WHERE actor = ? AND follower = ?", (actor, follower)).rowcount)


def remove_inbox(conn: sqlite3.Connection, inbox: str) -> int:
    """Forget every follower delivered to ``inbox`` (it answered 410 Gone); the number of rows removed."""
    return int(conn.execute("DELETE FROM ap_followers WHERE inbox = ?", (inbox,)).rowcount)


def of(conn: sqlite3.Connection, actor: str | None = None) -> list[Follower]:
    """Followers of one actor (or of all), oldest first."""
    sql = "SELECT actor, follower, inbox, since FROM ap_followers"
    rows = (
        conn.execute(sql + " WHERE actor = ? ORDER BY since, follower", (actor,))
        if actor is not None
        else conn.execute(sql + " ORDER BY actor, since, follower")
    )
    return [Follower(*r) for r in rows]


def count(conn: sqlite3.Connection, actor: str) -> int:
    """How many follow ``actor``."""
    return int(conn.execute("SELECT count(*) FROM ap_followers WHERE actor = ?", (actor,)).fetchone()[0])


def inboxes(conn: sqlite3.Connection, actor: str) -> list[str]:
    """The distinct inboxes to deliver one activity of ``actor`` to (one per shared inbox)."""
    return [r[0] for r in conn.execute("SELECT DISTINCT inbox FROM ap_followers WHERE actor = ? ORDER BY inbox", (actor,))]
