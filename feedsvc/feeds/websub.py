"""WebSub publisher: after a reload, ping the hub for every feed URL whose document changed.

Spec: https://www.w3.org/TR/websub/ (§4 discovery; publishing is ``hub.mode=publish``
with ``hub.url``, as hubs implement it). Change detection compares each feed variant's
``FeedDoc.fingerprint()`` (all its entries, links and feed-level fields) in the old and
new index, so only feeds whose bytes change are pinged. Pings run in one background
thread per process, retried with exponential backoff, and never block a request.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from .. import urls
from ..content import Index
from ..extensions import state
from .document import FeedNotFound, build_feed, resolve_scope

log = logging.getLogger("feedsvc.websub")
#: Formats that share a FeedDoc (same entries and links): they change together.
FEED_FORMATS = ("atom", "rss", "json")


def _variants(old: Index, new: Index) -> Iterator[tuple[str, str | None, str | None]]:
    """Every subscribable (kind, slug, lang) in either index; search and paged URLs are not."""
    scopes: list[tuple[str, str | None]] = [("all", None)]
    cats = dict.fromkeys(c.slug for idx in (old, new) for c in idx.site.categories)
    scopes += [("category", c) for c in cats]
    scopes += [("tag", t) for t in sorted(set(old.tags) | set(new.tags))]
    langs = [None, *sorted(set(old.languages) | set(new.languages))]
    for kind, slug in scopes:
        for lang in langs:
            yield kind, slug, lang
    for lang in langs[1:]:  # each language's path-style feed (/feeds/languages/<lang>/)
        yield "language", lang, None


def _fingerprint(index: Index, fmt: str, kind: str, slug: str | None, lang: str | None,
                 feed_size: int, ttl: int, max_bytes: int = 0, calendar_size: int = 500) -> tuple | None:
    """The document's fingerprint; None when it is missing (404) or has no entries.

    A feed that goes from missing to empty (a new tag's other-language variant) has
    nothing to announce, so both count as "nothing".
    """
    try:
        doc = build_feed(index, fmt, resolve_scope(index, kind, slug), lang=lang, feed_size=feed_size, ttl=ttl,
                         max_bytes=max_bytes, calendar_size=calendar_size)
    except FeedNotFound:
        return None
    return doc.fingerprint() if doc.items else None


def changed_urls(old: Index, new: Index, feed_size: int, ttl: int = 0, max_bytes: int = 0,
                 calendar_size: int = 500) -> list[str]:
    """Self URLs of every feed (format, scope, language) whose document differs between indexes."""
    site = new.site
    out: list[str] = []
    for kind, slug, lang in _variants(old, new):
        for probe, formats in (("atom", FEED_FORMATS), ("ics", ("ics",))):
            if _fingerprint(old, probe, kind, slug, lang, feed_size, ttl, max_bytes, calendar_size) != \
                    _fingerprint(new, probe, kind, slug, lang, feed_size, ttl, max_bytes, calendar_size):
                out += [urls.feed(site, fmt, kind, slug, {"lang": lang}) for fmt in formats]
    return out


class Publisher:
    """Queues content changes and pings the hub from a background thread."""

    def __init__(self, feed_size: int, ttl: int, retries: int, timeout: float, backoff: float,
                 max_bytes: int = 0, calendar_size: int = 500) -> None:
        self.feed_size, self.ttl, self.max_bytes, self.calendar_size = feed_size, ttl, max_bytes, calendar_size
        self.retries, self.timeout, self.backoff = retries, timeout, backoff
        self._jobs: queue.Queue[tuple[Index, Index]] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._busy = 0
        self._idle = threading.Condition(self._lock)
        #: (hub, url, ok) of every finished ping, most recent last (kept short; for logs and tests).
        self.sent: list[tuple[str, str, bool]] = []

    @classmethod
    def for_app(cls, app: Any) -> Publisher:
        """The app's publisher (one per app, kept in its feedsvc state)."""
        st = state(app)
        if st.websub is None:
            cfg = app.config
            st.websub = cls(cfg["FEED_SIZE"], cfg["MAX_AGE"], cfg["WEBSUB_RETRIES"], cfg["WEBSUB_TIMEOUT"],
                            cfg["WEBSUB_BACKOFF"], cfg["FEED_MAX_BYTES"], cfg["CALENDAR_SIZE"])
        return st.websub

    def on_change(self, old: Index, new: Index) -> None:
        """Index listener: queue the change (returns at once; work happens in the thread)."""
        if not new.site.websub_hub:
            return
        with self._lock:
            self._busy += 1
            if self._thread is None or not self._thread.is_alive():  # also after a fork
                self._thread = threading.Thread(target=self._run, name="feedsvc-websub", daemon=True)
                self._thread.start()
        self._jobs.put((old, new))

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued change has been pinged (tests, shutdown); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def _run(self) -> None:
        while True:
            old, new = self._jobs.get()
            try:
                hub = new.site.websub_hub or ""
                targets = changed_urls(old, new, self.feed_size, self.ttl, self.max_bytes, self.calendar_size)
                log.info("websub: %d changed feed(s) to announce to %s", len(targets), hub)
                for url in targets:
                    self._ping(hub, url)
            except Exception:  # a failed announcement must never stop later ones
                log.exception("websub: change detection failed")
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

    def _ping(self, hub: str, url: str) -> None:
        data = urlencode({"hub.mode": "publish", "hub.url": url}).encode("ascii")
        for attempt in range(1, self.retries + 1):
            req = urllib.request.Request(hub, data=data, method="POST", headers={
                "Content-Type": "application/x-www-form-urlencoded", "User-Agent": "feedsvc-websub"})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 (hub from site.yaml)
                    status = resp.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except (OSError, ValueError) as exc:
                status = 0
                log.warning("websub: ping %s for %s failed (attempt %d/%d): %s", hub, url, attempt,
                            self.retries, exc)
            if 200 <= status < 300:
                log.info("websub: pinged %s for %s", hub, url)
                self._record(hub, url, True)
                return
            if status:
                log.warning("websub: hub %s answered %d for %s (attempt %d/%d)", hub, status, url, attempt,
                            self.retries)
                if 400 <= status < 500 and status not in (408, 429):
                    break  # the hub refuses this request: repeating it cannot help
            if attempt < self.retries:
                time.sleep(self.backoff * 2 ** (attempt - 1))
        log.error("websub: giving up on %s for %s after %d attempts", hub, url, self.retries)
        self._record(hub, url, False)

    def _record(self, hub: str, url: str, ok: bool) -> None:
        self.sent.append((hub, url, ok))
        del self.sent[:-1000]
