"""JSON API under /api/v1: the routes (shapes in schemas.py, the OpenAPI in openapi.py).

Each view: validate the query (``feedsvc.args.ListArgs``, the rules the feeds share) -> query the index -> dump with the schemas
-> ``caching.render`` -> ``http.send``. Paging headers: RFC 8288 ``Link`` and ``X-Total-Count``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, cast
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, redirect, request

from .. import http, urls
from ..args import ListArgs, When, load, names_nothing, past_the_end
from ..caching import render
from ..canonical_json import to_json
from ..content import Index, Query
from ..content.errors import Gone, NotFound
from ..content.paging import Page
from ..extensions import current_index
from ..representation import Representation
from . import openapi
from .schemas import dump_categories, dump_page, dump_post, dump_tags

bp = Blueprint("api", __name__, url_prefix="/api/v1", cli_group="openapi")
JSON = "application/json"
#: Filter parameters, in the order links write them.
FILTERS = ("category", "tag", "lang", "q", "since", "until", "updated_since")


def list_args(index: Index, exclude: Sequence[str] = ()) -> dict[str, Any]:
    """The request's listing parameters, validated (a ValidationError is a 400 naming them all)."""
    cfg = current_app.config
    site = index.site
    schema = _list_schema(
        cfg["PER_PAGE"], cfg["MAX_PER_PAGE"], site.timezone, tuple(c.slug for c in site.categories), tuple(exclude)
    )
    return load(schema, request.args)


@lru_cache(maxsize=32)
def _list_schema(per_page: int, max_per_page: int, tz: str, categories: tuple[str, ...], exclude: tuple[str, ...]) -> ListArgs:
    # Building a Schema deep-copies its fields: once per configuration, not once per request.
    return ListArgs(per_page=per_page, max_per_page=max_per_page, tz=ZoneInfo(tz), categories=list(categories), exclude=exclude)


def _page_rep(index: Index, path: str, args: dict[str, Any], query: Query) -> Representation:
    """A page of the posts matching ``query`` as a Representation, or a 404 past the end."""
    posts = index.query(query)
    site = index.site
    page = Page(args["page"], args["per_page"], len(posts))
    if not page.exists:
        raise NotFound(past_the_end(page.number, page.total_pages))
    params = {k: str(args[k]) for k in FILTERS if k in args}

    def link(n: int) -> str:
        return urls.api(site, path, {**params, "page": n, "per_page": page.per_page})

    links: dict[str, str | None] = {
        "self": link(page.number),
        "first": link(1),
        "last": link(page.total_pages),
        "prev": link(page.prev) if page.prev else None,
        "next": link(page.next) if page.next else None,
    }
    meta = {"page": page.number, "per_page": page.per_page, "total_items": page.total, "total_pages": page.total_pages}
    shown = page.slice(posts)
    doc = dump_page(site, shown, meta, links, index)
    # RFC 8288 §3: Link: <uri>; rel="next", ... (URLs from base_url hold no '>' or ',' unescaped).
    link_header = ", ".join(f'<{links[rel]}>; rel="{rel}"' for rel in ("first", "prev", "next", "last") if links[rel])
    # The items list their translations' titles: the page changes when one of those does.
    linked = [t for p in shown for t in index.translations(p)]
    last_modified = max(index.query_last_modified(query), index.last_modified(linked))
    return Representation(to_json(doc), JSON, last_modified, headers=(("Link", link_header), ("X-Total-Count", str(page.total))))


def _tag_by_name(index: Index, args: dict[str, Any]) -> dict[str, Any]:
    """``?tag=`` by its slug or by a label posts use, in any case: the canonical slug from here on."""
    if args.get("tag") is not None:
        args["tag"] = urls.canonical_tag(index, args["tag"]) or args["tag"]
    return args


def _query(args: dict[str, Any], category: str | None = None) -> Query:
    def bound(name: str, end: bool) -> Any:
        w: When | None = args.get(name)
        return None if w is None else (w.end if end else w.start)

    cat = category if category is not None else args.get("category")
    return Query(
        category=cat,
        tag=args.get("tag"),
        lang=args.get("lang"),
        q=args.get("q"),
        since=bound("since", False),
        until=bound("until", True),
        updated_since=bound("updated_since", False),
    )


@bp.get("/posts")
def posts() -> Response:
    """A page of posts, newest first, filtered."""
    index = current_index()
    args = _tag_by_name(index, list_args(index))
    return http.send(
        render("api.posts", args, lambda: _page_rep(index, "/posts", args, _query(args)), names_nothing(index, args))
    )


@bp.get("/posts/<slug>")
def post(slug: str) -> Response:
    """One post; a retired slug (alias) redirects permanently to the current one."""
    index = current_index()
    found = index.get(slug)
    if found is None:
        target = index.alias_target(slug)
        if target is not None:
            return cast(Response, redirect(urls.api(index.site, f"/posts/{urls.seg(target)}"), 308))
        if index.expired(slug):  # RFC 9110 15.5.11: withdrawn at its `expires` (its aliases too)
            raise Gone(f"the post with slug {slug!r} was withdrawn")
        raise NotFound(f"no post with slug {slug!r}")

    def produce() -> Representation:
        # The post lists its translations' titles and URLs: it changes when they do.
        shown = [found, *index.translations(found)]
        return Representation(to_json(dump_post(index.site, found, index)), JSON, index.last_modified(shown))

    return http.send(render("api.post", {"slug": slug}, produce))


@bp.get("/categories")
def categories() -> Response:
    """Every declared category with its post count and feeds."""
    index = current_index()
    return http.send(
        render(
            "api.categories",
            {},
            lambda: Representation(to_json(dump_categories(index.site, index.categories)), JSON, index.query_last_modified()),
        )
    )


def _require_category(index: Index, slug: str) -> None:
    """404 unless site.yaml declares this category."""
    if index.site.category(slug) is None:
        raise NotFound(f"no category with slug {slug!r}")


@bp.get("/categories/<slug>")
def category(slug: str) -> Response:
    """One category."""
    index = current_index()
    _require_category(index, slug)
    info = next(info for info in index.categories if info.category.slug == slug)
    return http.send(
        render(
            "api.category",
            {"slug": slug},
            lambda: Representation(
                to_json(dump_categories(index.site, (info,))[0]), JSON, index.query_last_modified(category=slug)
            ),
        )
    )


@bp.get("/categories/<slug>/posts")
def category_posts(slug: str) -> Response:
    """A page of a category's posts, filtered like /posts (the category comes from the path)."""
    index = current_index()
    _require_category(index, slug)
    args = _tag_by_name(index, list_args(index, exclude=("category",)))
    path = f"/categories/{urls.seg(slug)}/posts"
    return http.send(
        render(
            "api.category_posts",
            {**args, "slug": slug},
            lambda: _page_rep(index, path, args, _query(args, slug)),
            names_nothing(index, args),
        )
    )


@bp.get("/tags")
def tags() -> Response:
    """Every tag in use, by slug, with its post count and feeds."""
    index = current_index()
    return http.send(
        render(
            "api.tags",
            {},
            lambda: Representation(to_json(dump_tags(index.site, list(index.tags.values()))), JSON, index.query_last_modified()),
        )
    )


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI 3.1 document of this API."""
    index = current_index()
    return http.send(
        render(
            "api.openapi",
            {},
            lambda: Representation(to_json(openapi.spec_dict(index.site, current_app.config)), JSON, index.last_modified(())),
        )
    )


openapi.register(bp)
