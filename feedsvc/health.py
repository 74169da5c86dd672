"""/healthz: liveness, content version, and every content problem."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from flask import Blueprint, Response, jsonify
from werkzeug.exceptions import ServiceUnavailable

from .content import Problem
from .extensions import current_index, state
from .outbox import health_reasons

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Status, content version, post count, the files skipped with their reasons, configuration problems,
    and the next scheduled change (a post's date or expiry, in the site's timezone; null: none).

    Never an error: when no state of the database can be read in this worker (a file
    being rebuilt), ``degraded`` with the reason and what the last good state said.
    """
    stalled = state().live.stalled()
    try:
        idx = current_index()
        nxt = idx.header.next_change
        reasons = [*idx.degraded, *health_reasons(idx.site), *([stalled] if stalled else [])]
        waiting = idx.search_waiting()
        if waiting:
            reasons.append(
                f"search: the full-text index is being built after a large load ({waiting} posts to go); "
                "searches answer 503 until then"
            )
        return _answer(
            reasons,
            idx.version,
            len(idx.posts),
            idx.problems,
            None if nxt is None else datetime.fromtimestamp(nxt, idx.site.tz).isoformat(),
        )
    except (ServiceUnavailable, sqlite3.Error):
        live = state().live
        last = live.last_header
        reasons = [
            *(live.status.read() or ()),
            *health_reasons(),
            *([stalled] if stalled else []),
            f"index database {live.loader.database.path} cannot be read in this "
            "worker now (answering from the last good content where it can)",
        ]
        if last is None:
            return _answer(reasons, "", 0, (), None)
        return _answer(reasons, last.version, last.total, last.problems, None)


def _answer(reasons: Sequence[str], version: str, posts: int, problems: Sequence[Problem], next_change: str | None) -> Response:
    resp = jsonify(
        {
            "status": "degraded" if reasons else "ok",
            "reasons": list(dict.fromkeys(reasons)),
            "version": version,
            "posts": posts,
            "skipped": len({p.path for p in problems}),
            "problems": [{"path": p.path, "field": p.field, "message": p.message} for p in problems],
            "next_change": next_change,
        }
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp
