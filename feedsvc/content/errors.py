"""The error raised for content that cannot be published, and the bound on what it says."""

from __future__ import annotations

#: Longest message a content problem carries (the rest is cut): a message may quote a
#: value, and it goes to /healthz, the log, the database and ``content check``.
MAX_MESSAGE = 300


def bounded(message: str, limit: int = MAX_MESSAGE) -> str:
    """``message`` cut to at most ``limit`` characters, ending with an ellipsis when cut."""
    return message if len(message) <= limit else message[:limit - 1] + "\u2026"


class ContentError(Exception):
    """A problem with one content file or site.yaml: which field, and what is wrong (bounded)."""

    def __init__(self, field: str, message: str) -> None:
        field, message = bounded(field, 100), bounded(message)
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
