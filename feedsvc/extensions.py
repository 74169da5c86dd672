"""Extension objects (unbound until init_app) and access to the per-app state."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Response, current_app, g, has_request_context
from flask_caching import Cache
from werkzeug.exceptions import ServiceUnavailable

from .content import ContentUnavailable, Index, LiveIndex
from .content.live import RETRY_AFTER

if TYPE_CHECKING:  # the modules that fill these fields import this one
    from flask_compress import Compress
    from flask_limiter import Limiter

    from .caching import RenderCache
    from .fastpath import FastPath

cache = Cache()


@dataclass
class State:
    """Per-app state, kept in ``app.extensions["feedsvc"]``."""

    make_live: Callable[[], LiveIndex]
    _live: LiveIndex | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: Called with (old, new) after each content change (WebSub pings, ...).
    listeners: list[Callable[[Index, Index], None]] = field(default_factory=list)
    #: Called with (index, seconds, changed) after each reload in the writing process (the outbox).
    reload_listeners: list[Callable[[Index, float, bool], None]] = field(default_factory=list)
    #: Called once in the process that keeps the database current, when it starts doing so (the outbox).
    writer_listeners: list[Callable[[], None]] = field(default_factory=list)
    #: Filled by the modules' init_app (None until then, or when the feature is off).
    render_cache: RenderCache | None = None
    compress: Compress | None = None
    cache_control: str = ""
    fastpath: FastPath | None = None
    limiter: Limiter | None = None
    html_not_found: Callable[[], Response] | None = None

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
    """The feedsvc state of ``app`` (default: the current app)."""
    return (app or current_app).extensions["feedsvc"]


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
            index = g.get("feedsvc_index")
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
