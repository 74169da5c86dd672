"""Query arguments of feed URLs, validated by marshmallow schemas (bad values: 400).

Unknown arguments are ignored (feed readers and trackers append their own), so a
subscription URL with ``utm_source`` still works.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate
from werkzeug.datastructures import MultiDict

from ..content.markdown import xml_clean
from ..content.validate import LANG_RE
from ..errors import ApiError, validation_details

_DIGITS = re.compile(r"[0-9]{1,18}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _no_control(value: str) -> None:
    # XML cannot carry them (a search term lands in the feed title), and no reader sends them.
    if _CONTROL.search(value) or xml_clean(value) != value:
        raise ValidationError("must not contain control characters or non-characters")


class PageNumber(fields.Integer):
    """A page number in ASCII digits only: '+1', ' 1', '1e3' or '٣' are errors, never a guess."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or not _DIGITS.fullmatch(value):
            raise ValidationError("must be a whole number >= 1 in ASCII digits")
        return super()._deserialize(value, attr, data, **kwargs)


class _Args(Schema):
    class Meta:
        unknown = EXCLUDE

    page = PageNumber(load_default=1, validate=validate.Range(min=1, error="must be a whole number >= 1"))
    lang = fields.Str(load_default=None, validate=[
        _no_control, validate.Length(max=35, error="at most 35 characters"),
        validate.Regexp(LANG_RE, error="must be a language tag such as 'en' or 'pt-BR'")])


class FeedArgs(_Args):
    """``?page=N`` (RFC 5005 paging), ``?lang=xx``, ``?q=`` (search-result feed)."""

    q = fields.Str(load_default=None, validate=[_no_control,
                                                validate.Length(max=200, error="at most 200 characters")])

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


@cache
def _instance(schema: type[Schema]) -> Schema:
    # Building a Schema copies its declared fields: do it once per class, not per request.
    return schema()


def parse(schema: type[Schema], args: MultiDict[str, str]) -> dict[str, Any]:
    """Load query arguments with ``schema``; every bad one is named in a 400 error.

    The error shape is the API's (``invalid_parameters``, details ``[{name, reason}]``);
    a known argument given twice is an error too (which one wins would be a guess).
    """
    loader = _instance(schema)
    data: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name in args:
        values = args.getlist(name)
        if name in loader.fields and len(values) > 1:
            errors[name] = ["given more than once"]
        data[name] = values[0]
    try:
        loaded = loader.load(data)
    except ValidationError as exc:
        errors = {**exc.messages, **errors} if isinstance(exc.messages, dict) else errors
        loaded = None
    if errors or loaded is None:
        details = validation_details(ValidationError(errors))
        names = sorted({d["name"] for d in details})
        raise ApiError(400, "invalid_parameters",
                       f"invalid parameter{'s' if len(names) > 1 else ''}: {', '.join(names)}", details)
    return loaded
