"""HTTP validators, caching headers, compression and CORS: the only module that sets them.

``send`` answers a Representation: it picks the content coding (werkzeug's Accept-Encoding
parsing), builds the variant's validators and header lists, and answers 200 or 304.
Compressed bodies are made once (deterministic bytes, so every worker and host agrees
with the strong ETag) and kept with the cached representation. The variant it answered
from is left in the WSGI environ, where the fast path (fastpath.py) records it, so
repeats of the same request never come back here.
"""

from __future__ import annotations

import gzip
import time
from dataclasses import dataclass
from datetime import UTC
from typing import Any, NamedTuple

import brotli
from flask import Flask, Response, current_app, request
from flask_compress import Compress
from werkzeug.http import http_date, parse_date, parse_etags

from . import caching
from .extensions import current_index
from .representation import Representation, body_etag

#: Content codings we precompute, in order of preference at equal q (RFC 9110 12.5.3).
CODINGS = ("br", "gzip")
#: Extra compressible types beyond flask-compress's list (feeds, calendars, OPML).
EXTRA_MIMETYPES = (
    "application/feed+json",
    "text/calendar",
    "text/x-opml",
    "application/vnd.oai.openapi+json",
    "application/problem+json",
    "text/javascript",
)
#: Fetch standard CORS: readable from any origin, no credentials, so no Vary: Origin.
CORS = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Expose-Headers", "ETag, Last-Modified, Link, X-Total-Count, Retry-After"),
)
PREFLIGHT = (
    ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
    # Named headers for older browsers, '*' (any header, non-credentialed) for the rest.
    (
        "Access-Control-Allow-Headers",
        "Accept, Accept-Language, Cache-Control, If-Modified-Since, If-None-Match, X-Requested-With, *",
    ),
    ("Access-Control-Max-Age", "86400"),
)

#: Statuses given the documents' Cache-Control (GET/HEAD); other 3xx-5xx get no-cache.
CACHEABLE = frozenset({200, 203, 204, 301, 302, 304, 307, 308})
#: This feature's key in ``app.extensions``.
EXTENSION = "feedsvc.http"


@dataclass(frozen=True)
class Settings:
    """What the response layer of one app holds: flask-compress and the documents' Cache-Control."""

    compress: Compress
    cache_control: str


def settings(app: Flask | None = None) -> Settings:
    """The response-layer settings of ``app`` (default: the current app)."""
    found: Settings = (app or current_app).extensions[EXTENSION]
    return found


class SentResponse(Response):
    """A response built by ``send``: complete, so the after-request hook adds nothing."""


class Ready(NamedTuple):
    """One variant of a representation as sent: body, validators, header lists, and its representation."""

    body: bytes
    etag: str  # unquoted opaque tag
    last_modified: str  # HTTP-date
    lm_ts: float
    h200: list[tuple[str, str]]
    h304: list[tuple[str, str]]
    rep: Representation


def cors_path(path: str) -> bool:
    """Whether ``path`` is under /api or /feeds, the cross-origin readable trees."""
    return path.startswith(("/api/", "/feeds/")) or path in ("/api", "/feeds")


def cache_control(app: Flask) -> str:
    """The Cache-Control value of every cacheable document (RFC 9111 5.2, RFC 5861)."""
    cfg = app.config
    return (
        f"public, max-age={cfg['MAX_AGE']}, stale-while-revalidate={cfg['STALE_WHILE_REVALIDATE']}, "
        f"stale-if-error={cfg['STALE_IF_ERROR']}"
    )


def compress_body(data: bytes, coding: str) -> bytes:
    """``data`` compressed with flask-compress's levels, deterministically.

    gzip gets mtime=0: flask-compress stamps the clock into the gzip header, which would
    give one strong ETag different bytes on each worker (RFC 9110 8.8.3).
    """
    cfg = current_app.config
    if coding == "gzip":
        return gzip.compress(data, cfg["COMPRESS_LEVEL"], mtime=0)
    if coding == "br":
        compressed: bytes = brotli.compress(
            data,
            mode=cfg["COMPRESS_BR_MODE"],
            quality=cfg["COMPRESS_BR_LEVEL"],
            lgwin=cfg["COMPRESS_BR_WINDOW"],
            lgblock=cfg["COMPRESS_BR_BLOCK"],
        )
        return compressed
    raise ValueError(f"unknown content coding {coding!r}")


def _codings(rep: Representation) -> tuple[str, ...]:
    """Codings worth offering for ``rep``."""
    return _codings_for(rep.mimetype, len(rep.body))


def _codings_for(mimetype: str, size: int | None) -> tuple[str, ...]:
    """Codings worth offering for a body of this type and size (compressible type, big enough; size None: unknown)."""
    if size is not None and size < current_app.config["COMPRESS_MIN_SIZE"]:
        return ()
    return CODINGS if mimetype.split(";")[0].strip() in settings().compress.compress_mimetypes_set else ()


def _coded_etag(etag: str, coding: str) -> str:
    """The strong tag of a body in ``coding``: each coding its own, like flask-compress."""
    return f"{etag}:{coding}"


def choose_coding(offered: tuple[str, ...]) -> str | None:
    """The coding of ``offered`` the request's Accept-Encoding prefers, or None (send it as it is).

    Highest q wins; at equal q our order (CODINGS); q=0 refuses (RFC 9110 12.5.3).
    """
    if not offered or not request.environ.get("HTTP_ACCEPT_ENCODING"):
        return None
    return request.accept_encodings.best_match(offered)


def _prepare(rep: Representation, coding: str | None, cors: bool) -> Ready:
    """The body and header lists of ``rep`` in ``coding``."""
    etag = rep.etag or body_etag(rep.body)
    body = rep.body
    if coding:
        body = caching.render_cache().encoded(rep, coding, compress_body)
        etag = _coded_etag(etag, coding)
    lm = rep.last_modified
    if lm.tzinfo is None:
        lm = lm.replace(tzinfo=UTC)
    # Not capped by this worker's clock: every worker must give one ETag one Last-Modified.
    # The writer dates changes by its clock (content/changes.py): not in the future, unless
    # commits come faster than one a second (reloads are FEEDSVC_RELOAD_INTERVAL apart).
    lm_http = http_date(lm)
    # A view's own Cache-Control (rare) replaces ours, on the 304 as on the 200.
    own_cc = [v for n, v in rep.headers if n.lower() == "cache-control"]
    validators = [("ETag", f'"{etag}"'), ("Last-Modified", lm_http)]
    shared: list[tuple[str, str]] = [("Cache-Control", own_cc[0] if own_cc else settings().cache_control)]
    vary = [v for n, v in rep.headers if n.lower() == "vary"]
    if _codings(rep):
        vary.append("Accept-Encoding")
    if vary:
        shared.append(("Vary", ", ".join(vary)))
    if cors:
        shared.extend(CORS)
    h200 = [("Content-Type", rep.mimetype), ("Content-Length", str(len(body))), *validators, *shared]
    if coding:
        h200.append(("Content-Encoding", coding))
    h200.extend((n, v) for n, v in rep.headers if n.lower() not in ("vary", "cache-control"))
    # A 304 carries what the 200 would for caches to update: ETag, Cache-Control, Vary (RFC 9110 15.4.5).
    # Content-Type only tells later hooks what this is; werkzeug drops it from the 304 itself.
    h304 = [("Content-Type", rep.mimetype), *validators, *shared]
    return Ready(body, etag, lm_http, lm.timestamp(), h200, h304, rep)


def not_modified(environ: dict[str, Any], ready: Ready) -> bool:
    """Whether the client's copy is current (RFC 9110 13.1.2, 13.1.3, 13.2.2)."""
    inm = environ.get("HTTP_IF_NONE_MATCH")
    if inm is not None:  # If-None-Match wins: If-Modified-Since is then ignored
        if inm == f'"{ready.etag}"':
            return True
        return parse_etags(inm).contains_weak(ready.etag)  # weak comparison, '*' included
    ims = environ.get("HTTP_IF_MODIFIED_SINCE")
    if not ims:
        return False
    if ims == ready.last_modified:
        return True
    try:
        when = parse_date(ims)
    except (ValueError, OverflowError):
        return False
    if when is None:  # not an HTTP-date: ignored
        return False
    ts = when.timestamp()
    # A date later than our clock is invalid (RFC 9110 13.1.3): an invented future date
    # must not freeze a reader on an old copy.
    return ready.lm_ts <= ts <= time.time()


def send(rep: Representation, status: int = 200) -> SentResponse:
    """A response for a representation, answered 304 when the client's copy is current."""
    environ = request.environ
    coding = choose_coding(_codings(rep))
    cors = cors_path(environ.get("PATH_INFO", ""))
    ready = _prepare(rep, coding, cors)
    if status == 200 and environ.get("REQUEST_METHOD") in ("GET", "HEAD") and not_modified(environ, ready):
        resp = SentResponse(None, 304, ready.h304)
    elif status == 200:
        resp = SentResponse(None, 200, ready.h200)
        resp.response = [ready.body]  # one ready buffer; Content-Length is in the prepared list
    else:  # an error page rendered as a document: no validators, no long caching
        resp = SentResponse(
            ready.body,
            status,
            [h for h in ready.h200 if h[0] not in ("Content-Length", "ETag", "Last-Modified", "Cache-Control")]
            + [("Cache-Control", "no-cache")],
        )
    if status == 200:  # replayable by fastpath.FastPath for the same request shape and content
        environ["feedsvc.ready"] = (ready, current_index().version)
    return resp


def _after(resp: Response) -> Response:
    """Defaults for responses not built by ``send``: CORS, Cache-Control, preflight, compression."""
    if isinstance(resp, SentResponse):
        return resp
    cors = cors_path(request.path)
    if cors:
        if request.method == "OPTIONS" and resp.status_code == 200:  # Flask's automatic OPTIONS
            resp.status_code = 204  # a CORS preflight answer (Fetch standard, "CORS-preflight fetch")
            resp.set_data(b"")
            del resp.headers["Content-Type"]
            for name, value in PREFLIGHT:
                resp.headers[name] = value
            resp.headers.setdefault("Cache-Control", "public, max-age=86400")
        for name, value in CORS:
            resp.headers.setdefault(name, value)
    if "Cache-Control" not in resp.headers:
        # Redirects are content (site.yaml, aliases, the router's slash rules): cached like documents.
        if resp.status_code in CACHEABLE and request.method in ("GET", "HEAD"):
            resp.headers["Cache-Control"] = settings().cache_control
        elif resp.status_code >= 300:
            resp.headers["Cache-Control"] = "no-cache"
    return _compress(resp)


def _compress(resp: Response) -> Response:
    """Compress a response ``send`` did not build (/metrics, /healthz...) by send's rules.

    flask-compress's types and minimum size; the coding from ``choose_coding`` and the bytes
    from ``compress_body``. (flask-compress's own after_request sent a coding the client
    refused with q=0, and stamped the clock into gzip: other bytes every second.)
    """
    vary = resp.headers.get("Vary")
    if not vary:
        resp.headers["Vary"] = "Accept-Encoding"
    elif "accept-encoding" not in vary.lower():
        resp.headers["Vary"] = f"{vary}, Accept-Encoding"
    if not 200 <= resp.status_code < 300 or resp.is_streamed or "Content-Encoding" in resp.headers:
        return resp
    coding = choose_coding(_codings_for(resp.mimetype or "", resp.content_length))
    if coding is None:
        return resp
    resp.direct_passthrough = False
    resp.set_data(compress_body(resp.get_data(), coding))
    resp.headers["Content-Encoding"] = coding
    etag, weak = resp.get_etag()
    if etag and not weak:
        resp.set_etag(_coded_etag(etag, coding))
    return resp


def init_app(app: Flask, **_: Any) -> None:
    """Set up the render cache, flask-compress's settings (types, levels, minimum size) and the hook."""
    app.config.setdefault("COMPRESS_REGISTER", False)  # we call it ourselves, skipping ready responses
    app.config.setdefault("COMPRESS_ALGORITHM", list(CODINGS))
    app.config.setdefault("COMPRESS_STREAMS", False)  # static files stream; leave them as they are
    comp = Compress()
    comp.init_app(app)
    comp.compress_mimetypes_set.update(EXTRA_MIMETYPES)
    app.extensions[EXTENSION] = Settings(comp, cache_control(app))
    caching.init_app(app)
    app.after_request(_after)
