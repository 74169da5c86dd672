"""The LOAD schema of the listings' query strings: strict, every bad parameter reported.

One value per known parameter (a repeat is an error), ASCII digits only for numbers,
ISO 8601 dates read in the site's timezone; unknown parameters (cache busters) are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from ..content.markdown import xml_clean
from ..content.validate import LANG_RE


class _Repeated:
    """Stands for a parameter given more than once (rejected: which one wins is ambiguous)."""


_REPEATED = _Repeated()
_DIGITS = re.compile(r"[0-9]{1,18}", re.ASCII)
# ISO 8601 calendar date; RFC 3339 date-time whose offset may be left out (then the
# site's timezone applies). Field ranges are in the pattern so the OpenAPI states them.
_YMD = r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_DATE = re.compile(_YMD, re.ASCII)
_DATETIME = re.compile(_YMD + r"[Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
                       r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?", re.ASCII)
_RANGE = "must be from {min} to {max}"
#: Largest page number accepted; a page past the end but below this is a 404.
MAX_PAGE = 1_000_000


class _QueryField(fields.Field):
    """A query parameter: one value, given as text."""

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        if isinstance(value, _Repeated):
            raise ValidationError("given more than once; give it once")
        if isinstance(value, str) and value == "":
            raise ValidationError("must not be empty; leave the parameter out instead")
        return super().deserialize(value, attr, data, **kwargs)


class QueryInt(_QueryField, fields.Integer):
    """A whole number written with the ASCII digits 0-9 only (no sign, space, exponent)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValidationError("must be a whole number")
        if isinstance(value, int):
            return value
        if not _DIGITS.fullmatch(value):
            raise ValidationError("must be a whole number written with the digits 0-9 only")
        return int(value)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class QueryStr(_QueryField, fields.String):
    """Text without control characters (a stray newline would otherwise pass a `$` pattern)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if _CONTROL.search(text) or xml_clean(text) != text:
            raise ValidationError("must not contain control characters or non-characters")
        return text


@dataclass(frozen=True, slots=True)
class When:
    """A ``since``/``until`` bound as written, and the instants it covers (inclusive)."""

    text: str
    start: datetime
    end: datetime

    def __str__(self) -> str:  # the render cache keys on the text as written
        return self.text


class QueryWhen(_QueryField, fields.String):
    """An ISO 8601 date (a whole day in the site's timezone) or RFC 3339 date-time."""

    def __init__(self, tz: ZoneInfo | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tz = tz

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> When:  # type: ignore[override]
        text = super()._deserialize(value, attr, data, **kwargs)
        tz = self.tz or ZoneInfo("UTC")
        try:
            if _DATE.fullmatch(text):
                day = date.fromisoformat(text)
                start = datetime.combine(day, time(), tzinfo=tz)
                # The whole day: up to the last microsecond before the next midnight.
                end = (datetime.combine(day + timedelta(days=1), time(), tzinfo=tz) - timedelta(microseconds=1)
                       if day < date.max else datetime.combine(day, time.max, tzinfo=tz))
                return When(text, start, end)
            if _DATETIME.fullmatch(text):
                at = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
                at = at if at.tzinfo else at.replace(tzinfo=tz)
                at.timestamp()  # out-of-range instants (year 1 with an offset) fail here
                return When(text, at, at)
        except (ValueError, OverflowError):
            raise ValidationError("is not a real date or time") from None
        raise ValidationError("must be an ISO 8601 date (2021-04-01) or date-time (2021-04-01T09:30:00Z)")


_WHEN_RE = f"^({_DATE.pattern}|{_DATETIME.pattern})$"
_WHEN_DOC = ("ISO 8601 date (`2021-04-01`: the whole day in the site's timezone) or RFC 3339 date-time "
             "(`2021-04-01T09:30:00+02:00`; without an offset, in the site's timezone). Inclusive.")


class ListArgs(Schema):
    """Query parameters of the post listings. Unknown parameters (cache busters) are ignored."""

    class Meta:
        unknown = EXCLUDE

    page = QueryInt(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE, error=_RANGE),
                    metadata={"description": "Page number, from 1. A page past the end is a 404."})
    per_page = QueryInt(metadata={"description": "Posts per page."})
    category = QueryStr(validate=validate.Length(min=1, max=200),
                        metadata={"description": "Only posts in this category (slug, see /categories)."})
    tag = QueryStr(validate=validate.Length(min=1, max=200),
                   metadata={"description": "Only posts with this tag (slug, see /tags)."})
    lang = QueryStr(validate=[validate.Length(max=35, error="at most 35 characters"),
                              validate.Regexp(LANG_RE, error="must be a language tag such as `en` or `pt-BR`")],
                    metadata={"description": "Only posts in this language (BCP 47 tag)."})
    q = QueryStr(validate=validate.Length(min=1, max=200),
                 metadata={"description": "Full text: every word must occur in the title, summary or body "
                                          "(case and accent insensitive)."})
    since = QueryWhen(metadata={"description": "Published at or after. " + _WHEN_DOC, "pattern": _WHEN_RE})
    until = QueryWhen(metadata={"description": "Published at or before. " + _WHEN_DOC, "pattern": _WHEN_RE})
    updated_since = QueryWhen(metadata={"description": "Modified at or after. " + _WHEN_DOC, "pattern": _WHEN_RE})

    def __init__(self, *, per_page: int = 20, max_per_page: int = 100, tz: ZoneInfo | None = None,
                 categories: Sequence[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Limits come from the app's configuration, so this instance (and the OpenAPI
        # document built from it) states the deployment's real range and default.
        if "per_page" in self.fields:
            pp = self.fields["per_page"]
            pp.load_default = per_page
            pp.validators = [validate.Range(min=1, max=max_per_page, error=_RANGE)]
        if categories is not None and "category" in self.fields:
            self.fields["category"].validators = [validate.OneOf(
                list(categories), error="no such category; known: {choices}")]
        for name in ("since", "until", "updated_since"):
            if name in self.fields:
                self.fields[name].tz = tz  # type: ignore[attr-defined]

    @pre_load
    def _single_values(self, data: Any, **_: Any) -> dict[str, Any]:
        """A MultiDict (request.args) -> one value per known name, repeats flagged."""
        if not hasattr(data, "getlist"):
            return dict(data)
        out: dict[str, Any] = {}
        for name in self.load_fields:
            values = data.getlist(name)
            if len(values) > 1:
                out[name] = _REPEATED
            elif values:
                out[name] = values[0]
        return out


