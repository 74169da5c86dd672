"""The /metrics view and the outermost WSGI middleware that counts every request (counters: metrics.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from . import logs, metrics
from .extensions import current_index


class _Content(Collector):
    """Gauges read from the served index at scrape time (exact in whichever process answers)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        idx = current_index()
        now = time.time()
        posts = GaugeMetricFamily("feedsvc_content_posts", "Posts in the served content version", labels=["state"])
        posts.add_metric(["published"], len(idx.posts))
        posts.add_metric(["skipped"], len({p.path for p in idx.problems}))
        yield posts
        loaded = metrics.loaded_at(idx.version, now)
        yield GaugeMetricFamily(
            "feedsvc_content_age_seconds", "Seconds since the served content version was loaded", value=now - loaded
        )
        yield GaugeMetricFamily(
            "feedsvc_content_newest_file_age_seconds",
            "Seconds since the newest content file changed",
            value=now - idx.content_mtime.timestamp(),
        )
        yield GaugeMetricFamily(
            "feedsvc_content_degraded", "1 while the last good index is served", value=1 if idx.degraded else 0
        )


def exposition() -> bytes:
    """The whole text exposition: every process's samples (multiprocess mode) or this one's, and the content."""
    if metrics.MULTIPROC_DIR:
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
    request.environ[metrics.ROUTE_KEY] = rule.rule if rule is not None else "unrouted"


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
            route = environ.get(metrics.ROUTE_KEY, "unrouted")
            metrics.REQUESTS.labels(route, statuses[-1] if statuses else "500").inc()
            logs.end(token)


def init_app(app: Flask) -> None:
    """Serve /metrics and name each request's route (call before other before_request hooks)."""
    app.before_request(_route)
    app.register_blueprint(bp)


def wrap(app: Flask) -> None:
    """Put ``Instrument`` outermost (call last, after every other WSGI middleware)."""
    app.wsgi_app = Instrument(app.wsgi_app)  # type: ignore[method-assign]
