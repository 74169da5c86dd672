"""The fediverse's JSON answers: as they are (documents that change without the content) or through the render cache."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Response

from ... import caching, http
from ...canonical_json import to_json
from ...extensions import current_index
from .actor import ACTIVITY_JSON


def json_response(doc: Mapping[str, Any], status: int = 200, mimetype: str = ACTIVITY_JSON) -> Response:
    """A JSON document answered as it is (documents that change without the content)."""
    resp = Response(to_json(doc), status=status, mimetype=mimetype)
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def send_json(
    endpoint: str,
    args: Mapping[str, object],
    build: Callable[[], Mapping[str, Any]],
    mimetype: str = ACTIVITY_JSON,
    vary: bool = False,
) -> Response:
    """A content-derived JSON document through the render cache (validators from http.send)."""

    def produce() -> caching.Representation:
        idx = current_index()
        return caching.Representation(
            to_json(build()), mimetype, idx.query_last_modified(), headers=(("Vary", "Accept"),) if vary else ()
        )

    return http.send(caching.render(endpoint, args, produce))
