"""Render cache: representations memoised under (render version, settings, content version, endpoint, query).

Holds bytes and their validators, never Response objects. An in-process LRU sits in
front of the configured flask-caching backend (SimpleCache, FileSystemCache, Redis):
keys carry the content version, so a local copy can never be stale. A failing backend
(Redis down, timeouts) is bypassed: the request is rendered, the failure is logged once
per burst, and the backend is tried again a moment later.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import Flask, current_app

from .extensions import cache, current_index

log = logging.getLogger("feedsvc.cache")
#: Bumped when renderers or the stored format change, so a shared cache never mixes code versions.
RENDER_VERSION = "2"
#: Seconds a failing backend is left alone before it is tried again.
RETRY_AFTER = 2.0
#: Redis socket and connect timeouts (seconds): a hung Redis must cost a request little.
REDIS_TIMEOUT = 0.25
#: Settings that change rendered bytes: hosts sharing a cache with other values never mix.
_OUTPUT_SETTINGS = ("BASE_URL", "FEED_SIZE", "CALENDAR_SIZE", "PER_PAGE", "MAX_PER_PAGE", "MAX_AGE",
                    "STALE_WHILE_REVALIDATE", "STALE_IF_ERROR")


@dataclass(frozen=True, slots=True)
class Representation:
    """A rendered document: body bytes, media type, validators and extra headers.

    ``encoded`` (content coding -> compressed body) and ``ready`` (http.py's prepared
    header lists) are filled once per cached object, so a cache hit re-computes nothing.
    """

    body: bytes
    mimetype: str
    last_modified: datetime
    etag: str = ""
    headers: tuple[tuple[str, str], ...] = field(default=())
    key: str = ""
    encoded: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)
    ready: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


def body_etag(body: bytes) -> str:
    """The strong entity tag of a body (RFC 9110 8.8.3): a hash, so equal bytes agree on every host."""
    return hashlib.sha256(body).hexdigest()[:32]


def _plain(value: object) -> object:
    if isinstance(value, (set, frozenset)):
        return sorted(str(v) for v in value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value if isinstance(value, (str, int, float, bool, list, tuple)) else str(value)


def _normalise(args: Mapping[str, object]) -> str:
    """The query part of a key: sorted, None dropped, unambiguous (JSON)."""
    norm = json.dumps({k: _plain(v) for k, v in args.items() if v is not None},
                      sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    if len(norm) > 200:  # long q= strings: keep keys short for Redis and file names
        norm = "#" + hashlib.sha256(norm.encode()).hexdigest()
    return norm


_norms: dict[tuple[object, ...], str] = {}


def make_key(endpoint: str, args: Mapping[str, object]) -> str:
    """Cache key: render version, settings, content version, endpoint and the normalised query."""
    ext = current_app.extensions["feedsvc"]
    rc: RenderCache = ext.extra["render_cache"]
    norm = ""
    if args:
        try:  # memoised: the same few queries come back all day; hashing is cheaper than JSON
            memo: tuple[object, ...] = (endpoint, *args.items())
            norm = _norms[memo]
        except TypeError:  # an unhashable value (a list): normalise every time
            norm = _normalise(args)
        except KeyError:
            norm = _normalise(args)
            if len(_norms) > 4096:  # hostile variety (random q=) must not grow it without bound
                _norms.clear()
            _norms[memo] = norm
    # The request's one snapshot (current_index pins it in g): a reload landing mid-request
    # must never file a document built from the older index under the newer key.
    version = current_index().version
    return f"r{RENDER_VERSION}:{rc.settings}:{version}:{endpoint}?{norm}"


class RenderCache:
    """Per-app cache: a bounded LRU of Representations in front of a guarded shared backend."""

    def __init__(self, backend: Any, local_bytes: int, settings: str, enabled: bool = True) -> None:
        self.backend = backend
        self.local_bytes = local_bytes
        self.settings = settings
        self.enabled = enabled
        self._lru: OrderedDict[str, Representation] = OrderedDict()
        self._size = 0
        self._version = ""
        self._lock = threading.Lock()
        self._failing = False
        self._retry_at = 0.0
        #: Renders done by this process (tests and /healthz-style introspection).
        self.renders = 0

    # -- the shared backend, guarded ---------------------------------------------------
    def _backend(self, op: str, *args: Any) -> Any:
        """Call the backend; on failure log once per burst, back off, and answer None."""
        if self._failing and time.monotonic() < self._retry_at:
            return None
        try:
            result = getattr(self.backend, op)(*args)
        except Exception as exc:  # Redis down, timeouts, full disks: render instead, never a 5xx
            self._retry_at = time.monotonic() + RETRY_AFTER
            if not self._failing:
                self._failing = True
                log.warning("cache backend failing (%s: %s); rendering without it until it is back",
                            type(exc).__name__, exc)
            return None
        if self._failing:
            self._failing = False
            log.warning("cache backend is back")
        return result

    # -- the local LRU -----------------------------------------------------------------
    def _local_get(self, key: str) -> Representation | None:
        lru = self._lru
        rep = lru.get(key)
        if rep is not None:
            try:
                lru.move_to_end(key)
            except KeyError:  # evicted by another thread meanwhile: still a valid object
                pass
        return rep

    def _local_put(self, key: str, rep: Representation) -> None:
        if self.local_bytes <= 0:
            return
        version = key.split(":", 3)[2]
        with self._lock:
            if version != self._version:  # content changed: every older entry is dead weight
                self._lru.clear()
                self._size = 0
                self._version = version
            old = self._lru.pop(key, None)
            if old is not None:
                self._size -= _weight(old)
            self._lru[key] = rep
            self._size += _weight(rep)
            while self._size > self.local_bytes and len(self._lru) > 1:
                _, gone = self._lru.popitem(last=False)
                self._size -= _weight(gone)

    def _grow(self, rep: Representation, nbytes: int) -> None:
        with self._lock:
            if self._lru.get(rep.key) is rep:
                self._size += nbytes

    # -- public ------------------------------------------------------------------------
    def get(self, key: str) -> Representation | None:
        """The cached representation under ``key``, from the LRU or the backend."""
        if not self.enabled:
            return None
        rep = self._local_get(key)
        if rep is not None:
            return rep
        stored = self._backend("get", key)
        if not (isinstance(stored, tuple) and len(stored) == 5):
            return None
        body, mimetype, last_modified, etag, headers = stored
        rep = Representation(body, mimetype, last_modified, etag, headers, key)
        self._local_put(key, rep)
        return rep

    def put(self, key: str, rep: Representation) -> None:
        """Store a fresh representation locally and in the backend."""
        if not self.enabled:
            return
        self._local_put(key, rep)
        self._backend("set", key, (rep.body, rep.mimetype, rep.last_modified, rep.etag, rep.headers))

    def encoded(self, rep: Representation, coding: str, compress: Callable[[bytes, str], bytes]) -> bytes:
        """``rep``'s body in ``coding``, compressed once and shared through the backend."""
        data = rep.encoded.get(coding)
        if data is not None:
            return data
        if rep.key and self.enabled:
            data = self._backend("get", f"{rep.key}|{coding}")
        if not isinstance(data, bytes):
            data = compress(rep.body, coding)
            if rep.key and self.enabled:
                self._backend("set", f"{rep.key}|{coding}", data)
        rep.encoded[coding] = data
        self._grow(rep, len(data))
        return data

    def clear_local(self) -> None:
        """Drop the in-process copies (the shared backend keeps its own)."""
        with self._lock:
            self._lru.clear()
            self._size = 0


def _weight(rep: Representation) -> int:
    return len(rep.body) + sum(len(v) for v in rep.encoded.values()) + 512


def _render_cache() -> RenderCache:
    return current_app.extensions["feedsvc"].extra["render_cache"]


def render(endpoint: str, args: Mapping[str, object], produce: Callable[[], Representation]) -> Representation:
    """The cached representation for (endpoint, args), produced on a miss."""
    rc = _render_cache()
    key = make_key(endpoint, args)
    hit = rc.get(key)
    if hit is not None:
        return hit
    rep = produce()
    rc.renders += 1
    rep = Representation(rep.body, rep.mimetype, rep.last_modified, rep.etag or body_etag(rep.body),
                         tuple(rep.headers), key)
    rc.put(key, rep)
    return rep


def _redis_backend(app: Flask) -> Any:
    """A RedisCache whose client gives up fast: short timeouts, no retries (we back off ourselves)."""
    import redis
    from flask_caching.backends.rediscache import RedisCache
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis.from_url(
        app.config["CACHE_REDIS_URL"], socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT,
        retry=Retry(NoBackoff(), 0), health_check_interval=30)
    return RedisCache(host=client, default_timeout=app.config["CACHE_DEFAULT_TIMEOUT"],
                      key_prefix=app.config["CACHE_KEY_PREFIX"])


def init_app(app: Flask) -> None:
    """Attach this app's RenderCache (replacing flask-caching's Redis client by a fast-failing one)."""
    cfg = app.config
    backends = app.extensions.get("cache", {})
    backend = backends.get(cache)
    if cfg["CACHE_TYPE"] == "RedisCache":
        backend = _redis_backend(app)
        backends[cache] = backend  # `cache.get` and ours use the same client
    settings = hashlib.sha256(repr([cfg.get(k) for k in _OUTPUT_SETTINGS]).encode()).hexdigest()[:8]
    app.extensions["feedsvc"].extra["render_cache"] = RenderCache(
        backend, cfg.get("CACHE_LOCAL_BYTES", 32 * 1024 * 1024), settings,
        enabled=cfg["CACHE_TYPE"] != "NullCache" and backend is not None)
