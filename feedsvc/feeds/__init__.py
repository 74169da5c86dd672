"""Feed routes (Atom, RSS, JSON Feed, iCalendar, OPML). PLACEHOLDER until issue 3 lands."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("feeds", __name__)
