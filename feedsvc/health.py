"""/healthz: liveness, content version, and every content problem."""

from __future__ import annotations

from flask import Blueprint, jsonify

from .extensions import current_index

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """Status, content version, post count and the files skipped with their reasons."""
    idx = current_index()
    resp = jsonify({
        "status": "degraded" if idx.degraded else "ok",
        "reasons": list(idx.degraded),
        "version": idx.version,
        "posts": len(idx.posts),
        "skipped": len({p.path for p in idx.problems}),
        "problems": [{"path": p.path, "field": p.field, "message": p.message} for p in idx.problems],
    })
    resp.headers["Cache-Control"] = "no-store"
    return resp
