"""One error shape: {"error": {status, code, message, details?}} under /api and /feeds.

FIRST VERSION: issue 4 refines.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    """An error answered as JSON: HTTP status, machine code, human message, details."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    """The JSON error response."""
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    if details:
        body["details"] = details
    resp = jsonify({"error": body})
    resp.status_code = status
    return resp


def _wants_json() -> bool:
    return request.path.startswith(("/api", "/feeds"))


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if _wants_json():
            resp = error_response(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"),
                                  exc.description or "")
            if exc.code == 405 and exc.response is None:
                resp.headers["Allow"] = ", ".join(exc.valid_methods or [])  # type: ignore[attr-defined]
            return resp
        return exc

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        app.logger.exception("unhandled error on %s", request.path)
        if _wants_json():
            return error_response(500, "internal_error", "internal error; it has been logged")
        return Response("Internal error; it has been logged.\n", status=500, mimetype="text/plain")
