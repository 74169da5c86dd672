"""HTML pages: /, /posts/<slug>, /categories/<slug>, /tags/<tag>, /embed, /embed.js.

PLACEHOLDER until issue 3/8 land.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__)
