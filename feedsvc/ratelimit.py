"""PLACEHOLDER: filled in by its owner this session (see /tmp/feedsvc-brief.md)."""

from __future__ import annotations

from typing import Any


def init_app(app: Any) -> None:
    """Install this module's hooks on the app."""
