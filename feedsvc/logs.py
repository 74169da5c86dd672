"""Logging: text or JSON lines (FEEDSVC_LOG_FORMAT), with the request id on every line a request causes.

``FEEDSVC_LOG_FORMAT=json`` gives one JSON object per line, for application logs
(``feedsvc.*``: ``time``, ``level``, ``logger``, ``message``, ``pid``, ``request_id``)
and, through ``GunicornLogger`` (set by gunicorn.conf.py), for gunicorn's own lines and
its access log (``method``, ``path``, ``query``, ``status``, ``bytes``, ``duration_ms``,
``remote``, ``user_agent``, ``referer``, ``request_id``). The request id is the client's
(or the proxy's) ``X-Request-ID`` when it is a sane token, else a fresh random one.
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import sys
from datetime import UTC, datetime
from typing import Any

import orjson
from gunicorn import glogging

REQUEST_ID_KEY = "feedsvc.request_id"
_REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("feedsvc_request_id", default=None)
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}\Z")
TEXT_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"


def begin(environ: dict[str, Any]) -> contextvars.Token[str | None]:
    """Give this request its id (in the environ and the logging context)."""
    given = environ.get("HTTP_X_REQUEST_ID", "")
    rid = given if _SANE_ID.match(given) else secrets.token_hex(8)
    environ[REQUEST_ID_KEY] = rid
    return _REQUEST_ID.set(rid)


def end(token: contextvars.Token[str | None]) -> None:
    """Leave the request's logging context."""
    try:
        _REQUEST_ID.reset(token)
    except ValueError:  # another context (a generator finished elsewhere): nothing to restore
        pass


def request_id() -> str | None:
    """The current request's id, if any."""
    return _REQUEST_ID.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per record; ``record.fields`` (a dict, via ``extra``) is merged in."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        rid = request_id()
        if rid:
            out["request_id"] = rid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def init_app(app: Any) -> None:
    """Give the ``feedsvc`` loggers one stderr handler in the configured format (once per process)."""
    logger = logging.getLogger("feedsvc")
    logger.setLevel(app.config["LOG_LEVEL"])
    json_format = app.config["LOG_FORMAT"] == "json"
    for handler in logger.handlers:
        if getattr(handler, "_feedsvc", False):
            handler.setFormatter(JsonFormatter() if json_format else logging.Formatter(TEXT_FORMAT))
            return
    handler = logging.StreamHandler(sys.stderr)
    handler._feedsvc = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if json_format else logging.Formatter(TEXT_FORMAT))
    logger.addHandler(handler)


class GunicornLogger(glogging.Logger):
    """gunicorn's logger writing JSON lines: its own messages, and one object per request in the access log."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        fields = {
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING", ""),
            "status": int(status),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "remote": environ.get("REMOTE_ADDR"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "referer": environ.get("HTTP_REFERER"),
            "request_id": environ.get(REQUEST_ID_KEY),
        }
        try:
            self.access_log.info("request", extra={"fields": fields})
        except Exception:
            self.exception("access log failed")
