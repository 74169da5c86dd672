"""JSON Feed 1.1 writer: marshmallow dump schemas, dumped with sorted keys.

Spec: https://www.jsonfeed.org/version/1.1/. JSON Feed has no archive or previous-page
relations, so RFC 5005 links and structured categories/tags go in the ``_feedsvc``
extension object (the spec reserves keys starting with ``_`` for extensions).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_dump

from ..canonical_json import to_json
from ..content import Author, Event
from .document import FeedDoc

VERSION = "https://jsonfeed.org/version/1.1"


class _FromDict(Schema):
    """Dumps the dicts ``write`` builds: a plain key lookup (marshmallow's general accessor
    tries item, then attribute access, for dotted paths too; none of these fields needs that)."""

    def get_attribute(self, obj: dict[str, Any], attr: str, default: Any) -> Any:
        """The value under ``attr``, or ``default`` (``missing``: the field is left out)."""
        return obj.get(attr, default)


class _Compact(_FromDict):
    """Drops null and empty values: JSON Feed readers expect absent keys, not nulls."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._keep = frozenset(f.data_key or name for name, f in self.fields.items() if f.required)

    @post_dump
    def _drop_empty(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        keep = self._keep  # required keys stay even when empty: "items": []
        return {k: v for k, v in data.items() if k in keep or (v is not None and v != [] and v != {})}


class AuthorSchema(_Compact):
    """JSON Feed 1.1 author object."""

    name = fields.Str(required=True)
    url = fields.Str()
    avatar = fields.Str()


class AttachmentSchema(_Compact):
    """JSON Feed attachment (url and mime_type are required)."""

    url = fields.Str(required=True)
    mime_type = fields.Str(required=True)
    title = fields.Str()
    size_in_bytes = fields.Int()


class TermSchema(_FromDict):
    """A category or tag with its slug (extension object; both required, so nothing to drop)."""

    slug = fields.Str(required=True)
    label = fields.Str(required=True)


class TranslationSchema(_FromDict):
    """Another version of the item's text (all four members required)."""

    lang = fields.Str(required=True)
    slug = fields.Str(required=True)
    url = fields.Str(required=True)
    title = fields.Str(required=True)


class ItemExtSchema(_Compact):
    """``_feedsvc`` on an item: structured categories, tags, event and the other versions of its text."""

    categories = fields.Nested(TermSchema, many=True)
    tags = fields.Nested(TermSchema, many=True)
    event = fields.Dict()
    translations = fields.Nested(TranslationSchema, many=True)


class ItemSchema(_Compact):
    """JSON Feed 1.1 item."""

    id = fields.Str(required=True)
    url = fields.Str()
    title = fields.Str()
    content_html = fields.Str()
    summary = fields.Str()
    image = fields.Str()
    date_published = fields.DateTime(format="iso")
    date_modified = fields.DateTime(format="iso")
    authors = fields.Nested(AuthorSchema, many=True)
    #: JSON Feed 1.0's ``author``, deprecated by 1.1 but allowed beside ``authors`` for 1.0 readers.
    author = fields.Nested(AuthorSchema)
    tags = fields.List(fields.Str())
    language = fields.Str()
    attachments = fields.Nested(AttachmentSchema, many=True)
    _feedsvc = fields.Nested(ItemExtSchema, data_key="_feedsvc")


class HubSchema(_FromDict):
    """JSON Feed hub (WebSub; both required, so nothing to drop)."""

    type = fields.Str(required=True)
    url = fields.Str(required=True)


class FeedExtSchema(_Compact):
    """``_feedsvc`` on the feed: id, updated date, archive flag, RFC 5005 links."""

    links = fields.Dict(keys=fields.Str(), values=fields.Str())
    archive = fields.Bool()
    updated = fields.DateTime(format="iso")
    id = fields.Str()


class JsonFeedSchema(_Compact):
    """The JSON Feed 1.1 top-level object."""

    version = fields.Str(required=True)
    title = fields.Str(required=True)
    home_page_url = fields.Str()
    feed_url = fields.Str()
    description = fields.Str()
    icon = fields.Str()
    favicon = fields.Str()
    authors = fields.Nested(AuthorSchema, many=True)
    author = fields.Nested(AuthorSchema)  # JSON Feed 1.0 (deprecated in 1.1, kept for 1.0 readers)
    language = fields.Str()
    hubs = fields.Nested(HubSchema, many=True)
    next_url = fields.Str()
    items = fields.Nested(ItemSchema, many=True, required=True)
    _feedsvc = fields.Nested(FeedExtSchema, data_key="_feedsvc")


#: One instance for every document: a schema holds no per-dump state, and building one
#: (with its nested schemas) costs more than a dump of a small feed.
_SCHEMA = JsonFeedSchema()


def _author(a: Author) -> dict[str, Any]:
    return {"name": a.name, "url": a.uri or (f"mailto:{a.email}" if a.email else None)}


def _event(ev: Event | None) -> dict[str, Any] | None:
    """The event's members as the API's event object has them (absent when empty)."""
    if ev is None:
        return None
    data: dict[str, Any] = {
        "start": ev.start.isoformat(),
        "end": ev.end.isoformat() if ev.end else None,
        "location": ev.location,
        "url": ev.url,
        "timezone": ev.timezone,
        "attendance": ev.mode,
        "registration_url": ev.registration_url,
        "languages": list(ev.languages),
        "all_day": ev.all_day,
    }
    return {k: v for k, v in data.items() if v}


def write(doc: FeedDoc) -> bytes:
    """The JSON Feed 1.1 document for ``doc`` (UTF-8, sorted keys: same content, same bytes)."""
    site = doc.site
    items = []
    for item, html in zip(doc.items, doc.contents(), strict=True):
        p = item.post
        cats = [{"slug": t.term, "label": t.label} for t in item.terms if t.scheme.endswith("/categories/")]
        tags = [{"slug": t.slug, "label": t.label} for t in p.tags]
        ev = p.event
        items.append(
            {
                "id": p.id,
                "url": item.url,
                "title": p.title,
                "content_html": html,
                "summary": p.summary or None,
                "image": p.image,
                "date_published": p.date,
                "date_modified": p.updated,
                "authors": [_author(p.author)],
                "author": _author(p.author),
                "tags": list(dict.fromkeys([c["label"] for c in cats] + [t["label"] for t in tags])),
                "language": p.lang,
                "attachments": [
                    {"url": a.url, "mime_type": a.mime_type, "title": a.title, "size_in_bytes": a.size_in_bytes}
                    for a in p.attachments
                ],
                "_feedsvc": {
                    "categories": cats,
                    "tags": tags,
                    "event": _event(ev),
                    "translations": [{"lang": t.lang, "slug": t.slug, "url": t.url, "title": t.title} for t in item.translations],
                },
            }
        )
    links = {lk.rel: lk.href for lk in doc.links if lk.rel != "hub"}
    data = {
        "version": VERSION,
        "title": doc.title,
        "home_page_url": doc.alternate_url,
        "feed_url": doc.self_url,
        "description": doc.subtitle or None,
        "icon": site.logo or site.icon,
        "favicon": site.icon,
        "authors": [_author(site.author)],
        "author": _author(site.author),
        "language": doc.language,
        "hubs": [{"type": "WebSub", "url": doc.hub}] if doc.hub else None,
        "next_url": doc.link("next"),
        "items": items,
        "_feedsvc": {"id": doc.id, "updated": doc.updated, "archive": doc.archive or None, "links": links},
    }
    body = _SCHEMA.dump(data)
    return to_json(body)  # canonical: same content, same bytes
