"""The render budget: how long each client may keep workers rendering documents nobody polls.

``FEEDSVC_RENDER_BUDGET`` (milliseconds per window, e.g. ``50/second;1000/minute``) is spent
only by renders of long-tail documents that are not in the render cache: searches, date
bounds, search calendars, pages past ``caching.TAIL_PAGE`` (``caching.is_odd``), a tag or
language no post has (``args.names_nothing``). Cached
answers, 304s and every document links produce never touch it, so a client that sends
one-off queries in bulk gets 429s while every reader's polled feeds keep their speed.

It is counted per worker process, in memory: what it protects is that worker's time. A
client that has spent it has its long-tail requests refused before Flask sees them (a
refusal costs a few microseconds, not a request's worth of routing and validation),
until its window resets; what links produce is still served.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask, Response, current_app, request
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from .caching import TAIL_PAGE, render_cache
from .content.errors import FeedsvcError
from .errors import wants_json
from .ratelimit import retry_after, too_many, too_many_body
from .representation import Representation

#: Query arguments no link produces (the known ones: unknown arguments are ignored, so cached).
TAIL_ARGS = frozenset({"q", "since", "until", "updated_since"})
#: What the refusal says it refused.
WHAT = "uncached searches, search calendars, deep pages or tags and languages no post has"
_REFUSED = "feedsvc.budget_refused"

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


class RenderBudgetExceeded(FeedsvcError):
    """A client has spent its render budget: answered 429 with Retry-After."""

    def __init__(self, seconds: int, limit: str) -> None:
        super().__init__(limit)
        self.seconds, self.limit = seconds, limit


class RenderBudget:
    """Milliseconds of rendering each client may cause by uncached long-tail requests, per window, in this process.

    The ``limits`` library's fixed windows (flask-limiter's engine), used directly: flask-limiter
    decides before the view runs, refusing an exhausted client everything (its ``deduct_when``
    still tests the limit on every request), whereas a request's cost is known only inside
    the render cache, on a miss. A render is let in while the client has budget left and is
    charged what it cost afterwards, so an expensive one may overdraw its window.
    """

    def __init__(self, limits: str) -> None:
        self.items: list[RateLimitItem] = parse_many(limits)
        self.limiter = FixedWindowRateLimiter(MemoryStorage())

    def refusal(self, client: str) -> RenderBudgetExceeded | None:
        """Why ``client`` may not render now (seconds until its window resets), or None."""
        for item in self.items:
            if not self.limiter.test(item, "render", client):
                window = int(item.get_expiry())
                stats = self.limiter.get_window_stats(item, "render", client)
                return RenderBudgetExceeded(
                    retry_after(stats.reset_time, window=window), f"render budget {item.amount} ms per {window} s"
                )
        return None

    def spend(self, produce: Callable[[], Representation]) -> Representation:
        """``produce()`` charged to the current client (RenderBudgetExceeded when it has nothing left)."""
        client = get_remote_address()
        refused = self.refusal(client)
        if refused is not None:
            raise refused
        # Wall time: how long the render held the worker (a gevent worker serves nobody else
        # meanwhile), which grows when the machine is busy, so the budget bites harder then.
        start = time.perf_counter()
        try:
            return produce()
        finally:
            cost = max(1, round((time.perf_counter() - start) * 1000))
            for item in self.items:
                self.limiter.hit(item, "render", client, cost=cost)


def long_tail(query_string: str) -> bool:
    """Whether a raw query string asks for a long-tail document (see TAIL_ARGS and caching.TAIL_PAGE)."""
    for key, value in parse_qsl(query_string):
        if key in TAIL_ARGS and value.strip():
            return True
        if key == "page" and value.isascii() and value.isdigit() and int(value) > TAIL_PAGE:
            return True
    return False


class EarlyRefusal:
    """WSGI middleware: a client over its budget has its long-tail GETs under /api and /feeds refused before Flask.

    The answer is the 429 the full path gives (its headers, security headers and all, as
    recorded from the first such answer); only the numbers in the body and Retry-After
    differ. Until one has been recorded, requests go through Flask.
    """

    def __init__(self, wsgi_app: Callable[[Environ, StartResponse], Iterable[bytes]], budget: RenderBudget) -> None:
        self.wsgi_app = wsgi_app
        self.budget = budget
        self.headers: list[tuple[str, str]] | None = None

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING", "")
        method = environ.get("REQUEST_METHOD")
        if not query or method not in ("GET", "HEAD") or not long_tail(query) or not wants_json(environ.get("PATH_INFO", "")):
            return self.wsgi_app(environ, start_response)
        headers = self.headers
        refused = self.budget.refusal(environ.get("REMOTE_ADDR") or "") if headers is not None else None
        if headers is None or refused is None:
            return self.wsgi_app(environ, self._recording(environ, start_response))
        body = too_many_body(refused.seconds, refused.limit, WHAT, json=True)
        start_response(
            "429 TOO MANY REQUESTS", [*headers, ("Retry-After", str(refused.seconds)), ("Content-Length", str(len(body)))]
        )
        return [] if method == "HEAD" else [body]

    def _recording(self, environ: Environ, start_response: StartResponse) -> StartResponse:
        def record(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            if environ.get(_REFUSED) and status.startswith("429"):
                self.headers = [(k, v) for k, v in headers if k.lower() not in ("retry-after", "content-length")]
            return start_response(status, headers, *exc)

        return record


def render_budget(app: Flask | None = None) -> RenderBudget | None:
    """The app's render budget (None when FEEDSVC_RENDER_BUDGET is off)."""
    found = (app or current_app).extensions.get("feedsvc.render_budget")
    return found if isinstance(found, RenderBudget) else None


def init_app(app: Flask) -> None:
    """Spend FEEDSVC_RENDER_BUDGET on the render cache's long-tail misses (unless it is ``off``)."""
    limits = app.config.get("RENDER_BUDGET")
    if limits in (None, "", "off"):
        return
    budget = RenderBudget(limits)
    app.extensions["feedsvc.render_budget"] = budget
    render_cache(app).spend = budget.spend
    app.wsgi_app = EarlyRefusal(app.wsgi_app, budget)  # type: ignore[method-assign]

    @app.errorhandler(RenderBudgetExceeded)
    def _over_budget(exc: RenderBudgetExceeded) -> Response:
        request.environ[_REFUSED] = True  # the answer EarlyRefusal records and repeats
        return too_many(exc.seconds, exc.limit, WHAT)
