"""Marshmallow LOAD schemas for site.yaml and post front matter.

Input shapes are strict (unknown fields are errors, so a typo such as ``draf: true``
can never publish a draft); every error names the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates, validates_schema

from . import markdown
from .markdown import plain
from .slugs import slug_problem

LANG_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*\Z")
TWITTER_RE = re.compile(r"^@?[A-Za-z0-9_]{1,15}\Z")
#: Event attendance modes (schema.org eventAttendanceMode).
ATTENDANCE = ("online", "offline", "mixed")
#: Schemes a URL field may use: the web ones the body sanitiser also allows.
URL_SCHEMES = {"http", "https"} & markdown.URL_SCHEMES
AUTHORITY_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?,\d{4}(?:-\d{2}(?:-\d{2})?)?\Z")


def _slug(value: str) -> None:
    problem = slug_problem(value)
    if problem:
        raise ValidationError(problem)


_lang = validate.Regexp(LANG_RE, error="must be a language tag such as 'en' or 'pt-BR'")


def _visible(value: str) -> None:
    # "   " or a run of control characters would publish an empty title or name.
    if not plain(value):
        raise ValidationError("must contain visible text")


_text: list[Callable[[Any], Any]] = [validate.Length(min=1, max=1000), _visible]
_http = fields.Url(schemes={"http", "https"}, require_tld=False)


def parse_when(value: Any, tz: ZoneInfo) -> datetime:
    """ISO 8601 date or datetime -> aware datetime; a date alone is 00:00 in ``tz``.

    A datetime without an offset is read in ``tz`` too.
    :raises ValueError: when the value is not an ISO 8601 date or datetime.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            if len(text) == 10:
                parsed = datetime.combine(date.fromisoformat(text), time())
            else:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(f"not an ISO 8601 date or datetime: {value!r}") from None
    else:
        raise ValueError(f"not an ISO 8601 date or datetime: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


class When(fields.Field[Any]):
    """A date or datetime, kept raw here; the loader applies the site timezone."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            parse_when(value, ZoneInfo("UTC"))
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return value


class AuthorSchema(Schema):
    """An author given as a mapping."""

    class Meta:
        unknown = RAISE

    name = fields.Str(required=True, validate=_text)
    email = fields.Email(load_default=None)
    uri = _http.__class__(schemes={"http", "https"}, require_tld=False, load_default=None)


class AuthorField(fields.Field[Any]):
    """An author as a plain name or as {name, email, uri}."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                raise ValidationError("must not be empty")
            return {"name": value.strip(), "email": None, "uri": None}
        if isinstance(value, dict):
            return AuthorSchema().load(value)
        raise ValidationError("must be a name or a mapping with name, email, uri")


def _zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValidationError(f"unknown IANA timezone {value!r} (e.g. 'Europe/London')") from None


class CategorySchema(Schema):
    """A category declared in site.yaml."""

    class Meta:
        unknown = RAISE

    title = fields.Str(required=True, validate=_text)
    description = fields.Str(load_default="")


class SiteSchema(Schema):
    """site.yaml."""

    class Meta:
        unknown = RAISE

    title = fields.Str(required=True, validate=_text)
    subtitle = fields.Str(load_default="")
    base_url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    id_authority = fields.Str(
        required=True,
        validate=validate.Regexp(AUTHORITY_RE, error="must be 'domain,YYYY' (RFC 4151), e.g. 'example.org,2021'"),
    )
    language = fields.Str(load_default="en", validate=_lang)
    timezone = fields.Str(load_default="UTC", validate=_zone)
    author = AuthorField(required=True)
    icon = fields.Str(load_default=None)
    logo = fields.Str(load_default=None)
    rights = fields.Str(load_default=None)
    permalink = fields.Str(load_default=None)
    categories = fields.Dict(
        keys=fields.Str(validate=_slug), values=fields.Nested(CategorySchema), required=True,
        validate=validate.Length(min=1, error="declare at least one category"),
    )
    websub_hub = fields.Url(load_default=None, schemes={"http", "https"}, require_tld=False)
    twitter = fields.Str(load_default=None, validate=validate.Regexp(
        TWITTER_RE, error="must be a Twitter/X handle such as '@inpud' (letters, digits, '_', at most 15)"))
    redirects = fields.Dict(keys=fields.Str(), values=fields.Str(), load_default=dict)

    @validates("permalink")
    def _permalink(self, value: str | None, **kwargs: Any) -> None:
        if value is None:
            return
        if "{slug}" not in value:
            raise ValidationError("must contain {slug}, e.g. 'https://example.org/news/{slug}/'")
        try:
            value.format(slug="s", year="2021", month="01", day="01")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValidationError(f"only {{slug}}, {{year}}, {{month}}, {{day}} may be used ({exc})") from None
        if not re.match(r"^https?://", value):
            raise ValidationError("must be an absolute http(s) URL template")

    @validates("redirects")
    def _redirects(self, value: dict[str, str], **kwargs: Any) -> None:
        for old, new in value.items():
            if not old.startswith("/") or old.startswith("//"):
                raise ValidationError(f"retired path {old!r} must start with a single '/'")
            if not (new.startswith("/") or re.match(r"^https?://", new)):
                raise ValidationError(f"target of {old!r} must be a path or an http(s) URL")


class AttachmentSchema(Schema):
    """One attachment of a post."""

    class Meta:
        unknown = RAISE

    url = fields.Str(required=True, validate=_text)
    mime_type = fields.Str(
        required=True,
        validate=validate.Regexp(r"^[\w.+-]+/[\w.+-]+\Z", error="must be a MIME type such as 'application/pdf'"),
    )
    size_in_bytes = fields.Int(load_default=None, strict=True, validate=validate.Range(min=0))
    title = fields.Str(load_default=None)


class EventSchema(Schema):
    """When and where an event takes place."""

    class Meta:
        unknown = RAISE

    start = When(required=True)
    end = When(load_default=None)
    location = fields.Str(load_default=None)
    url = fields.Url(load_default=None, schemes={"http", "https"}, require_tld=False)
    timezone = fields.Str(load_default=None, validate=_zone)
    attendance = fields.Str(load_default=None, validate=validate.OneOf(ATTENDANCE))
    registration_url = fields.Url(load_default=None, schemes=URL_SCHEMES, require_tld=False)
    languages = fields.List(fields.Str(validate=_lang), load_default=list,
                            validate=validate.Length(max=50, error="at most 50 languages"))


class PostSchema(Schema):
    """A post's front matter."""

    class Meta:
        unknown = RAISE

    title = fields.Str(required=True, validate=_text)
    date = When(required=True)
    updated = When(load_default=None)
    slug = fields.Str(load_default=None, validate=_slug)
    categories = fields.List(fields.Str(validate=_slug), required=True,
                             validate=validate.Length(min=1, error="list at least one category"))
    tags = fields.List(fields.Str(validate=[validate.Length(min=1, max=100), _visible]), load_default=list,
                       validate=validate.Length(max=200, error="at most 200 tags"))
    summary = fields.Str(load_default=None)
    author = AuthorField(load_default=None)
    lang = fields.Str(load_default=None, validate=_lang)
    draft = fields.Bool(load_default=False, truthy={True}, falsy={False})
    image = fields.Str(load_default=None, validate=_text)
    image_alt = fields.Str(load_default=None, validate=_text)
    attachments = fields.List(fields.Nested(AttachmentSchema), load_default=list)
    event = fields.Nested(EventSchema, load_default=None)
    id = fields.Str(load_default=None, validate=_text)
    aliases = fields.List(fields.Str(validate=_slug), load_default=list)
    translation_of = fields.Str(load_default=None, validate=_slug)

    @validates_schema
    def _dates(self, data: dict[str, Any], **kwargs: Any) -> None:
        event = data.get("event")
        if event and event.get("end") is not None:
            utc = ZoneInfo("UTC")
            if parse_when(event["end"], utc) < parse_when(event["start"], utc):
                raise ValidationError("end is before start", "event")


def first_error(messages: Any, prefix: str = "") -> tuple[str, str]:
    """Flatten marshmallow's nested error dict to the first (field path, message)."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = "" if key == "_schema" else str(key)
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            return first_error(value, path)
    if isinstance(messages, list) and messages:
        return first_error(messages[0], prefix)
    return prefix or "front matter", str(messages)


def all_errors(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Flatten marshmallow's nested error dict to every (field path, message)."""
    out: list[tuple[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = "" if key == "_schema" else str(key)
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            out.extend(all_errors(value, path))
    elif isinstance(messages, list):
        for item in messages:
            out.extend(all_errors(item, prefix))
    else:
        out.append((prefix or "front matter", str(messages)))
    return out
