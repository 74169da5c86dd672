"""Activities to followers' inboxes, on the outbox's one queue: Accept, Create, Update, Delete.

Each activity is serialised and signed once, when it is enqueued: every retry sends the
same bytes, the same ``Date`` and the same ``Signature``. Mastodon refuses a signature
whose ``Date`` is more than 12 hours old, while retries go on for
FEEDSVC_FEDIVERSE_MAX_AGE (8 days by default), so a delivery still pending 11 hours after
its signature is signed again, once per 11 hours, and the new headers are stored: the
activity (its id and body) never changes, and retries within one window carry identical
signatures. An inbox is one queue destination, so a server's shared inbox gets each
activity once, in order.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from ...content import Index, Site
from ..events import DELETED, PUBLISHED, PostEvent
from ..queue import Delivery, Queue
from . import followers, objects, signatures
from .actor import Actor, key_id

if TYPE_CHECKING:
    from .state import Fediverse

KIND = "activitypub"
#: A stored signature older than this is made again before the next attempt (Mastodon allows 12 h).
RESIGN_AFTER = 11 * 3600.0


def sign(fedi: Fediverse, site: Site, username: str, inbox: str, body: bytes, now: float) -> dict[str, str]:
    """The signed headers of one POST of ``body`` to ``inbox`` by actor ``username``."""
    parts = urlsplit(inbox)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return signatures.sign_post(fedi.keys, key_id(site, username), parts.netloc, path or "/", body, now)


def enqueue(
    conn: sqlite3.Connection,
    fedi: Fediverse,
    site: Site,
    username: str,
    inbox: str,
    activity: dict[str, Any],
    now: float,
    first: bool = False,
) -> None:
    """Queue one signed activity for one inbox, inside an open queue transaction (``first``: ahead of the rest)."""
    body = orjson.dumps(objects.with_context(activity), option=orjson.OPT_SORT_KEYS)
    conn.execute("INSERT INTO destinations (dest, kind, config) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (inbox, KIND, inbox))
    Queue.add(
        conn,
        f"ap_{uuid.uuid4().hex}",
        KIND,
        inbox,
        inbox,
        body,
        {**sign(fedi, site, username, inbox, body, now), "X-Actor": username},
        now,
        first,
    )


def gone(queue: Queue, d: Delivery, now: float) -> int:
    """The inbox answered 410 Gone: forget the followers it served and drop what it has pending; how many followers.

    Mastodon answers 410 for an account (or server) that is gone for good; a follower that
    comes back follows again, and its new Follow makes the inbox a destination again.
    """
    with queue.transaction() as conn:
        n = followers.remove_inbox(conn, d.dest)
        Queue.clear(conn, d.dest, f"HTTP 410 Gone: {n} follower(s) removed", now)
    return n


def username_for(site: Site, lang: str) -> str | None:
    """The actor that publishes posts in ``lang`` (None when the fediverse is off)."""
    fedi = site.fediverse
    if fedi is None:
        return None
    if not fedi.per_language or lang == site.language:
        return fedi.username
    return f"{fedi.username}-{lang.lower()}"


def sender(fedi: Fediverse, current: Callable[[], Index]) -> Callable[[sqlite3.Connection, list[PostEvent], Site, float], None]:
    """The events sender: Create, Update or Delete of each changed post to its actor's followers."""
    fedi.queue  # noqa: B018 (opening it makes the followers' tables, outside the step's transaction)

    def send(conn: sqlite3.Connection, events: list[PostEvent], site: Site, now: float) -> None:
        if site.fediverse is None:
            return
        index = current()
        for event in events:
            username = username_for(site, event.lang)
            assert username is not None
            who = Actor(username, None)
            url = objects.object_url(site, event.slug)
            if event.type == DELETED:
                conn.execute("INSERT OR REPLACE INTO ap_tombstones VALUES (?, ?)", (event.slug, url))
                activity = objects.delete(site, url, who)
            else:
                conn.execute("DELETE FROM ap_tombstones WHERE slug = ?", (event.slug,))
                post = index.get(event.slug)
                if post is None:
                    continue
                activity = (objects.create if event.type == PUBLISHED else objects.update)(index, post, who)
            for inbox in followers.inboxes(conn, username):
                enqueue(conn, fedi, site, username, inbox, activity, now)

    return send


def headers_for(fedi: Fediverse, site: Site, queue: Queue, d: Delivery, now: float) -> dict[str, str]:
    """The headers of this attempt: the stored ones, signed again (and stored) once they near Mastodon's limit."""
    headers = dict(d.headers)
    username = headers.pop("X-Actor", "")
    try:
        signed_at = signatures.date_of({"date": headers.get("Date", "")})
    except signatures.SignatureError:
        signed_at = 0.0
    if now - signed_at > RESIGN_AFTER and username:
        headers = sign(fedi, site, username, d.url, d.body, now)
        queue.set_headers(d.seq, {**headers, "X-Actor": username})
    return headers
