"""WebSub publisher on the outbox queue: each feed a change touches is announced to the hub once.

Spec: https://www.w3.org/TR/websub/ (publishing is ``hub.mode=publish`` with ``hub.url``, as
hubs implement it). The topics of a change are the feed documents that list the post
before or after it (every scope and language variant, and the calendars of an event):
see ``events.feed_topics``. Pings are deliveries like any other: durable, retried with
backoff (FEEDSVC_WEBSUB_RETRIES attempts), sent by the writer process only. The feeds'
own ``Link: rel=hub`` header is written by the feed views (``feeds/views.py``, ``websub_links``).
"""

from __future__ import annotations

import sqlite3
import uuid
from urllib.parse import urlencode

from ..content import Site
from .events import PostEvent
from .queue import Queue

KIND = "websub"


def destination(hub: str) -> str:
    """The queue destination of a hub."""
    return f"websub:{hub}"


def enqueue(conn: sqlite3.Connection, events: list[PostEvent], site: Site, now: float) -> None:
    """Queue one ping per topic the events touch that is not already waiting for its first attempt."""
    hub = site.websub_hub
    if not hub or not events:
        return
    dest = destination(hub)
    conn.execute("INSERT INTO destinations (dest, kind, config) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (dest, KIND, hub))
    waiting = {bytes(r[0]) for r in conn.execute("SELECT body FROM deliveries WHERE dest = ? AND attempts = 0", (dest,))}
    topics = dict.fromkeys(t for e in events for t in e.topics)
    for topic in topics:
        body = urlencode({"hub.mode": "publish", "hub.url": topic}).encode("ascii")
        if body not in waiting:
            Queue.add(
                conn,
                f"ping_{uuid.uuid4().hex}",
                KIND,
                dest,
                hub,
                body,
                {"Content-Type": "application/x-www-form-urlencoded"},
                now,
            )
