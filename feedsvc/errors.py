"""One error shape: ``{"error": {status, code, message, details?}}`` under /api and /feeds.

Every 4xx/5xx there is JSON, Flask's own 404/405 included (405 keeps its ``Allow``
header, RFC 9110 §15.5.6); elsewhere errors stay HTML. A marshmallow ValidationError is a
400 whose ``details`` lists every bad parameter. Nothing ever shows a stack trace.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from flask import Flask, Response, request
from marshmallow import Schema, ValidationError, fields, post_dump, validate
from werkzeug.exceptions import BadRequest, HTTPException

from .canonical_json import to_json
from .content.errors import FeedsvcError, Gone, NotFound, SearchNotReady
from .extensions import unavailable

#: Path prefixes whose errors are JSON (the fediverse's machine routes too: /ap, WebFinger, NodeInfo).
JSON_PREFIXES = ("/api", "/feeds", "/oembed", "/ap", "/.well-known/webfinger", "/.well-known/nodeinfo", "/nodeinfo")
#: Key in ``app.extensions`` of the HTML 404 page unrouted paths get (set by the pages' setup).
NOT_FOUND_PAGE = "feedsvc.errors.not_found_page"
#: Headers of an HTTPException's own response worth keeping (Allow on 405, Retry-After on 429/503).
_KEEP = ("Allow", "Retry-After", "WWW-Authenticate")
#: Seconds a search is asked to wait while the full-text index is built (a few thousand posts a second).
SEARCH_RETRY_AFTER = 10


class ApiError(FeedsvcError):
    """An error answered as JSON: HTTP status, machine code, human message, details."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


class ErrorDetailSchema(Schema):
    """One bad parameter (the shape of RFC 9457's invalid-params)."""

    name = fields.Str(required=True, metadata={"description": "The query parameter."})
    reason = fields.Str(required=True)


class ErrorBodySchema(Schema):
    """What went wrong."""

    status = fields.Int(required=True, validate=validate.Range(min=400, max=599))
    code = fields.Str(required=True, metadata={"description": "Machine-readable, e.g. `invalid_parameters`."})
    message = fields.Str(required=True)
    details = fields.Raw(
        metadata={
            "description": "For `invalid_parameters`: every bad parameter as `{name, reason}`. "
            "Other errors may give an object of facts (e.g. `rate_limited`: limit, retry_after).",
            "oneOf": [{"type": "array", "items": {"$ref": "#/components/schemas/ErrorDetail"}}, {"type": "object"}],
        }
    )

    @post_dump
    def _omit_empty_details(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if not data.get("details"):
            data.pop("details", None)
        return data


class ErrorSchema(Schema):
    """The one error shape of /api and /feeds (also what the OpenAPI document declares)."""

    error = fields.Nested(ErrorBodySchema, required=True)


_ERROR = ErrorSchema()


def error_body(status: int, code: str, message: str, details: Any = None) -> bytes:
    """The JSON error document as bytes (sorted keys, UTF-8)."""
    doc = _ERROR.dump({"error": {"status": status, "code": code, "message": message, "details": details}})
    return to_json(doc)


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    """The JSON error response."""
    return Response(error_body(status, code, message, details), status=status, mimetype="application/json")


def wants_json(path: str | None = None) -> bool:
    """True when errors for this path (default: the request's) are answered as JSON."""
    path = request.path if path is None else path
    return any(path == p or path.startswith(p + "/") for p in JSON_PREFIXES)


def _flatten(messages: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(parameter, reason) pairs from marshmallow's nested messages."""
    if isinstance(messages, Mapping):
        for key in sorted(messages, key=str):
            name = f"{prefix}.{key}" if prefix else str(key)
            yield from _flatten(messages[key], "" if key == "_schema" and not prefix else name)
    elif isinstance(messages, (list, tuple)):
        for m in messages:
            yield from _flatten(m, prefix)
    else:
        yield (prefix or "request", str(messages))


def validation_details(exc: ValidationError) -> list[dict[str, str]]:
    """Every bad parameter of a ValidationError as ``[{"name", "reason"}]`` (RFC 9457 invalid-params)."""
    return [{"name": n, "reason": r} for n, r in _flatten(exc.messages)]


def set_not_found_page(app: Flask, page: Callable[[], Response]) -> None:
    """Answer HTML 404s of ``app`` with ``page()`` (the site's own page) instead of werkzeug's."""
    app.extensions[NOT_FOUND_PAGE] = page


def _code(exc: HTTPException) -> str:
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        if wants_json():
            return error_response(exc.status, exc.code, exc.message, exc.details)
        return Response(f"{exc.message}\n", status=exc.status, mimetype="text/plain")

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound) -> Response:
        # The one place a domain "does not exist" becomes a 404, and "withdrawn" a 410 (RFC 9110
        # 15.5.11): the views raise, never build the answer.
        if isinstance(exc, Gone):
            return _api_error(ApiError(410, "gone", str(exc)))
        return _api_error(ApiError(404, "not_found", str(exc)))

    @app.errorhandler(SearchNotReady)
    def _search_not_ready(exc: SearchNotReady) -> Response:
        resp = _api_error(ApiError(503, "search_not_ready", str(exc)))
        resp.headers["Retry-After"] = str(SEARCH_RETRY_AFTER)
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.errorhandler(ValidationError)
    def _invalid(exc: ValidationError) -> Any:
        details = validation_details(exc)
        names = sorted({d["name"] for d in details})
        message = f"invalid parameter{'s' if len(names) > 1 else ''}: {', '.join(names)}"
        if wants_json():
            return error_response(400, "invalid_parameters", message, details)
        return BadRequest(message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if not wants_json() or exc.code is None or exc.code < 400:
            page = app.extensions.get(NOT_FOUND_PAGE) if exc.code == 404 else None
            return page() if page is not None else exc
        status = exc.code
        # A 500's description may carry internals; clients get the generic text.
        message = "internal error; it has been logged" if status == 500 else exc.description
        resp = error_response(status, _code(exc), message or _code(exc))
        own = exc.get_response()  # Allow (405), Retry-After (429, 503), ...
        for name in _KEEP:
            if name in own.headers:
                resp.headers[name] = own.headers[name]
        return resp

    @app.errorhandler(sqlite3.Error)
    def _database(exc: sqlite3.Error) -> Any:
        # The index database failed under a request (a file damaged while running): the
        # writer rebuilds it at its next reload, so the client is asked to retry shortly.
        return _http_error(unavailable(f"index database: {exc}"))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        app.logger.exception("unhandled error on %s", request.path)
        if wants_json():
            return error_response(500, "internal_error", "internal error; it has been logged")
        return Response("Internal error; it has been logged.\n", status=500, mimetype="text/plain")
