"""The error raised for content that cannot be published."""

from __future__ import annotations


class ContentError(Exception):
    """A problem with one content file or site.yaml: which field, and what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
