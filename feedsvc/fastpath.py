"""Repeat-request fast path: replay a prepared response without entering Flask.

Aggregators poll the same URLs with the same headers all day. Once a document has been
served through ``http.send``, its response is fully determined by the request line, the
``Accept`` header's one negotiation decision (``negotiation.prefers_html``: feed or HTML
view), the ``Accept-Encoding`` header (which picks the coding) and the
conditional headers (which pick 200 or 304, decided here exactly as ``http.send`` does),
for as long as the content version stays the same. So this WSGI middleware keeps, per
such request shape, the variant and the final header lists the full path sent (security
headers included), and answers repeats from them: no routing, no hooks, no view.

It holds no bytes of its own: an entry refers to its representation weakly and is
replayed only while that representation is still in the render cache's main space
(``RenderCache.holds``), so the render cache's byte budget bounds both (an evicted
document's bodies are freed at once, whatever the table still names), and documents for
odd queries (caching.py) are never recorded.
Anything else (first requests, other methods, other statuses, a changed content
version) goes through Flask unchanged.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from . import metrics
from .caching import RenderCache, render_cache
from .extensions import state
from .http import Ready, not_modified
from .negotiation import prefers_activity, prefers_html
from .representation import Representation

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
#: What ``http.send`` leaves in the WSGI environ: the variant it answered from, and the
#: content version it was rendered from.
READY_KEY = "feedsvc.ready"
#: This feature's key in ``app.extensions`` (absent when the fast path is off).
EXTENSION = "feedsvc.fastpath"
_STATUS = {200: "200 OK", 304: "304 NOT MODIFIED"}
#: (the representation, weakly; the coding of the body sent or None; the Ready's validators;
#: header lists by status; the route).
Entry = tuple["weakref.ref[Representation]", str | None, str, str, float, dict[int, list[tuple[str, str]]], str]


class FastPath:
    """WSGI middleware answering repeated GET/HEAD requests from their prepared variants."""

    def __init__(
        self,
        wsgi_app: Callable[[Environ, StartResponse], Iterable[bytes]],
        version: Callable[[], str],
        cache: RenderCache,
        max_entries: int = 2048,
    ) -> None:
        self.wsgi_app = wsgi_app
        self.version = version
        self.cache = cache
        self.max_entries = max_entries
        self._table: OrderedDict[tuple[str, ...], Entry] = OrderedDict()
        self._for_version = ""
        self._lock = threading.Lock()
        #: Requests answered here (tests and introspection).
        self.hits = 0

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        version = self.version()
        # Accept matters only through the negotiation decisions (feed or its HTML view; a page or its object).
        accept = environ.get("HTTP_ACCEPT")
        key = (
            method,
            environ.get("SCRIPT_NAME", ""),
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            "html" if prefers_html(accept) else "",
            "activity" if prefers_activity(accept) else "",
            environ.get("HTTP_ACCEPT_ENCODING", ""),
        )
        entry = self._table.get(key) if self._for_version == version else None
        ready = _ready(entry) if entry is not None else None
        if entry is not None and ready is not None:
            by_status, route = entry[5], entry[6]
            status = 304 if not_modified(environ, ready) else 200
            headers = by_status.get(status)
            if headers is not None and self.cache.holds(ready.rep):
                self.hits += 1
                metrics.CACHE_HIT_FASTPATH.inc()
                environ[metrics.ROUTE_KEY] = route
                start_response(_STATUS[status], list(headers))
                return [] if status == 304 or method == "HEAD" else [ready.body]
        metrics.CACHE_MISS_FASTPATH.inc()
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, headers]
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, capture)
        sent = environ.get(READY_KEY)
        if (
            sent is not None
            and captured
            and captured[0][:3] in ("200", "304")
            and sent[1] == version
            and self.cache.holds(sent[0].rep)
        ):
            self._record(key, version, sent[0], int(captured[0][:3]), captured[1], environ.get(metrics.ROUTE_KEY, "unrouted"))
        return body

    def _record(
        self, key: tuple[str, ...], version: str, ready: Ready, status: int, headers: list[tuple[str, str]], route: str
    ) -> None:
        with self._lock:
            if self._for_version != version:  # new content: every old entry is stale
                self._table.clear()
                self._for_version = version
            entry = self._table.get(key)
            if entry is None or entry[0]() is not ready.rep or entry[1] != _coding(ready):
                entry = (weakref.ref(ready.rep), _coding(ready), ready.etag, ready.last_modified, ready.lm_ts, {}, route)
                self._table[key] = entry
            entry[5][status] = list(headers)
            self._table.move_to_end(key)
            while len(self._table) > self.max_entries:
                self._table.popitem(last=False)


def _coding(ready: Ready) -> str | None:
    """Which body of its representation ``ready`` sent: None for the identity body, else the coding."""
    if ready.body is ready.rep.body:
        return None
    return next((c for c, data in ready.rep.encoded.items() if data is ready.body), None)


def _ready(entry: Entry) -> Ready | None:
    """The variant an entry names, rebuilt from its representation; None once that is gone."""
    rep = entry[0]()
    if rep is None:
        return None
    body = rep.body if entry[1] is None else rep.encoded.get(entry[1])
    if body is None:
        return None
    return Ready(body, entry[2], entry[3], entry[4], [], [], rep)


def init_app(app: Any) -> None:
    """Put the fast path in front of the app, unless in-process caching is off or requests are rate-limited.

    Rate limiting must count every request, and NullCache / FEEDSVC_CACHE_LOCAL_BYTES=0
    ask for every request to go through the render path.
    """
    cfg = app.config
    if cfg["RATELIMIT"] or cfg["CACHE_TYPE"] == "NullCache" or not cfg.get("CACHE_LOCAL_BYTES"):
        return
    st = state(app)

    def version() -> str:
        return st.live.version()

    fast = FastPath(app.wsgi_app, version, render_cache(app))
    app.extensions[EXTENSION] = fast
    app.wsgi_app = fast


def fast_path(app: Any) -> FastPath | None:
    """The fast path in front of ``app`` (None when it is off)."""
    found: FastPath | None = app.extensions.get(EXTENSION)
    return found
