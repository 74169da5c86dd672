"""/healthz: liveness, content version, and every content problem."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, jsonify

from .extensions import current_index
from .outbox import health_reasons

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """Status, content version, post count, the files skipped with their reasons, configuration problems,
    and the next scheduled change (a post's date or expiry, in the site's timezone; null: none)."""
    idx = current_index()
    nxt = idx.header.next_change
    reasons = [*idx.degraded, *health_reasons()]
    resp = jsonify({
        "status": "degraded" if reasons else "ok",
        "reasons": reasons,
        "version": idx.version,
        "posts": len(idx.posts),
        "skipped": len({p.path for p in idx.problems}),
        "problems": [{"path": p.path, "field": p.field, "message": p.message} for p in idx.problems],
        "next_change": None if nxt is None else datetime.fromtimestamp(nxt, idx.site.tz).isoformat(),
    })
    resp.headers["Cache-Control"] = "no-store"
    return resp
