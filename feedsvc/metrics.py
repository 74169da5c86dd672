"""Prometheus counters and histograms (a leaf: no Flask); /metrics itself is served by instrument.py.

Prometheus text format through prometheus_client, multiprocess-safe under gunicorn.

Under gunicorn, ``gunicorn.conf.py`` sets ``PROMETHEUS_MULTIPROC_DIR`` (a fresh directory
under $TMPDIR unless given) before the app is imported, so every process (the master,
which reloads content, and each worker) writes its samples to its own files there, and
``/metrics`` on any worker sums them all (``child_exit`` marks dead workers). Without it
(tests, the CLI, ``flask run``) the process's own default registry is served.

What it says (``feedsvc_`` prefix):

- ``http_requests_total{route, status}``: every answer, by URL rule and status; the 304
  ratio is ``sum(rate(...{status="304"}[5m])) / sum(rate(...{status=~"200|304"}[5m]))``;
- ``cache_lookups_total{layer, result}``: ``fastpath`` (replayed before Flask), ``local``
  (the worker's render cache), ``backend`` (the shared cache) x ``hit``/``miss``;
- ``render_seconds{format}``: time to render a document on a cache miss;
- ``content_reload_seconds{changed}``: each reload's wall time (``_count``: reloads);
- ``content_posts{state="published"|"skipped"}``, ``content_age_seconds`` (since the
  content version being served was loaded), ``content_newest_file_age_seconds``,
  ``content_degraded``: read from the served index at scrape time;
- ``outbox_deliveries_total{kind, dest, outcome}`` (counted by the sending process),
  ``outbox_queue_depth{kind, dest}`` and ``outbox_oldest_pending_seconds{kind, dest}``
  (read from the queue at scrape time): see ``feedsvc/outbox``.
"""

from __future__ import annotations

import time
from typing import Any

from .config import metrics_dir

#: Where every process writes its samples (multiprocess mode), or None: this process's own registry.
MULTIPROC_DIR = metrics_dir()  # made before prometheus_client writes there, from its first metric on

from prometheus_client import Counter, Gauge, Histogram

#: The environ key naming the URL rule that answered (set by a before_request hook, or the fast path).
ROUTE_KEY = "feedsvc.route"

REQUESTS = Counter("feedsvc_http_requests", "HTTP requests answered, by URL rule and status", ["route", "status"])
CACHE = Counter("feedsvc_cache_lookups", "Render cache lookups, by layer and result", ["layer", "result"])
CACHE_HIT_FASTPATH = CACHE.labels("fastpath", "hit")
CACHE_MISS_FASTPATH = CACHE.labels("fastpath", "miss")
CACHE_HIT_LOCAL = CACHE.labels("local", "hit")
CACHE_MISS_LOCAL = CACHE.labels("local", "miss")
CACHE_HIT_BACKEND = CACHE.labels("backend", "hit")
CACHE_MISS_BACKEND = CACHE.labels("backend", "miss")
RENDER = Histogram(
    "feedsvc_render_seconds",
    "Time to render a document on a cache miss, by format",
    ["format"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RELOAD = Histogram(
    "feedsvc_content_reload_seconds",
    "Content reloads: wall seconds, by whether the version changed",
    ["changed"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
VERSION_LOADED = Gauge(
    "feedsvc_content_version_loaded_timestamp_seconds",
    "When the newest content version was loaded (Unix time)",
    multiprocess_mode="max",
)

_FORMATS = {
    "application/atom+xml": "atom",
    "application/rss+xml": "rss",
    "application/feed+json": "jsonfeed",
    "text/calendar": "ics",
    "application/json": "json",
    "text/html": "html",
    "text/x-opml": "opml",
    "application/vnd.oai.openapi+json": "json",
    "text/javascript": "js",
    "text/css": "css",
    "application/xslt+xml": "xml",
    "application/xml": "xml",
}
#: Content version -> when this process (or the master it was forked from) first had it.
_loaded_at: dict[str, float] = {}


def observe_render(mimetype: str, seconds: float) -> None:
    """Record one render of a document of ``mimetype``."""
    RENDER.labels(_FORMATS.get(mimetype.split(";")[0].strip(), "other")).observe(seconds)


def version_loaded(version: str, when: float | None = None) -> None:
    """Note that ``version`` is now served (at start-up and after each changing reload)."""
    when = time.time() if when is None else when
    _loaded_at.setdefault(version, when)
    if len(_loaded_at) > 64:  # only the newest matter
        for old in list(_loaded_at)[:-8]:
            del _loaded_at[old]
    VERSION_LOADED.set(_loaded_at[version])


def on_reload(index: Any, seconds: float, changed: bool) -> None:
    """``LiveIndex.on_reload`` callback: reload duration and count, and the new version's time."""
    RELOAD.labels("true" if changed else "false").observe(seconds)
    if changed:
        version_loaded(index.version)


def loaded_at(version: str, now: float) -> float:
    """When ``version`` was first served by this process (``now`` if it was never noted)."""
    return _loaded_at.setdefault(version, now)
