"""Per-client rate limiting (flask-limiter), off unless FEEDSVC_RATELIMIT is set.

One shared budget per client across every route (an application limit), so a bot
cannot multiply its allowance by spreading over feeds, API pages and tags. Counters
live in the same Redis as the render cache when there is one (so every worker and
host shares them), else in process memory. A failing limiter storage never blocks a
reader: the request is served (fail open, without waiting on the storage again until it
answers a probe) and the failure is logged once per outage.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from flask import Flask, Response, request
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from .errors import error_response, wants_json
from .extensions import state

log = logging.getLogger("feedsvc.ratelimit")

#: Paths never limited: load balancers and monitors poll them.
EXEMPT_PATHS = frozenset({"/healthz", "/metrics"})
#: Seconds a storage that does not answer may hold a request before we fail open.
STORAGE_TIMEOUT = 0.5


def storage_uri(cfg: Any) -> str:
    """Where counters live: FEEDSVC_RATELIMIT_STORAGE_URI, else the cache's Redis, else memory."""
    uri = cfg.get("RATELIMIT_STORAGE_URI")
    if not uri and cfg.get("CACHE_TYPE") == "RedisCache" and cfg.get("CACHE_REDIS_URL"):
        uri = cfg["CACHE_REDIS_URL"]
    uri = uri or "memory://"
    if uri.startswith("unix://"):  # redis-py spelling -> the limits library's spelling
        uri = "redis+" + uri
    return uri


def retry_after(reset_at: float, now: float | None = None, window: int | None = None) -> int:
    """Whole seconds until the window resets, at least 1 (RFC 9110 §10.2.3 delay-seconds).

    Never more than the window itself: the storages report the reset rounded up to a whole
    second (a 1-hour window said 3601).
    """
    seconds = max(1, math.ceil(reset_at - (time.time() if now is None else now)))
    return min(seconds, window) if window else seconds


def _too_many(seconds: int, limit: str) -> Response:
    """The 429 answer: JSON under /api and /feeds, plain text elsewhere; always Retry-After."""
    message = f"too many requests from this client ({limit}); retry after {seconds} seconds"
    if wants_json():
        resp = error_response(429, "rate_limited", message, {"limit": limit, "retry_after": seconds})
    else:
        resp = Response(message + "\n", status=429, mimetype="text/plain")
    # Miniflux, NetNewsWire, FreshRSS and CommaFeed back off by this header.
    resp.headers["Retry-After"] = str(seconds)
    return resp


def _on_breach(limit: RequestLimit) -> Response:
    window = int(limit.limit.get_expiry())
    try:
        seconds = retry_after(limit.reset_at, window=window)
    except Exception:  # storage died between the hit and this read: the whole window is a safe answer
        seconds = window
    return _too_many(seconds, str(limit.limit))


class _OncePerBurst(logging.Filter):
    """Let one record through per ``interval`` seconds, so a storage outage logs once, not per request."""

    def __init__(self, interval: float = 30.0) -> None:
        super().__init__()
        self.interval, self._last, self._dropped = interval, 0.0, 0

    def filter(self, record: logging.LogRecord) -> bool:
        """True for the first error of a burst (annotated with how many were dropped); warnings pass."""
        if record.levelno < logging.ERROR:
            return True
        now = time.monotonic()
        if now - self._last < self.interval:
            self._dropped += 1
            return False
        if self._dropped:
            record.msg = f"{record.msg} ({self._dropped} similar messages suppressed)"
        self._last, self._dropped = now, 0
        return True


def init_app(app: Flask) -> None:
    """Trust FEEDSVC_TRUSTED_PROXIES hops of X-Forwarded-For, and install the limiter if configured."""
    cfg = app.config
    hops = int(cfg.get("TRUSTED_PROXIES") or 0)
    if hops:
        # Werkzeug's ProxyFix: take the client address `hops` entries from the right of
        # X-Forwarded-For, so a client cannot pick its own bucket by sending the header.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops)  # type: ignore[method-assign]
    limits = cfg.get("RATELIMIT")
    if not limits:
        return
    uri = storage_uri(cfg)
    options: dict[str, Any] = {}
    if not uri.startswith("memory://"):
        options = {"socket_timeout": STORAGE_TIMEOUT, "socket_connect_timeout": STORAGE_TIMEOUT}
    limiter: Limiter

    def storage_down() -> bool:
        # Fail open, fast: while flask-limiter has marked the storage dead (its in-memory
        # "fallback" mode, pinned 4.1.1 internals) the limit is exempt, so no request waits
        # on a dead Redis; the extension re-checks the storage with backoff and resumes.
        return bool(getattr(limiter, "_storage_dead", False))

    limiter = Limiter(
        get_remote_address,
        application_limits=[limits],
        application_limits_exempt_when=storage_down,
        storage_uri=uri,
        storage_options=options,
        strategy="fixed-window",  # one counter per window: one storage round trip per request
        key_prefix=f"{cfg['CACHE_KEY_PREFIX']}ratelimit",
        headers_enabled=False,  # per-client headers on publicly cacheable bodies would mislead caches
        in_memory_fallback_enabled=True,  # marks the storage dead on failure and probes it for recovery
        swallow_errors=True,  # any other limiter failure: serve the request and log
        on_breach=_on_breach,
        # Unrouted requests (404s, 405s) count too, or a scanner would never be limited.
        request_identifier=lambda: request.endpoint or "unrouted",
    )
    limiter.request_filter(lambda: request.path in EXEMPT_PATHS)
    limiter.init_app(app)
    flask_limiter_log = logging.getLogger("flask-limiter")
    if not any(isinstance(f, _OncePerBurst) for f in flask_limiter_log.filters):
        flask_limiter_log.addFilter(_OncePerBurst())
    state(app).limiter = limiter
    log.info("rate limiting on: %s per client, storage %s", limits, uri.split("@")[-1])

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc: RateLimitExceeded) -> Response:
        if isinstance(exc.response, Response):
            return exc.response
        return _too_many(60, exc.description or "rate limit")
