"""The live index of each app, after flaskr's db.py: get (``current_index``), teardown (``end_snapshot``), init_app.

Each other feature keeps its own state under its own key in ``app.extensions``, read
through an accessor in its own module (``caching.render_cache``, ``http.settings``, ...).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, g, has_request_context
from werkzeug.exceptions import ServiceUnavailable

from . import metrics
from .content import ContentUnavailable, Index, LiveIndex, Loader
from .content.live import RETRY_AFTER

#: This module's key in ``app.extensions``.
EXTENSION = "feedsvc"


@dataclass
class State:
    """The live index of one app and who listens to it, kept in ``app.extensions["feedsvc"]``."""

    make_live: Callable[[], LiveIndex]
    _live: LiveIndex | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: Called with (old, new) after each content change (WebSub pings, ...).
    listeners: list[Callable[[Index, Index], None]] = field(default_factory=list)
    #: Called with (index, seconds, changed) after each reload in the writing process (the outbox).
    reload_listeners: list[Callable[[Index, float, bool], None]] = field(default_factory=list)
    #: Called once in the process that keeps the database current, when it starts doing so (the outbox).
    writer_listeners: list[Callable[[], None]] = field(default_factory=list)

    @property
    def live(self) -> LiveIndex:
        """The live index, loaded on first use (so the CLI works even on broken content)."""
        live = self._live
        if live is None:
            with self._lock:
                if self._live is None:
                    live = self.make_live()
                    for listener in self.listeners:
                        live.subscribe(listener)
                    for callback in self.reload_listeners:
                        live.on_reload(callback)
                    for start in self.writer_listeners:
                        live.on_writer(start)
                    self._live = live
                live = self._live
        return live


def state(app: Any = None) -> State:
    """The live-index state of ``app`` (default: the current app)."""
    found: State = (app or current_app).extensions[EXTENSION]
    return found


def current_index() -> Index:
    """The content snapshot of the current app, fixed for the whole of a request.

    A reload landing mid-request must not give one view two snapshots (say, a page count
    from the old one and items from the new), nor file a body under the wrong version:
    the request reads through one read transaction, ended by ``end_snapshot``.
    When no good state of the database can be read (it is being rebuilt), the request is
    answered 503 with Retry-After.
    """
    try:
        if has_request_context():
            index: Index | None = g.get("feedsvc_index")
            if index is None:
                snapshot = state().live.snapshot()
                index = snapshot.__enter__()
                g.feedsvc_snapshot = snapshot
                g.feedsvc_index = index
            return index
        return state().live.current
    except ContentUnavailable as exc:
        raise unavailable(str(exc)) from exc


def unavailable(reason: str) -> ServiceUnavailable:
    """The 503 answered while the content cannot be read (a database being rebuilt): retried shortly."""
    error = ServiceUnavailable("the content is being reloaded; retry shortly", retry_after=RETRY_AFTER)
    error.description = "the content is being reloaded; retry shortly"
    current_app.logger.warning("answering 503: %s", reason)
    return error


def end_snapshot(exc: BaseException | None = None) -> None:
    """End the request's read transaction (registered as an app-context teardown)."""
    snapshot = g.pop("feedsvc_snapshot", None)
    g.pop("feedsvc_index", None)
    if snapshot is not None:
        snapshot.__exit__(None, None, None)


def init_app(app: Flask) -> None:
    """Keep the app's live index (made from its configuration on first use) and end each request's snapshot."""
    cfg = app.config

    def make_live() -> LiveIndex:
        loader = Loader(
            cfg["CONTENT_DIR"], max_post_bytes=cfg["MAX_POST_BYTES"], base_url=cfg["BASE_URL"], index_path=cfg["INDEX_PATH"]
        )
        if cfg.get("CLOCK") is not None:  # tests: the writer's clock (schedule.py); readers never read one
            loader.now = cfg["CLOCK"]
        live = LiveIndex(loader, cfg["RELOAD_INTERVAL"])
        metrics.version_loaded(live.current.version)
        live.on_reload(metrics.on_reload)
        return live

    app.extensions[EXTENSION] = State(make_live=make_live)
    app.teardown_appcontext(end_snapshot)
