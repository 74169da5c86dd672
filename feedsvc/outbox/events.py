"""The outbox's event source: what happened to each post between the state last seen and the current one.

The index logs, in the same transaction as each content change, the slugs it published,
unpublished or regrouped (``Index.changes``). For each such slug this module compares the
post's API object now with the hash it recorded when it last saw the post (``known``, in
the queue database), and names the event: ``post.published`` (not known, published now),
``post.updated`` (known, another representation), ``post.deleted`` (known, no longer
published). Each event is written in the same queue transaction as its new ``known`` row,
and the log position with the last of them (a step over many posts writes every
``WRITE_EVERY``), so a crash before the end repeats the step, which finds what was written
equal and sends only the rest, and a crash after it loses nothing. Whatever makes a post
go live or leave (an edit, a deletion, a scheduled time) reaches the outbox the same way:
as a change the writer committed.

The first time (no position stored) only records what is there: nothing is sent for an
existing corpus. A log that cannot answer (a rebuilt index database, entries dropped)
makes the step compare every published and every known post.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from .. import urls
from ..api.schemas import dump_post
from ..content import Index, Post, Site
from ..formats import CALENDAR, FEEDS
from .queue import Queue

PUBLISHED, UPDATED, DELETED = "post.published", "post.updated", "post.deleted"
#: Formats of one feed scope whose documents change together.
FEED_FORMATS = FEEDS


@dataclass(frozen=True)
class PostEvent:
    """One post's change, with what a sender needs to address and filter it."""

    type: str
    slug: str
    #: The API's post object; for ``post.deleted`` its id, slug and url.
    data: dict[str, Any]
    categories: tuple[str, ...]
    lang: str
    #: Feed URLs whose documents hold the post (before or after the change): the WebSub topics.
    topics: tuple[str, ...]


#: A sender's part of a step: enqueue deliveries for these events in the open queue transaction.
Sender = Callable[[sqlite3.Connection, list[PostEvent], Site, float], None]


def feed_topics(site: Site, post: Post, memo: dict[tuple[str, str, str | None, str | None], str] | None = None) -> list[str]:
    """Self URLs of every feed document (scope, language variant, format) that lists ``post``.

    ``memo``: the URLs already built for ``site`` (a step builds the same few thousand again and again).
    """
    scopes: list[tuple[str, str | None]] = [
        ("all", None),
        *(("category", c) for c in post.categories),
        *(("tag", t.slug) for t in post.tags),
    ]
    formats = FEED_FORMATS + ((CALENDAR.name,) if post.event else ())
    memo = {} if memo is None else memo
    out = []
    for key in [
        *((fmt, kind, slug, lang) for kind, slug in scopes for lang in (None, post.lang) for fmt in formats),
        *((fmt, "language", post.lang, None) for fmt in formats),  # /feeds/languages/<lang>/
    ]:
        url = memo.get(key)
        if url is None:
            fmt, kind, slug, lang = key
            url = memo[key] = urls.feed(site, fmt, kind, slug, {"lang": lang} if kind != "language" else None)
        out.append(url)
    return out


def _describe(index: Index, post: Post, memo: dict[Any, str] | None = None) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(hash of the API object, what ``known`` keeps of the post, the API object); ``memo``: see ``feed_topics``."""
    data = dump_post(index.site, post, index)
    digest = hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()
    info = {
        "id": post.id,
        "url": data["url"],
        "categories": list(post.categories),
        "lang": post.lang,
        "topics": feed_topics(index.site, post, memo),
    }
    return digest, info, data


def _known(queue: Queue, slug: str) -> tuple[str, dict[str, Any]] | None:
    """What the queue recorded when it last saw the post (its API object's hash, its ``info``), or None."""
    with queue.lock:
        row = queue.conn.execute("SELECT hash, info FROM known WHERE slug = ?", (slug,)).fetchone()
    return None if row is None else (row[0], orjson.loads(row[1]))


def _no_pause() -> None:
    pass


#: Posts described between two calls of a step's ``pause``.
PAUSE_EVERY = 50
#: Known rows a step keeps before it writes them (and their events) to the queue.
WRITE_EVERY = 2000


def step(index: Index, queue: Queue, senders: list[Sender], now: float, pause: Callable[[], None] = _no_pause) -> int:
    """Turn the changes committed since the last step into deliveries; the number of events.

    ``pause``: called between posts (every ``PAUSE_EVERY``), with no lock held: a step that looks
    at every post (the first, or after a rebuild) lets a fork of the master go first there.
    """
    epoch = queue.get_state("epoch")
    cursor = int(queue.get_state("cursor") or 0)
    new_epoch, last, slugs = index.changes(epoch or "", cursor)
    if epoch is not None and slugs == [] and last == cursor:
        return 0
    first = epoch is None
    every = slugs is None or first
    seen: set[str] = set()
    follow: deque[str] = deque(() if every else slugs or ())  # popped from the left (a list's pop(0) is quadratic)

    def compared() -> Iterator[tuple[str, Post | None]]:
        """Each post to compare, once, with its post now (None: published no more)."""
        if every:  # every published post as listed (read once), then every post known before
            posts = index.posts
            for i in range(0, len(posts), 1000):
                yield from ((p.slug, p) for p in posts[i : i + 1000])
            with queue.lock:
                follow.extend(r[0] for r in queue.conn.execute("SELECT slug FROM known"))
        while follow:
            slug = follow.popleft()
            if slug not in seen:
                yield slug, index.get(slug)

    events: list[PostEvent] = []
    rows: list[tuple[str, str, bytes]] = []
    gone: list[str] = []
    memo: dict[Any, str] = {}
    sent = 0

    def write(final: bool) -> None:
        """The known rows and the events so far in one queue transaction; the log position with the last.

        A step that stops between two writes is taken again from its start: what was written
        then compares equal, so no event is sent twice and none is lost.
        """
        nonlocal sent
        with queue.transaction() as conn:
            conn.executemany("INSERT OR REPLACE INTO known VALUES (?, ?, ?)", rows)
            conn.executemany("DELETE FROM known WHERE slug = ?", [(s,) for s in gone])
            if final:
                conn.executemany("INSERT OR REPLACE INTO state VALUES (?, ?)", [("epoch", new_epoch), ("cursor", last)])
            if events:
                for send in senders:
                    send(conn, events, index.site, now)
        sent += len(events)
        rows.clear()
        gone.clear()
        events.clear()

    for slug, post in compared():
        if slug in seen:
            continue
        seen.add(slug)
        if len(seen) % PAUSE_EVERY == 0:
            pause()
            if len(rows) + len(gone) >= WRITE_EVERY:
                write(final=False)  # a look at every post keeps a few thousand posts in memory, not all
        before = _known(queue, slug)
        if post is None:
            if before is not None:
                gone.append(slug)
                info = before[1]
                if not first:
                    events.append(
                        PostEvent(
                            DELETED,
                            slug,
                            {"id": info["id"], "slug": slug, "url": info["url"]},
                            tuple(info["categories"]),
                            info["lang"],
                            tuple(info["topics"]),
                        )
                    )
            continue
        digest, info, data = _describe(index, post, memo)
        if before is not None and before[0] == digest:
            continue
        rows.append((slug, digest, orjson.dumps(info)))
        if first:
            continue  # the first step records what is there and sends nothing
        topics = dict.fromkeys([*info["topics"], *(before[1]["topics"] if before else [])])
        events.append(PostEvent(UPDATED if before else PUBLISHED, slug, data, tuple(post.categories), post.lang, tuple(topics)))
        if not every:  # its translations show its title and URL: look at them too
            follow.extend(t["slug"] for t in data.get("translations", []) if t["slug"] not in seen)
    write(final=True)
    return sent
