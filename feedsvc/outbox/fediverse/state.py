"""One app's fediverse state (``app.extensions["fediverse"]``): its key pair, queue connection and key cache."""

from __future__ import annotations

import logging
import os
import threading
import weakref

from flask import Flask, Response, current_app
from werkzeug.exceptions import ServiceUnavailable

from ...content import Index
from ..queue import Queue
from ..transport import Client
from . import actor, followers, objects, signatures
from .answers import json_response, send_json
from .remote import KeyCache

log = logging.getLogger("feedsvc.outbox")


class KeyUnavailable(ServiceUnavailable):
    """The actor's key file cannot be loaded: what needs the key answers 503 with the reason."""


class Fediverse:
    """One app's fediverse state: the key pair (loaded on first use) and this process's queue connection."""

    def __init__(self, app: Flask) -> None:
        cfg = app.config
        self.key_path: str = cfg["ACTIVITYPUB_KEY"]
        self.queue_path: str = cfg["OUTBOX_PATH"]
        self.allow_private: bool = cfg["FEDIVERSE_ALLOW_PRIVATE"]
        self.max_body: int = cfg["FEDIVERSE_MAX_BODY"]
        self.inbox_limit: int = cfg["FEDIVERSE_INBOX_LIMIT"]
        self.timeout: float = cfg["OUTBOX_TIMEOUT"]
        self.backoff: float = cfg["FEDIVERSE_BACKOFF"]
        self.max_age: float = cfg["FEDIVERSE_MAX_AGE"]
        self._key_cache: KeyCache | None = None
        self._keys: signatures.KeyPair | None = None
        self._key_problem: str | None = None
        self._queue: Queue | None = None
        self._pid = 0
        self._lock = threading.Lock()
        # A fork (gunicorn forking workers while the writer's sender signs with the key) copies this
        # lock as it is: a child given a held copy would wait on it for ever. Each child gets a new one.
        me = weakref.ref(self)

        def new_lock() -> None:
            if (fedi := me()) is not None:
                fedi._lock = threading.Lock()

        os.register_at_fork(after_in_child=new_lock)

    @property
    def keys(self) -> signatures.KeyPair:
        """The actor's key pair, made at FEEDSVC_ACTIVITYPUB_KEY on first use.

        A file that cannot be loaded (unreadable, not a key) is never replaced: it is the
        actor's identity. Until it is fixed this raises KeyUnavailable (a 503 naming it), and
        each use tries the file again.
        """
        with self._lock:
            if self._keys is None:
                try:
                    self._keys = signatures.load_or_create(self.key_path)
                except (OSError, ValueError) as exc:
                    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not an RSA private key in PEM"
                    problem = (
                        f"the fediverse actor's key {self.key_path} cannot be loaded ({why}): "
                        "actor documents answer 503 and activities wait until it is fixed"
                    )
                    if problem != self._key_problem:
                        log.error("%s", problem)
                    self._key_problem = problem
                    raise KeyUnavailable(problem) from exc
                self._key_problem = None
            return self._keys

    def key_problem(self) -> str | None:
        """Why the actor's key cannot be loaded now (for /healthz), or None."""
        try:
            _ = self.keys
        except KeyUnavailable as exc:
            return str(exc.description)
        return None

    @property
    def queue(self) -> Queue:
        """This process's connection to the outbox queue database (followers included)."""
        with self._lock:
            if self._queue is None or self._pid != os.getpid() or self._queue.moved():
                # (a file the sender put back or set aside: the old connection stays open, see Queue.reconnect)
                self._queue = Queue(self.queue_path)
                followers.setup(self._queue.conn)
                self._pid = os.getpid()
            return self._queue

    @property
    def key_cache(self) -> KeyCache:
        """This process's cache of remote actors' keys."""
        with self._lock:
            if self._key_cache is None:
                self._key_cache = KeyCache(Client(self.timeout, self.max_body), self.allow_private)
            return self._key_cache

    def follower_count(self, username: str) -> int:
        """How many follow one actor."""
        q = self.queue
        with q.lock:
            return followers.count(q.conn, username)

    def tombstone(self, slug: str) -> str | None:
        """The object URL of an unpublished post that was delivered, or None."""
        q = self.queue
        with q.lock:
            row = q.conn.execute("SELECT url FROM ap_tombstones WHERE slug = ?", (slug,)).fetchone()
        return None if row is None else str(row[0])

    def object_response(self, index: Index, slug: str) -> Response | None:
        """The post's object (200), its Tombstone (410), or None (not a post: the HTML view answers)."""
        post = index.get(slug)
        if post is not None:
            who = actor.of_post(index, post)
            if who is None:
                return None
            return send_json(
                "fediverse.object",
                {"slug": post.slug},
                lambda: objects.with_context(objects.article(index, post, who)),
                vary=True,
            )
        url = self.tombstone(slug)
        if url is None:
            return None
        return json_response(objects.with_context(objects.tombstone(url)), 410)


def fediverse(app: Flask | None = None) -> Fediverse:
    """The app's Fediverse (default: the current app)."""
    fedi: Fediverse = (app or current_app).extensions["fediverse"]
    return fedi
