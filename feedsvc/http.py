"""HTTP validators and caching headers: the only module that sets them.

FIRST VERSION: issue 5 refines (compression, Vary, stale-*, HEAD, per-encoding ETags).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, request

from .caching import Representation


def send(rep: Representation, status: int = 200) -> Response:
    """A response for a representation, answered 304 when the client's copy is current."""
    resp = Response(rep.body, status=status, content_type=rep.mimetype)
    for name, value in rep.headers:
        resp.headers.add(name, value)
    resp.set_etag(rep.etag)
    resp.last_modified = rep.last_modified
    return resp.make_conditional(request)


def _after(resp: Response) -> Response:
    cfg = current_app.config
    if resp.status_code in (200, 304) and "Cache-Control" not in resp.headers:
        resp.headers["Cache-Control"] = (
            f"public, max-age={cfg['MAX_AGE']}, stale-while-revalidate={cfg['STALE_WHILE_REVALIDATE']}, "
            f"stale-if-error={cfg['STALE_IF_ERROR']}"
        )
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    return resp


def init_app(app: Flask, **_: Any) -> None:
    """Install the after-request hook."""
    app.after_request(_after)
