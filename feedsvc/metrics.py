"""/metrics: Prometheus text format through prometheus_client, multiprocess-safe under gunicorn.

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

import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
if os.environ.get(MULTIPROC_ENV):  # prometheus_client writes there from the first labels() on
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from . import logs
from .extensions import current_index

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
RENDER = Histogram("feedsvc_render_seconds", "Time to render a document on a cache miss, by format", ["format"],
                   buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
RELOAD = Histogram("feedsvc_content_reload_seconds", "Content reloads: wall seconds, by whether the version changed",
                   ["changed"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
VERSION_LOADED = Gauge("feedsvc_content_version_loaded_timestamp_seconds",
                       "When the newest content version was loaded (Unix time)", multiprocess_mode="max")

_FORMATS = {"application/atom+xml": "atom", "application/rss+xml": "rss", "application/feed+json": "jsonfeed",
            "text/calendar": "ics", "application/json": "json", "text/html": "html", "text/x-opml": "opml",
            "application/vnd.oai.openapi+json": "json", "text/javascript": "js", "text/css": "css",
            "application/xslt+xml": "xml", "application/xml": "xml"}
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


class _Content(Collector):
    """Gauges read from the served index at scrape time (exact in whichever process answers)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        idx = current_index()
        now = time.time()
        posts = GaugeMetricFamily("feedsvc_content_posts", "Posts in the served content version", labels=["state"])
        posts.add_metric(["published"], len(idx.posts))
        posts.add_metric(["skipped"], len({p.path for p in idx.problems}))
        yield posts
        loaded = _loaded_at.setdefault(idx.version, now)
        yield GaugeMetricFamily("feedsvc_content_age_seconds",
                                "Seconds since the served content version was loaded", value=now - loaded)
        yield GaugeMetricFamily("feedsvc_content_newest_file_age_seconds",
                                "Seconds since the newest content file changed", value=now - idx.content_mtime.timestamp())
        yield GaugeMetricFamily("feedsvc_content_degraded", "1 while the last good index is served",
                                value=1 if idx.degraded else 0)


def exposition() -> bytes:
    """The whole text exposition: every process's samples (multiprocess mode) or this one's, and the content."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        samples = generate_latest(registry)
    else:
        samples = generate_latest(REGISTRY)
    content = CollectorRegistry()
    content.register(_Content())
    for collector in current_app.extensions.get("metrics_collectors", []):  # features' own gauges (the outbox)
        content.register(collector)
    return samples + generate_latest(content)


bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics_view() -> Response:
    """The Prometheus text exposition (never cached)."""
    resp = Response(exposition(), mimetype=CONTENT_TYPE_LATEST.split(";")[0])
    resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _route() -> None:
    rule = request.url_rule
    request.environ[ROUTE_KEY] = rule.rule if rule is not None else "unrouted"


class Instrument:
    """Outermost WSGI middleware: a request id for the logs, and the request counted by route and status."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        token = logs.begin(environ)
        statuses: list[str] = []

        def counted(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            statuses.append(status[:3])
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, counted)
        finally:
            REQUESTS.labels(environ.get(ROUTE_KEY, "unrouted"), statuses[-1] if statuses else "500").inc()
            logs.end(token)


def init_app(app: Flask) -> None:
    """Serve /metrics and name each request's route (call before other before_request hooks)."""
    app.before_request(_route)
    app.register_blueprint(bp)


def wrap(app: Flask) -> None:
    """Put ``Instrument`` outermost (call last, after every other WSGI middleware)."""
    app.wsgi_app = Instrument(app.wsgi_app)  # type: ignore[method-assign]
