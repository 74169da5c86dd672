"""Marshmallow schemas of the JSON API: the one source of truth for the API and its OpenAPI.

DUMP schemas serialise the model (Post, Category, Tag, page envelope); the error shape
comes from ``errors.py`` and the LOAD schema ``ListArgs`` (query strings) from ``args.py``,
both re-exported here. Optional members are OMITTED when they have no value (never
``null``): the schemas mark every always-present member ``required`` so the OpenAPI
document says exactly which ones may be missing.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from marshmallow import Schema, fields, validate
from marshmallow.experimental.context import Context
from marshmallow.utils import get_value

from .. import urls
from ..args import ListArgs, When  # re-exported: the LOAD schema of the listings (shared with the feeds)
from ..content import CategoryInfo, Index, Post, Site, TagInfo
from ..errors import ErrorBodySchema, ErrorDetailSchema, ErrorSchema  # re-exported: the error shape
from ..formats import ALL

__all__ = ["ErrorBodySchema", "ErrorDetailSchema", "ErrorSchema", "ListArgs", "PostSchema", "When", "dump_post"]


class DumpContext(TypedDict):
    """What the dump schemas need besides the object: the site, for absolute URLs, and the
    index, for a post's translations (without one a post lists none)."""

    site: Site
    index: NotRequired[Index | None]


ApiContext = Context[DumpContext]


def _site() -> Site:
    return ApiContext.get()["site"]


class _DumpSchema(Schema):
    """Base of the dump schemas: reads a plain attribute of a model object with one getattr.

    (marshmallow's default accessor tries ``obj[name]`` first; a dotted ``attribute`` or a
    mapping, such as the page envelope, still goes through it.)
    """

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        if "." in attr or hasattr(obj, "__getitem__"):
            return get_value(obj, attr, default)
        return getattr(obj, attr, default)


class _OmitNone(_DumpSchema):
    """Optional members are absent, never null: a member whose value is None is left out.

    A None value reads as ``missing``, which marshmallow leaves out of the output (the
    members' fields have no ``dump_default``; ``Computed`` members never are None).
    """

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        value = super().get_attribute(obj, attr, default)
        return default if value is None else value


# -- dump schemas ---------------------------------------------------------------------------
class AuthorSchema(_OmitNone):
    """The post's author (no e-mail address: it is never published by the API)."""

    name = fields.Str(required=True)
    uri = fields.Url(metadata={"description": "Home page of the author, when known."})


class TagRefSchema(_DumpSchema):
    """A tag on a post: its label as written and its URL-safe slug (the `tag` filter value)."""

    tag = fields.Str(required=True, attribute="label", metadata={"description": "Label as written."})
    slug = fields.Str(required=True, metadata={"description": "Value for the `tag` filter."})


class AttachmentSchema(_OmitNone):
    """A file published with the post."""

    url = fields.Url(required=True)
    mime_type = fields.Str(required=True)
    size_in_bytes = fields.Int(validate=validate.Range(min=0))
    title = fields.Str()


class EventSchema(_OmitNone):
    """When and where an event post takes place."""

    start = fields.DateTime(required=True, format="iso")
    end = fields.DateTime(format="iso")
    location = fields.Str()
    url = fields.Url()
    timezone = fields.Str(metadata={"description": "IANA zone the times were written in."})
    attendance = fields.Str(
        required=True,
        attribute="mode",
        validate=validate.OneOf(["online", "offline", "mixed"]),
        metadata={
            "description": "How people attend: as the front matter's `attendance` says, "
            "else online when the location is a URL (or empty with `url` set), offline "
            "when it names a place, mixed when it names a place and `url` is set."
        },
    )
    registration_url = fields.Url(metadata={"description": "Where to register, when it is not `url`."})
    languages = fields.List(
        fields.Str(),
        metadata={"description": "Interpretation languages (language tags), in the editor's order; absent when none."},
    )

    all_day = fields.Bool(
        metadata={
            "description": "`true` when the event is given by dates alone: whole days from `start`'s date "
            "to `end`'s (inclusive), `start` and `end` being midnight in the site's or the event's zone; absent otherwise."
        }
    )

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        value = super().get_attribute(obj, attr, default)
        # No languages, not all day: the member is absent.
        return default if attr in ("languages", "all_day") and not value else value


def Computed(kind: type[fields.Field[Any]], getter: Any, **kwargs: Any) -> fields.Field[Any]:
    """A field of type ``kind`` whose value is ``getter(parent)`` (so OpenAPI knows its type)."""

    class _Computed(kind):  # type: ignore[valid-type,misc]
        def serialize(self, attr: str, obj: Any, accessor: Any = None, **kw: Any) -> Any:
            return self._serialize(getter(obj), attr, obj, **kw)

    return _Computed(**kwargs)


class TranslationSchema(_DumpSchema):
    """Another version of the post's text, in another language."""

    lang = fields.Str(required=True, metadata={"description": "Language tag of that version."})
    slug = fields.Str(required=True)
    url = Computed(
        fields.Url,
        lambda p: urls.permalink(_site(), p),
        required=True,
        metadata={"description": "That version's canonical page."},
    )
    title = fields.Str(required=True)


def _translations(post: Post) -> tuple[Post, ...]:
    index = ApiContext.get().get("index")
    return index.translations(post) if index is not None else ()


class PostLinksSchema(_DumpSchema):
    """Links of a post."""

    self = fields.Url(required=True, metadata={"description": "This post in the API."})


class PostSchema(_OmitNone):
    """One published post."""

    id = fields.Str(required=True, metadata={"description": "Stable id (usually a tag: URI); never changes."})
    slug = fields.Str(required=True)
    url = Computed(
        fields.Url, lambda p: urls.permalink(_site(), p), required=True, metadata={"description": "The post's canonical page."}
    )
    title = fields.Str(required=True)
    summary = fields.Str(required=True)
    content_html = fields.Str(required=True, metadata={"description": "Sanitised HTML, absolute links."})
    content_text = fields.Str(required=True)
    date_published = fields.DateTime(required=True, format="iso", attribute="date")
    date_modified = fields.DateTime(required=True, format="iso", attribute="updated")
    categories = fields.List(fields.Str(), required=True, metadata={"description": "Category slugs."})
    tags = fields.List(fields.Nested(TagRefSchema), required=True)
    author = fields.Nested(AuthorSchema, required=True)
    lang = fields.Str(required=True)
    image = fields.Url()
    image_alt = fields.Str(metadata={"description": "Text alternative of `image` (its `alt`), when the editor gave one."})
    attachments = fields.List(fields.Nested(AttachmentSchema), required=True)
    event = fields.Nested(EventSchema)
    links = Computed(
        fields.Nested, lambda p: {"self": urls.api(_site(), f"/posts/{urls.seg(p.slug)}")}, nested=PostLinksSchema, required=True
    )
    translations = Computed(
        fields.List,
        _translations,
        cls_or_instance=fields.Nested(TranslationSchema),
        required=True,
        metadata={
            "description": "The other versions of this text (front matter "
            "`translation_of`), sorted by language; empty when there are none."
        },
    )


class FeedLinksSchema(_DumpSchema):
    """Feeds and API listing of a category or tag."""

    atom = fields.Url(required=True)
    rss = fields.Url(required=True)
    json = fields.Url(required=True)
    ics = fields.Url(required=True)
    api = fields.Url(required=True, metadata={"description": "The API listing of its posts."})


def _feed_links(kind: str, slug: str) -> dict[str, str]:
    site = _site()
    links = {fmt: urls.feed(site, fmt, kind, slug) for fmt in ALL}
    links["api"] = (
        urls.api(site, f"/categories/{urls.seg(slug)}/posts") if kind == "category" else urls.api(site, "/posts", {"tag": slug})
    )
    return links


class CategorySchema(_DumpSchema):
    """A category declared by the site, with its number of posts."""

    slug = fields.Str(required=True, attribute="category.slug")
    title = fields.Str(required=True, attribute="category.title")
    description = fields.Str(required=True, attribute="category.description")
    post_count = fields.Int(required=True, attribute="count", validate=validate.Range(min=0))
    links = Computed(fields.Nested, lambda c: _feed_links("category", c.category.slug), nested=FeedLinksSchema, required=True)


class TagSchema(_DumpSchema):
    """A tag used by at least one post."""

    tag = fields.Str(required=True, attribute="tag.label", metadata={"description": "Most used label."})
    slug = fields.Str(required=True, attribute="tag.slug")
    post_count = fields.Int(required=True, attribute="count", validate=validate.Range(min=1))
    links = Computed(fields.Nested, lambda t: _feed_links("tag", t.tag.slug), nested=FeedLinksSchema, required=True)


class PageMetaSchema(_DumpSchema):
    """Where this page is in the whole list."""

    page = fields.Int(required=True, validate=validate.Range(min=1))
    per_page = fields.Int(required=True, validate=validate.Range(min=1))
    total_items = fields.Int(required=True, validate=validate.Range(min=0))
    total_pages = fields.Int(required=True, validate=validate.Range(min=1))


class PageLinksSchema(_OmitNone):
    """Absolute URLs of this page and its neighbours (next/prev absent at the ends)."""

    self = fields.Url(required=True)
    first = fields.Url(required=True)
    last = fields.Url(required=True)
    next = fields.Url()
    prev = fields.Url()


class PostPageSchema(_DumpSchema):
    """One page of posts, newest first."""

    items = fields.List(fields.Nested(PostSchema), required=True)
    meta = fields.Nested(PageMetaSchema, required=True)
    links = fields.Nested(PageLinksSchema, required=True)


# Schema instances are built once: building one deep-copies its fields, and each Nested field
# builds (and keeps) its nested schema on first use. Dumping keeps no state on the instance.
_POST = PostSchema()
_POST_PAGE = PostPageSchema()
_CATEGORIES = CategorySchema(many=True)
_TAGS = TagSchema(many=True)


def dump_post(site: Site, post: Post, index: Index | None = None) -> dict[str, Any]:
    """One post as the API's JSON object (its ``translations`` come from ``index``)."""
    with ApiContext({"site": site, "index": index}):
        doc: dict[str, Any] = _POST.dump(post)
        return doc


def dump_categories(site: Site, infos: tuple[CategoryInfo, ...]) -> list[dict[str, Any]]:
    """Categories as the API's JSON objects."""
    with ApiContext({"site": site}):
        doc: list[dict[str, Any]] = _CATEGORIES.dump(infos)
        return doc


def dump_tags(site: Site, infos: list[TagInfo]) -> list[dict[str, Any]]:
    """Tags as the API's JSON objects."""
    with ApiContext({"site": site}):
        doc: list[dict[str, Any]] = _TAGS.dump(infos)
        return doc


def dump_page(
    site: Site, posts: Any, meta: dict[str, int], links: dict[str, str | None], index: Index | None = None
) -> dict[str, Any]:
    """A page of posts as the API's JSON envelope (the posts' ``translations`` come from ``index``)."""
    with ApiContext({"site": site, "index": index}):
        doc: dict[str, Any] = _POST_PAGE.dump({"items": posts, "meta": meta, "links": links})
        return doc
