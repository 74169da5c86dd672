"""The query arguments of the API listings and the feeds: one definition, one rule each, one error path.

Shared by ``/api/v1/…/posts`` and every ``/feeds/…`` document: ``page``, ``lang``, ``q``,
``tag``, ``category``, ``since``/``until`` (the feeds take ``page``, ``lang`` and ``q``; the
scope of a feed is in its path). The rules, the same wherever an argument is accepted:

- unknown arguments are ignored (cache busters, ``utm_source``);
- a known argument given twice is a 400 (which one wins would be a guess);
- an empty value (``?q=``, ``?page=``, ``?lang=``) or a blank ``q`` is a 400: leave it out instead;
- numbers are ASCII digits only (``+1``, `` 1``, ``1e3``, ``٣`` are 400); ``page`` is 1…1,000,000
  (outside: 400), and a page past the end of the list is a 404;
- text has no control characters or non-characters; ``q`` is at most 200 characters, its
  whitespace folded; ``lang`` is a BCP 47 tag of at most 35 characters.

``load`` raises marshmallow's ``ValidationError`` naming every bad argument; the app's one
handler (``errors.py``) answers it with the JSON error shape, for the API and the feeds alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from .content.markdown import xml_clean
from .content.validate import LANG_RE
from .formats import FEEDS

if TYPE_CHECKING:
    from .content import Index

#: Largest page number accepted; a page past the end but below this is a 404.
MAX_PAGE = 1_000_000
#: Longest search text, in characters.
MAX_Q = 200
_DIGITS = re.compile(r"[0-9]{1,18}", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# ISO 8601 calendar date; RFC 3339 date-time whose offset may be left out (then the
# site's timezone applies). Field ranges are in the pattern so the OpenAPI states them
# (years 0001-9999: there is no year 0 to read).
_YMD = r"(?!0000)[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_DATE = re.compile(_YMD, re.ASCII)
_DATETIME = re.compile(
    _YMD + r"[Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?",
    re.ASCII,
)
_RANGE = "must be from {min} to {max}"
EMPTY = "must not be empty; leave the parameter out instead"
REPEATED = "given more than once; give it once"


class _Repeated:
    """Stands for a parameter given more than once (rejected: which one wins is ambiguous)."""


_REPEATED = _Repeated()


def past_the_end(page: int, total_pages: int) -> str:
    """The one 404 message of a page past the end of a list (API pages, feed pages, calendars)."""
    return f"page {page} does not exist; this list has {total_pages} page(s)"


class _QueryField(fields.Field[Any]):
    """A query parameter: one value, given as text, never empty."""

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        if isinstance(value, _Repeated):
            raise ValidationError(REPEATED)
        if isinstance(value, str) and value == "":
            raise ValidationError(EMPTY)
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


class QueryStr(_QueryField, fields.String):
    """Text without control characters (a stray newline would otherwise pass a `$` pattern)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if _CONTROL.search(text) or xml_clean(text) != text:
            raise ValidationError("must not contain control characters or non-characters")
        return text


class SearchText(QueryStr):
    """``q``: at most MAX_Q characters, whitespace folded (``"a  b "`` is ``"a b"``), never blank."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > MAX_Q:
            raise ValidationError(f"at most {MAX_Q} characters")
        folded = " ".join(text.split())
        if not folded:
            raise ValidationError(EMPTY)
        return folded


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
                end = (
                    datetime.combine(day + timedelta(days=1), time(), tzinfo=tz) - timedelta(microseconds=1)
                    if day < date.max
                    else datetime.combine(day, time.max, tzinfo=tz)
                )
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
_WHEN_DOC = (
    "ISO 8601 date (`2021-04-01`: the whole day in the site's timezone) or RFC 3339 date-time "
    "(`2021-04-01T09:30:00+02:00`; without an offset, in the site's timezone). Inclusive."
)
_RULES = " Empty, or given twice: 400."


class QueryArgs(Schema):
    """The arguments every listing takes: ``page``, ``lang``, ``q``. Unknown ones are ignored."""

    class Meta:
        unknown = EXCLUDE

    page = QueryInt(
        load_default=1,
        validate=validate.Range(min=1, max=MAX_PAGE, error=_RANGE),
        metadata={"description": f"Page number, 1 to {MAX_PAGE} (ASCII digits). A page past the end is a 404." + _RULES},
    )
    lang = QueryStr(
        validate=[
            validate.Length(max=35, error="at most 35 characters"),
            validate.Regexp(LANG_RE, error="must be a language tag such as `en` or `pt-BR`"),
        ],
        metadata={"description": "Only posts in this language (BCP 47 tag, case-insensitive)." + _RULES},
    )
    q = SearchText(
        metadata={
            "description": f"Full text, at most {MAX_Q} characters (whitespace folded, not blank): "
            "every word must occur in the title, summary or body (case and accent "
            "insensitive)." + _RULES,
            "minLength": 1,
            "maxLength": MAX_Q,
            "pattern": r"\S",
        }
    )

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


class FeedArgs(QueryArgs):
    """A feed: ``?page=N`` (RFC 5005 paging), ``?lang=xx``, ``?q=`` (a search-result feed)."""


class ArchiveArgs(QueryArgs):
    """An archive: ``?page=N`` (a part of a year with more than FEEDSVC_FEED_SIZE posts), ``?lang=xx``."""

    class Meta(QueryArgs.Meta):
        exclude = ("q",)  # archives are of whole feeds, not of searches (an archive ignores q)


class OpmlArgs(QueryArgs):
    """The OPML list: ``?format=atom|rss|json`` (default Atom)."""

    class Meta(QueryArgs.Meta):
        exclude = ("page", "lang", "q")

    format = QueryStr(load_default="atom", validate=validate.OneOf(list(FEEDS)))


class ListArgs(QueryArgs):
    """The API's post listings: the shared arguments, filters, ``per_page`` and ``updated_since``."""

    per_page = QueryInt(metadata={"description": "Posts per page." + _RULES})
    category = QueryStr(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Only posts in this category (slug, see /categories)." + _RULES},
    )
    tag = QueryStr(
        validate=validate.Length(min=1, max=200), metadata={"description": "Only posts with this tag (slug, see /tags)." + _RULES}
    )
    since = QueryWhen(metadata={"description": "Published at or after. " + _WHEN_DOC + _RULES, "pattern": _WHEN_RE})
    until = QueryWhen(metadata={"description": "Published at or before. " + _WHEN_DOC + _RULES, "pattern": _WHEN_RE})
    updated_since = QueryWhen(metadata={"description": "Modified at or after. " + _WHEN_DOC + _RULES, "pattern": _WHEN_RE})

    def __init__(
        self,
        *,
        per_page: int = 20,
        max_per_page: int = 100,
        tz: ZoneInfo | None = None,
        categories: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # Limits come from the app's configuration, so this instance (and the OpenAPI
        # document built from it) states the deployment's real range and default.
        if "per_page" in self.fields:
            pp = self.fields["per_page"]
            pp.load_default = per_page
            pp.validators = [validate.Range(min=1, max=max_per_page, error=_RANGE)]
        if categories is not None and "category" in self.fields:
            self.fields["category"].validators = [validate.OneOf(list(categories), error="no such category; known: {choices}")]
        for name in ("since", "until", "updated_since"):
            if name in self.fields:
                self.fields[name].tz = tz  # type: ignore[attr-defined]


@cache
def _instance(schema: type[Schema]) -> Schema:
    # Building a Schema copies its declared fields: do it once per class, not per request.
    return schema()


def load(schema: Schema | type[Schema], args: Mapping[str, Any]) -> dict[str, Any]:
    """The validated arguments; a ``ValidationError`` (a 400 naming every bad one) otherwise."""
    loader = _instance(schema) if isinstance(schema, type) else schema
    loaded: dict[str, Any] = loader.load(args)
    return loaded


def names_nothing(index: Index, args: Mapping[str, Any]) -> bool:
    """Whether the validated ``tag`` or ``lang`` names no tag or language any post has.

    Such a request is valid (an empty list, an empty feed) but no link produces it: the
    render cache files it with the long tail (``caching.render``'s ``long_tail``), so a
    client asking for a new made-up tag each time cannot push out what readers poll.
    """
    tag, lang = args.get("tag"), args.get("lang")
    if tag is not None and index.tag_slug(tag) is None:
        return True
    return isinstance(lang, str) and bool(lang) and index.canonical_lang(lang) not in index.languages
