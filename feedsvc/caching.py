"""Render cache: representations memoised under (render version, settings, content version, endpoint, query).

Holds bytes and their validators, never Response objects. Two byte-bounded in-process
LRUs sit in front of the configured shared backend (FileSystemCache, Redis; with the
default SimpleCache the LRUs are the in-process cache and there is no second copy):

- the main space (``FEEDSVC_CACHE_LOCAL_BYTES``) holds the documents links produce,
  the ones readers poll all day;
- the odd space (``FEEDSVC_CACHE_ODD_BYTES``, small) holds the long tail readers do not
  poll: documents for queries no link produces (a search ``q``, date bounds) and pages
  past ``TAIL_PAGE`` of any feed or listing. A crawler or an attacker walking them can
  only evict them from each other, never a polled feed or first page, and they are never
  written to the shared backend (where they could evict those too).

Keys carry the content version, so a local copy can never be stale. A failing backend
(Redis down, timeouts, a full Redis refusing writes) is bypassed: the request is
rendered, each change of the backend's state is logged once, and the backend is tried
again a moment later.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from flask import Flask, current_app
from redis.exceptions import ResponseError

from . import i18n, metrics
from .extensions import current_index
from .representation import Representation as Representation  # re-exported: views build theirs here
from .representation import body_etag

log = logging.getLogger("feedsvc.cache")
#: This feature's key in ``app.extensions``.
EXTENSION = "feedsvc.render_cache"
#: Bumped when renderers or the stored format change, so a shared cache never mixes code versions.
RENDER_VERSION = "4"
#: Seconds a failing backend is left alone before it is tried again.
RETRY_AFTER = 2.0
#: Redis socket and connect timeouts (seconds): a hung Redis must cost a request little.
REDIS_TIMEOUT = 0.25
#: Settings that change rendered bytes: hosts sharing a cache with other values never mix.
_OUTPUT_SETTINGS = (
    "BASE_URL",
    "FEED_SIZE",
    "CALENDAR_SIZE",
    "SEARCH_CALENDAR_SIZE",
    "PER_PAGE",
    "MAX_PER_PAGE",
    "MAX_AGE",
    "STALE_WHILE_REVALIDATE",
    "STALE_IF_ERROR",
)
#: Render arguments that links (feeds, API ``links``, OPML, pages, the embed widget) produce.
#: A document whose arguments include any other (``q``, ``since``, ``until``, ...) is odd.
LINKED_ARGS = frozenset({"slug", "name", "immutable", "browser", "year", "page", "per_page", "lang", "category", "tag", "format"})
#: Pages past this one (``?page=N`` of a feed or an API listing) are long tail: filed in the odd space.
TAIL_PAGE = 5
#: Bytes each cached object costs beyond its bodies (objects, key, header tuples).
OVERHEAD = 1024


def _plain(value: object) -> object:
    if isinstance(value, (set, frozenset)):
        return sorted(str(v) for v in value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value if isinstance(value, (str, int, float, bool, list, tuple)) else str(value)


def _normalise(args: Mapping[str, object]) -> str:
    """The query part of a key: sorted, None dropped, unambiguous (JSON)."""
    norm = json.dumps(
        {k: _plain(v) for k, v in args.items() if v is not None},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
        ensure_ascii=False,
    )
    if len(norm) > 200:  # long q= strings: keep keys short for Redis and file names
        norm = "#" + hashlib.sha256(norm.encode()).hexdigest()
    return norm


_norms: dict[tuple[object, ...], str] = {}


def is_odd(args: Mapping[str, object]) -> bool:
    """Whether these render arguments are long tail: ones no link produces (see LINKED_ARGS), or a deep page."""
    page = args.get("page")
    if isinstance(page, int) and page > TAIL_PAGE:
        return True
    return any(v is not None and k not in LINKED_ARGS for k, v in args.items())


def make_key(endpoint: str, args: Mapping[str, object]) -> str:
    """Cache key: render version, settings, content version, endpoint and the normalised query."""
    rc = render_cache()
    norm = ""
    if args:
        try:  # memoised: the same few queries come back all day; hashing is cheaper than JSON
            memo: tuple[object, ...] = (endpoint, *args.items())
            norm = _norms[memo]
        except TypeError:  # an unhashable value (a list): normalise every time
            norm = _normalise(args)
        except KeyError:
            norm = _normalise(args)
            if not is_odd(args):  # odd queries are one-offs: memoising them would only churn
                if len(_norms) > 4096:  # hostile variety must not grow it without bound
                    _norms.clear()
                _norms[memo] = norm
    # The request's one snapshot (current_index pins it in g): a reload landing mid-request
    # must never file a document built from the older index under the newer key.
    version = current_index().version
    return f"r{RENDER_VERSION}:{rc.settings}:{version}:{endpoint}?{norm}"


class _Space:
    """An LRU of representations bounded in bytes (bodies, compressed bodies and OVERHEAD each)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lru: OrderedDict[str, Representation] = OrderedDict()
        self.size = 0

    def get(self, key: str) -> Representation | None:
        rep = self.lru.get(key)
        if rep is not None:
            try:
                self.lru.move_to_end(key)
            except KeyError:  # evicted by another thread meanwhile: still a valid object
                pass
        return rep

    def put(self, key: str, rep: Representation) -> None:  # caller holds the lock
        if weight(rep) > self.limit:
            return  # bigger than the whole space: served, not kept
        old = self.lru.pop(key, None)
        if old is not None:
            self.size -= weight(old)
        self.lru[key] = rep
        self.size += weight(rep)
        self.trim()

    def trim(self) -> None:
        while self.size > self.limit and self.lru:
            _, gone = self.lru.popitem(last=False)
            self.size -= weight(gone)

    def clear(self) -> None:
        self.lru.clear()
        self.size = 0


class RenderCache:
    """Per-app cache: byte-bounded main and odd LRUs in front of a guarded shared backend (or none)."""

    def __init__(
        self, backend: Any, local_bytes: int, settings: str, enabled: bool = True, odd_bytes: int = 4 * 1024 * 1024
    ) -> None:
        self.backend = backend
        self.local_bytes = local_bytes
        self.settings = settings
        self.enabled = enabled
        self.main = _Space(local_bytes)
        self.odd = _Space(min(odd_bytes, local_bytes))
        self._version = ""
        self._lock = threading.Lock()
        #: The shared backend's state: "ok", "down" (no answer) or "refusing writes" (e.g. a full Redis).
        self.backend_state = "ok"
        self._retry_at = 0.0
        #: Renders done by this process (tests and introspection).
        self.renders = 0
        #: What an uncached long-tail render goes through (ratelimit's per-client render budget), if set.
        self.spend: Callable[[Callable[[], Representation]], Representation] | None = None

    # -- the shared backend, guarded ---------------------------------------------------
    def _backend(self, op: str, *args: Any) -> Any:
        """Call the backend; on failure back off and answer None. Each change of state is logged once."""
        if self.backend is None:
            return None
        write = op == "set"
        blocked = self.backend_state == "down" or (write and self.backend_state == "refusing writes")
        if blocked and time.monotonic() < self._retry_at:
            return None
        try:
            result = getattr(self.backend, op)(*args)
        except Exception as exc:  # Redis down, timeouts, full disks: render instead, never a 5xx
            self._retry_at = time.monotonic() + RETRY_AFTER
            refused = write and isinstance(exc, ResponseError) and self.backend_state != "down"
            self._set_state("refusing writes" if refused else "down", exc)
            return None
        if blocked:
            self._set_state("ok")
        return result

    def _set_state(self, new: str, exc: BaseException | None = None) -> None:
        old, self.backend_state = self.backend_state, new
        if new == old:
            return
        why = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
        if new == "down":
            log.warning("cache backend failing%s; rendering without it until it answers", why)
        elif new == "refusing writes":
            log.warning(
                "cache backend refusing writes%s; serving what it holds, rendering the rest "
                "(a full Redis: set maxmemory-policy allkeys-lru)",
                why,
            )
        else:
            log.warning("cache backend is back")

    # -- the local spaces --------------------------------------------------------------
    def _local_put(self, key: str, rep: Representation) -> None:
        if self.local_bytes <= 0:
            return
        version = key.split(":", 3)[2]
        with self._lock:
            if version != self._version:  # content changed: every older entry is dead weight
                self.main.clear()
                self.odd.clear()
                self._version = version
            (self.odd if rep.odd else self.main).put(key, rep)

    def holds(self, rep: Representation) -> bool:
        """Whether ``rep`` is still in the main space (the fast path replays only those)."""
        return self.main.lru.get(rep.key) is rep

    # -- public ------------------------------------------------------------------------
    def get(self, key: str, odd: bool = False) -> Representation | None:
        """The cached representation under ``key``, from a local space or the backend."""
        if not self.enabled:
            return None
        rep = (self.odd if odd else self.main).get(key)
        if rep is not None:
            metrics.CACHE_HIT_LOCAL.inc()
            return rep
        metrics.CACHE_MISS_LOCAL.inc()
        if odd or self.backend is None:
            return None
        stored = self._backend("get", key)
        if not (isinstance(stored, tuple) and len(stored) == 5):
            metrics.CACHE_MISS_BACKEND.inc()
            return None
        metrics.CACHE_HIT_BACKEND.inc()
        body, mimetype, last_modified, etag, headers = stored
        rep = Representation(body, mimetype, last_modified, etag, headers, key)
        self._local_put(key, rep)
        return rep

    def put(self, key: str, rep: Representation) -> None:
        """Store a fresh representation locally, and in the backend unless it is odd."""
        if not self.enabled:
            return
        self._local_put(key, rep)
        if not rep.odd:
            self._backend("set", key, (rep.body, rep.mimetype, rep.last_modified, rep.etag, rep.headers))

    def encoded(self, rep: Representation, coding: str, compress: Callable[[bytes, str], bytes]) -> bytes:
        """``rep``'s body in ``coding``, compressed once and shared through the backend."""
        data = rep.encoded.get(coding)
        if data is not None:
            return data
        shared = bool(rep.key) and self.enabled and not rep.odd
        if shared:
            data = self._backend("get", f"{rep.key}|{coding}")
        if not isinstance(data, bytes):
            data = compress(rep.body, coding)
            if shared:
                self._backend("set", f"{rep.key}|{coding}", data)
        with self._lock:
            rep.encoded[coding] = data
            space = self.odd if rep.odd else self.main
            if space.lru.get(rep.key) is rep:
                space.size += len(data)
                space.trim()
        return data


def weight(rep: Representation) -> int:
    """Bytes ``rep`` holds: its bodies and OVERHEAD."""
    return len(rep.body) + sum(len(v) for v in rep.encoded.values()) + OVERHEAD


def render_cache(app: Flask | None = None) -> RenderCache:
    """The render cache of ``app`` (default: the current app)."""
    cache: RenderCache = (app or current_app).extensions[EXTENSION]
    return cache


def render(
    endpoint: str, args: Mapping[str, object], produce: Callable[[], Representation], long_tail: bool = False
) -> Representation:
    """The cached representation for (endpoint, args), produced on a miss.

    ``long_tail``: the caller knows no link produces this document although its arguments are
    all ones links use (a filter naming nothing the content has: ``args.names_nothing``).
    """
    rc = render_cache()
    key = make_key(endpoint, args)
    odd = long_tail or is_odd(args)
    hit = rc.get(key, odd)
    if hit is not None:
        return hit
    t0 = time.perf_counter()
    rep = rc.spend(produce) if odd and rc.spend is not None else produce()
    metrics.observe_render(rep.mimetype, time.perf_counter() - t0)
    rc.renders += 1
    rep = Representation(
        rep.body, rep.mimetype, rep.last_modified, rep.etag or body_etag(rep.body), tuple(rep.headers), key, odd=odd
    )
    rc.put(key, rep)
    return rep


def fast_redis_options(timeout: float) -> dict[str, Any]:
    """redis-py client options that give up fast: ``timeout`` to connect and per reply, and no retries.

    redis-py's default retries a failed command three times with a backoff of up to a second
    or more: a dead Redis would hold each request that long. Callers back off themselves.
    """
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 30,
    }


def _redis_backend(app: Flask) -> Any:
    """A RedisCache whose client gives up fast: short timeouts, no retries (we back off ourselves)."""
    import redis
    from flask_caching.backends.rediscache import RedisCache

    client = redis.Redis.from_url(app.config["CACHE_REDIS_URL"], **fast_redis_options(REDIS_TIMEOUT))
    return RedisCache(host=client, default_timeout=app.config["CACHE_DEFAULT_TIMEOUT"], key_prefix=app.config["CACHE_KEY_PREFIX"])


def _backend(app: Flask) -> Any:
    """The shared backend of FEEDSVC_CACHE_TYPE (None for the in-process SimpleCache and for NullCache)."""
    cfg = app.config
    if cfg["CACHE_TYPE"] == "RedisCache":
        return _redis_backend(app)
    if cfg["CACHE_TYPE"] == "FileSystemCache":
        from flask_caching.backends.filesystemcache import FileSystemCache

        return FileSystemCache(cfg["CACHE_DIR"], threshold=2000, default_timeout=cfg["CACHE_DEFAULT_TIMEOUT"])
    return None


def init_app(app: Flask) -> None:
    """Attach this app's RenderCache in front of the configured shared backend.

    With SimpleCache the byte-bounded local spaces are the in-process cache: there is no
    second, entry-bounded copy behind them.
    """
    cfg = app.config
    # Output settings and the shipped message catalogs: a shared cache never serves old words.
    settings = hashlib.sha256(repr([*(cfg.get(k) for k in _OUTPUT_SETTINGS), i18n.catalogs_digest()]).encode()).hexdigest()[:8]
    app.extensions[EXTENSION] = RenderCache(
        _backend(app),
        cfg["CACHE_LOCAL_BYTES"],
        settings,
        enabled=cfg["CACHE_TYPE"] != "NullCache",
        odd_bytes=cfg["CACHE_ODD_BYTES"],
    )
