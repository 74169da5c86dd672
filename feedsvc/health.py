"""/healthz: liveness, content version, and every content problem."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from flask import Blueprint, Response, jsonify
from werkzeug.exceptions import ServiceUnavailable

from .content import Problem
from .extensions import current_index, state
from .outbox import health_reasons

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Status, content version, post count and the files skipped with their reasons.

    Never an error: when no state of the database can be read in this worker (a file
    being rebuilt), ``degraded`` with the reason and what the last good state said.
    """
    try:
        idx = current_index()
        return _answer([*idx.degraded, *health_reasons()], idx.version, len(idx.posts), idx.problems)
    except (ServiceUnavailable, sqlite3.Error):
        live = state().live
        last = live.last_header
        reasons = [*(live.status.read() or ()), *health_reasons(),
                   f"index database {live.loader.database.path} cannot be read in this "
                   "worker now (answering from the last good content where it can)"]
        if last is None:
            return _answer(reasons, "", 0, ())
        return _answer(reasons, last.version, last.total, last.problems)


def _answer(reasons: Sequence[str], version: str, posts: int, problems: Sequence[Problem]) -> Response:
    resp = jsonify({
        "status": "degraded" if reasons else "ok",
        "reasons": list(dict.fromkeys(reasons)),
        "version": version,
        "posts": posts,
        "skipped": len({p.path for p in problems}),
        "problems": [{"path": p.path, "field": p.field, "message": p.message} for p in problems],
    })
    resp.headers["Cache-Control"] = "no-store"
    return resp
