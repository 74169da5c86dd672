"""Marshmallow LOAD schemas for site.yaml and post front matter.

Input shapes are strict (unknown fields are errors, so a typo such as ``draf: true``
can never publish a draft); every error names the field.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from . import values
from .quickload import QuickLoad, QuickNested
from .slugs import slug_problem

LANG_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*\Z")
TWITTER_RE = re.compile(r"^@?[A-Za-z0-9_]{1,15}\Z")
#: Event attendance modes (schema.org eventAttendanceMode).
ATTENDANCE = ("online", "offline", "mixed")
AUTHORITY_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?,\d{4}(?:-\d{2}(?:-\d{2})?)?\Z")


def _slug(value: str) -> None:
    problem = slug_problem(value)
    if problem:
        raise ValidationError(problem)


UTC_ZONE = ZoneInfo("UTC")
_lang = validate.Regexp(LANG_RE, error="must be a language tag such as 'en' or 'pt-BR'")


class Text(fields.String):
    """Free text: control characters cleaned, bidi controls and invisible-only values refused, length capped.

    ``blank``: whether an optional value may be empty or spaces (as if it were not given).
    """

    def __init__(self, max_length: int, blank: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length
        self.blank = blank

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return values.clean_text(text, self.max_length, required=self.required or not self.blank)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class Link(fields.String):
    """A URL: the body's scheme allow-list (or ``schemes``), no spaces or control characters.

    ``absolute``: a scheme and host are required (else a path is resolved against base_url).
    """

    def __init__(self, absolute: bool = False, schemes: frozenset[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.absolute = absolute
        self.schemes = schemes

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        url = super()._deserialize(value, attr, data, **kwargs)
        problem = values.url_problem(url, self.schemes, self.absolute)
        if problem:
            raise ValidationError(problem)
        return url


_HTTP = frozenset({"http", "https"})


def _http(**kwargs: Any) -> Link:
    return Link(absolute=True, schemes=_HTTP, validate=validate.URL(schemes=set(_HTTP), require_tld=False), **kwargs)


def _title(**kwargs: Any) -> Text:
    return Text(values.TITLE_MAX, **kwargs)


class When(fields.Field[Any]):
    """A date or datetime, kept raw here; the loader applies the site timezone."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            values.parse_when(value, UTC_ZONE)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return value


class AuthorSchema(Schema):
    """An author given as a mapping."""

    class Meta:
        unknown = RAISE

    name = Text(values.NAME_MAX, required=True)
    email = fields.Email(load_default=None, validate=validate.Length(max=values.NAME_MAX))
    uri = _http(load_default=None)


_AUTHOR = QuickLoad(AuthorSchema())


class AuthorField(fields.Field[Any]):
    """An author as a plain name or as {name, email, uri}."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            try:
                name = values.clean_text(value, values.NAME_MAX, required=True)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None
            return {"name": name.strip(), "email": None, "uri": None}
        if isinstance(value, dict):
            return _AUTHOR.load(value)
        raise ValidationError("must be a name or a mapping with name, email, uri")


def _zone(value: str) -> None:
    problem = values.zone_problem(value)
    if problem:
        raise ValidationError(problem)


class CategorySchema(Schema):
    """A category declared in site.yaml."""

    class Meta:
        unknown = RAISE

    title = _title(required=True)
    description = Text(values.SUMMARY_MAX, load_default="")


class FediverseSchema(Schema):
    """site.yaml ``fediverse``: the ActivityPub actor's username, one actor per language or not."""

    class Meta:
        unknown = RAISE

    username = fields.Str(
        required=True,
        validate=validate.Regexp(r"^[a-z0-9_]{1,30}\Z", error="must be 1 to 30 lowercase letters, digits or '_' (e.g. 'news')"),
    )
    per_language = fields.Bool(load_default=False)


class SiteSchema(Schema):
    """site.yaml."""

    class Meta:
        unknown = RAISE

    title = _title(required=True)
    subtitle = Text(values.SUMMARY_MAX, load_default="")
    base_url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    id_authority = fields.Str(
        required=True,
        validate=validate.Regexp(AUTHORITY_RE, error="must be 'domain,YYYY' (RFC 4151), e.g. 'example.org,2021'"),
    )
    language = fields.Str(load_default="en", validate=_lang)
    timezone = fields.Str(load_default="UTC", validate=_zone)
    author = AuthorField(required=True)
    icon = Link(load_default=None)
    logo = Link(load_default=None)
    rights = Text(values.TITLE_MAX, load_default=None)
    permalink = Link(absolute=True, schemes=_HTTP, load_default=None)
    categories = fields.Dict(
        keys=fields.Str(validate=_slug),
        values=fields.Nested(CategorySchema),
        required=True,
        validate=validate.Length(min=1, error="declare at least one category"),
    )
    websub_hub = _http(load_default=None)
    twitter = fields.Str(
        load_default=None,
        validate=validate.Regexp(
            TWITTER_RE, error="must be a Twitter/X handle such as '@inpud' (letters, digits, '_', at most 15)"
        ),
    )
    redirects = fields.Dict(keys=fields.Str(), values=fields.Str(), load_default=dict)
    fediverse = fields.Nested(FediverseSchema, load_default=None)

    @validates("permalink")
    def _permalink(self, value: str | None, **kwargs: Any) -> None:
        if value is None:
            return
        if "{slug}" not in value:
            raise ValidationError("must contain {slug}, e.g. 'https://example.org/news/{slug}/'")
        problem = values.permalink_problem(value)
        if problem:
            raise ValidationError(problem)

    @validates("redirects")
    def _redirects(self, value: dict[str, str], **kwargs: Any) -> None:
        for old, new in value.items():
            if not old.startswith("/") or old.startswith("//"):
                raise ValidationError(f"retired path {old!r} must start with a single '/'")
            if not (new.startswith("/") or re.match(r"^https?://", new)):
                raise ValidationError(f"target of {old!r} must be a path or an http(s) URL")
            problem = values.url_problem(old) or values.url_problem(new, _HTTP)
            if problem:
                raise ValidationError(f"{old!r}: {problem}")


class AttachmentSchema(Schema):
    """One attachment of a post."""

    class Meta:
        unknown = RAISE

    url = Link(required=True)
    mime_type = fields.Str(
        required=True,
        validate=validate.Regexp(r"^[\w.+-]+/[\w.+-]+\Z", error="must be a MIME type such as 'application/pdf'"),
    )
    size_in_bytes = fields.Int(load_default=None, strict=True, validate=validate.Range(min=0))
    title = _title(load_default=None)


class EventSchema(Schema):
    """When and where an event takes place."""

    class Meta:
        unknown = RAISE

    start = When(required=True)
    end = When(load_default=None)
    location = Text(values.LOCATION_MAX, load_default=None)
    url = _http(load_default=None)
    timezone = fields.Str(load_default=None, validate=_zone)
    attendance = fields.Str(load_default=None, validate=validate.OneOf(ATTENDANCE))
    registration_url = _http(load_default=None)
    languages = fields.List(
        fields.Str(validate=_lang), load_default=list, validate=validate.Length(max=50, error="at most 50 languages")
    )


class PostSchema(Schema):
    """A post's front matter."""

    class Meta:
        unknown = RAISE

    title = _title(required=True)
    date = When(required=True)
    updated = When(load_default=None)
    expires = When(load_default=None)
    slug = fields.Str(load_default=None, validate=_slug)
    categories = fields.List(
        fields.Str(validate=_slug), required=True, validate=validate.Length(min=1, error="list at least one category")
    )
    tags = fields.List(
        Text(values.TAG_MAX, required=True), load_default=list, validate=validate.Length(max=200, error="at most 200 tags")
    )
    summary = Text(values.SUMMARY_MAX, load_default=None)
    author = AuthorField(load_default=None)
    lang = fields.Str(load_default=None, validate=_lang)
    draft = fields.Bool(load_default=False, truthy={True}, falsy={False})
    image = Link(load_default=None)
    image_alt = Text(values.TITLE_MAX, load_default=None)
    attachments = fields.List(QuickNested(AttachmentSchema), load_default=list)
    event = QuickNested(EventSchema, load_default=None)
    id = Text(values.ID_MAX, blank=False, load_default=None)
    aliases = fields.List(fields.Str(validate=_slug), load_default=list)
    translation_of = fields.Str(load_default=None, validate=_slug)


#: marshmallow's message for a key no field declares (gathered as a set: in no fixed order).
_UNKNOWN = [Schema().error_messages["unknown"]]


def _in_order(messages: dict[Any, Any]) -> list[tuple[Any, Any]]:
    """The errors of one level: the declared fields' in marshmallow's order, then the unknown keys by name.

    marshmallow finds unknown keys as ``set(data) - fields``, whose order follows the
    process's hash seed: without sorting, a restart could name another field of one file.
    """
    known = [(k, v) for k, v in messages.items() if v != _UNKNOWN]
    return known + sorted(((k, v) for k, v in messages.items() if v == _UNKNOWN), key=lambda kv: str(kv[0]))


def first_error(messages: Any, prefix: str = "") -> tuple[str, str]:
    """Flatten marshmallow's nested error dict to the first (field path, message)."""
    if isinstance(messages, dict):
        for key, value in _in_order(messages):
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
        for key, value in _in_order(messages):
            name = "" if key == "_schema" else str(key)
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            out.extend(all_errors(value, path))
    elif isinstance(messages, list):
        for item in messages:
            out.extend(all_errors(item, prefix))
    else:
        out.append((prefix or "front matter", str(messages)))
    return out
