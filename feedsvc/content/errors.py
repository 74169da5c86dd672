"""feedsvc's exception family (``FeedsvcError`` and its branches), and the bound on what a content problem says.

A leaf of the pure core, so every layer can raise and catch these: ``errors.py`` alone
answers the ``NotFound`` branch with 404 (``Gone``, 410).
"""

from __future__ import annotations

#: Longest message a content problem carries (the rest is cut): a message may quote a
#: value, and it goes to /healthz, the log, the database and ``content check``.
MAX_MESSAGE = 300


def bounded(message: str, limit: int = MAX_MESSAGE) -> str:
    """``message`` cut to at most ``limit`` characters, ending with an ellipsis when cut."""
    return message if len(message) <= limit else message[: limit - 1] + "\u2026"


class FeedsvcError(Exception):
    """The root of every error feedsvc raises on purpose."""


class NotFound(FeedsvcError, LookupError):
    """What a request names does not exist: a post, a scope, a page past the end (answered 404)."""


class Gone(NotFound):
    """What a request names existed and was withdrawn for good: a post past its ``expires`` (answered 410)."""


class NoContentYet(FeedsvcError, LookupError):
    """The index database holds no content yet: another process is writing its first load (waited for)."""


class ContentUnavailable(FeedsvcError):
    """No good state of the database can be read in this process right now (answered 503, retried)."""


class SearchNotReady(FeedsvcError):
    """A search while the full text of a large load is still being written (answered 503, retried)."""


class ContentError(FeedsvcError):
    """A problem with one content file or site.yaml: which field, and what is wrong (bounded)."""

    def __init__(self, field: str, message: str) -> None:
        field, message = bounded(field, 100), bounded(message)
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
