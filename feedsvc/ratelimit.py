"""Per-client limits: the render budget (budget.py, on by default) and a request rate limit (off unless set).

- The render budget: see ``feedsvc/budget.py``; its 429 is the one answer written here.
- The rate limit (``FEEDSVC_RATELIMIT``, flask-limiter) is one shared budget of requests
  per client across every route, so a bot cannot multiply its allowance by spreading
  over feeds, API pages and tags. Counters live in the same Redis as the render cache
  when there is one (so every worker and host shares them), else in process memory.

A failing limiter storage never holds a reader: the Redis client gives up after
``STORAGE_TIMEOUT`` and never retries, flask-limiter's in-memory fallback then counts
in each worker until a probe finds the storage back, and the outage is logged once when
it starts and once when it ends.
"""

from __future__ import annotations

import logging
import math
import time
import weakref
from typing import Any

from flask import Flask, Response, current_app, has_app_context, request
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from .caching import REDIS_TIMEOUT, fast_redis_options
from .errors import error_body, wants_json

log = logging.getLogger("feedsvc.ratelimit")

#: This feature's key in ``app.extensions`` (absent when rate limiting is off).
EXTENSION = "feedsvc.limiter"
#: Paths never limited: load balancers and monitors poll them.
EXEMPT_PATHS = frozenset({"/healthz", "/metrics"})
#: Seconds the limiter's Redis may take to connect or answer before the request goes on without it
#: (the render cache's: shorter ones declared a busy but healthy Redis dead on a loaded machine).
STORAGE_TIMEOUT = REDIS_TIMEOUT


def limiter(app: Flask) -> Limiter | None:
    """The rate limiter of ``app`` (None when FEEDSVC_RATELIMIT is unset)."""
    found: Limiter | None = app.extensions.get(EXTENSION)
    return found


def storage_uri(cfg: Any) -> str:
    """Where counters live: FEEDSVC_RATELIMIT_STORAGE_URI, else the cache's Redis, else memory."""
    uri: str | None = cfg.get("RATELIMIT_STORAGE_URI")
    if not uri and cfg.get("CACHE_TYPE") == "RedisCache" and cfg.get("CACHE_REDIS_URL"):
        uri = cfg["CACHE_REDIS_URL"]
    uri = uri or "memory://"
    if uri.startswith("unix://"):  # redis-py spelling -> the limits library's spelling
        uri = "redis+" + uri
    return uri


def storage_options(uri: str) -> dict[str, Any]:
    """Options for the limiter's storage: a Redis client that gives up within STORAGE_TIMEOUT, never retrying."""
    return {} if uri.startswith("memory://") else fast_redis_options(STORAGE_TIMEOUT)


def retry_after(reset_at: float, now: float | None = None, window: int | None = None) -> int:
    """Whole seconds until the window resets, at least 1 (RFC 9110 §10.2.3 delay-seconds).

    Never more than the window itself: the storages report the reset rounded up to a whole
    second (a 1-hour window said 3601).
    """
    seconds = max(1, math.ceil(reset_at - (time.time() if now is None else now)))
    return min(seconds, window) if window else seconds


def too_many_body(seconds: int, limit: str, what: str, json: bool) -> bytes:
    """The body of a 429: the JSON error (code ``rate_limited``) or one line of text."""
    message = f"too many {what} from this client ({limit}); retry after {seconds} seconds"
    if json:
        return error_body(429, "rate_limited", message, {"limit": limit, "retry_after": seconds})
    return (message + "\n").encode()


def too_many(seconds: int, limit: str, what: str = "requests") -> Response:
    """The 429 answer: JSON under /api and /feeds, plain text elsewhere; always Retry-After."""
    json = wants_json()
    resp = Response(too_many_body(seconds, limit, what, json), status=429, mimetype="application/json" if json else "text/plain")
    # Miniflux, NetNewsWire, FreshRSS and CommaFeed back off by this header.
    resp.headers["Retry-After"] = str(seconds)
    return resp


# -- the request rate limit ------------------------------------------------------------------
def _on_breach(limit: RequestLimit) -> Response:
    window = int(limit.limit.get_expiry())
    try:
        seconds = retry_after(limit.reset_at, window=window)
    except Exception:  # storage died between the hit and this read: the whole window is a safe answer
        seconds = window
    return too_many(seconds, str(limit.limit))


class StorageLog(logging.Handler):
    """flask-limiter's log, re-told on ``feedsvc.ratelimit``: an outage once when it starts, once when it ends.

    flask-limiter logs to its own logger (which reaches no output by default) and may report
    one outage from several concurrent requests; other errors pass once per ``interval``.
    The state is kept per app (its limiter), for the app whose request logged.
    """

    def __init__(self, interval: float = 30.0) -> None:
        super().__init__(logging.INFO)
        self.interval, self._last, self._dropped = interval, 0.0, 0
        self._down: weakref.WeakSet[Flask] = weakref.WeakSet()
        self._outside = False  # the state of records logged outside any app

    def _was_down(self, down: bool) -> bool:
        """Set whether the current app's storage is down; answer whether it was."""
        if not has_app_context():
            was, self._outside = self._outside, down
            return was
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        was = app in self._down
        (self._down.add if down else self._down.discard)(app)
        return was

    def emit(self, record: logging.LogRecord) -> None:
        """Translate one flask-limiter record (or drop it: a repeat within an outage or a burst)."""
        text = record.getMessage()
        if "storage unreachable" in text:
            if not self._was_down(True):
                log.warning("rate limit storage unreachable; each worker counts in memory until it answers")
        elif "storage recovered" in text:
            if self._was_down(False):
                log.warning("rate limit storage is back; limits are shared again")
        elif record.levelno >= logging.ERROR:
            now = time.monotonic()
            if now - self._last < self.interval:
                self._dropped += 1
                return
            suppressed = f" ({self._dropped} similar messages suppressed)" if self._dropped else ""
            self._last, self._dropped = now, 0
            log.error("rate limiter: %s%s", text, suppressed)


def _storage_log() -> StorageLog:
    """The one StorageLog of this process, attached to flask-limiter's logger."""
    flask_limiter_log = logging.getLogger("flask-limiter")
    found = next((h for h in flask_limiter_log.handlers if isinstance(h, StorageLog)), None)
    if found is None:
        found = StorageLog()
        flask_limiter_log.addHandler(found)
        flask_limiter_log.propagate = False  # told again on feedsvc.ratelimit
        if flask_limiter_log.level in (logging.NOTSET, logging.WARNING):
            flask_limiter_log.setLevel(logging.INFO)  # "storage recovered" is an info record
    return found


def _install_limiter(app: Flask, limits: str) -> None:
    cfg = app.config
    uri = storage_uri(cfg)
    limiter = Limiter(
        get_remote_address,
        application_limits=[limits],
        storage_uri=uri,
        storage_options=storage_options(uri),
        strategy="fixed-window",  # one counter per window: one storage round trip per request
        key_prefix=f"{cfg['CACHE_KEY_PREFIX']}ratelimit",
        headers_enabled=False,  # per-client headers on publicly cacheable bodies would mislead caches
        in_memory_fallback_enabled=True,  # storage down: count in memory, probe the storage with backoff
        swallow_errors=True,  # any other limiter failure: serve the request and log
        on_breach=_on_breach,
        # Unrouted requests (404s, 405s) count too, or a scanner would never be limited.
        request_identifier=lambda: request.endpoint or "unrouted",
    )
    limiter.request_filter(lambda: request.path in EXEMPT_PATHS)
    limiter.init_app(app)
    _storage_log()
    app.extensions[EXTENSION] = limiter
    log.info("rate limiting on: %s per client, storage %s", limits, uri.split("@")[-1])

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc: RateLimitExceeded) -> Response:
        if isinstance(exc.response, Response):
            return exc.response
        return too_many(60, exc.description or "rate limit")


def init_app(app: Flask) -> None:
    """Install the rate limit; trust FEEDSVC_TRUSTED_PROXIES hops of X-Forwarded-For (outside the render budget)."""
    cfg = app.config
    hops = int(cfg.get("TRUSTED_PROXIES") or 0)
    if hops:
        # Werkzeug's ProxyFix (outside the budget's middleware): take the client address `hops`
        # entries from the right of X-Forwarded-For, so a client cannot pick its own bucket.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops)  # type: ignore[method-assign]
    limits = cfg.get("RATELIMIT")
    if limits:
        _install_limiter(app, limits)
