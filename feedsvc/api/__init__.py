"""JSON API under /api/v1. PLACEHOLDER until issue 4 lands."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
