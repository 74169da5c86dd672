"""Query arguments of feed URLs, validated by marshmallow schemas (bad values: 400).

Unknown arguments are ignored (feed readers and trackers append their own), so a
subscription URL with ``utm_source`` still works.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate

from ..content.validate import LANG_RE
from ..errors import ApiError


class _Args(Schema):
    class Meta:
        unknown = EXCLUDE

    page = fields.Int(load_default=1, validate=validate.Range(min=1, error="must be a whole number >= 1"))
    lang = fields.Str(load_default=None, validate=validate.Regexp(
        LANG_RE, error="must be a language tag such as 'en' or 'pt-BR'"))


class FeedArgs(_Args):
    """``?page=N`` (RFC 5005 paging), ``?lang=xx``, ``?q=`` (search-result feed)."""

    q = fields.Str(load_default=None, validate=validate.Length(max=200, error="at most 200 characters"))

    @post_load
    def _blank_q(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("q") is not None and not data["q"].strip():
            data["q"] = None  # ?q= means no search, not an empty result
        elif data.get("q") is not None:
            data["q"] = " ".join(data["q"].split())
        return data


class ArchiveArgs(_Args):
    """``?page=N`` selects a part of a year holding more than FEEDSVC_FEED_SIZE posts; ``?lang=xx``."""


class OpmlArgs(Schema):
    """``?format=atom|rss|json``: which feed format the OPML lists (default Atom)."""

    class Meta:
        unknown = EXCLUDE

    format = fields.Str(load_default="atom", validate=validate.OneOf(["atom", "rss", "json"]))


def parse(schema: type[Schema], args: Mapping[str, str]) -> dict[str, Any]:
    """Load query arguments with ``schema``; every bad one is named in a 400 error."""
    try:
        return schema().load(dict(args))
    except ValidationError as exc:
        names = ", ".join(sorted(exc.messages)) if isinstance(exc.messages, dict) else "query"
        raise ApiError(400, "invalid_argument", f"invalid query argument(s): {names}", exc.messages) from None
