"""Discoverability: robots.txt, sitemaps, the oEmbed provider and the embed card of a post.

Views stay thin: parse arguments, read the index, build the document with this package's
pure modules (sitemaps, oembed; cards and structured data reach the pages through the
``discovery_head`` template global), render through ``caching.render``, send with
``http.send``. Nothing here imports feeds/, api/ or web.py.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Blueprint, render_template, request
from marshmallow import ValidationError, validate

from .. import caching, http, i18n, security, urls
from ..args import QueryArgs, QueryInt, QueryStr, load
from ..content import Index
from ..content.errors import NotFound
from ..errors import ApiError
from ..extensions import current_index
from ..representation import Representation
from . import oembed, sitemaps
from .head import discovery_head

bp = Blueprint("discover", __name__)

XML = "application/xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"
OEMBED_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def _splits(url: str) -> None:
    """Refuse a ``url`` that cannot be read as a URL (``http://[::1/``): a 400 naming it, not a 500."""
    if not oembed.splits(url):
        raise ValidationError("is not a URL")


class OembedArgs(QueryArgs):
    """/oembed's query (oembed.com §2.2); ``format`` is checked apart: unsupported is 501, not 400."""

    class Meta(QueryArgs.Meta):
        exclude = ("page", "lang", "q")

    url = QueryStr(required=True, validate=[validate.Length(max=2000), _splits])
    format = QueryStr(load_default="json")
    maxwidth = QueryInt(load_default=None, validate=validate.Range(oembed.MIN_SIZE, oembed.MAX_SIZE))
    maxheight = QueryInt(load_default=None, validate=validate.Range(oembed.MIN_SIZE, oembed.MAX_SIZE))


def _changed(index: Index) -> datetime:
    return index.query_last_modified()


@bp.get("/robots.txt")
def robots() -> Any:
    """robots.txt: everything but /api, /metrics and the health checks; the sitemap's absolute URL."""
    index = current_index()
    return http.send(
        caching.render(
            "discover.robots",
            {},
            lambda: Representation(sitemaps.robots(index.site), TEXT, index.content_mtime.replace(microsecond=0)),
        )
    )


@bp.get("/sitemap.xml")
def sitemap_index() -> Any:
    """The sitemap index."""
    index = current_index()
    return http.send(
        caching.render("discover.sitemap_index", {}, lambda: Representation(sitemaps.write_index(index), XML, _changed(index)))
    )


@bp.get("/sitemap-news.xml")
def sitemap_news() -> Any:
    """The news sitemap (Google News): the posts of the last 48 hours at the writer's recorded instant."""
    index = current_index()
    if not sitemaps.has_news(index.site):
        raise NotFound("posts are published on the main website (permalink): its sitemaps list them")
    return http.send(
        caching.render(
            "discover.sitemap_news", {}, lambda: Representation(sitemaps.write_news(index), XML, index.news_last_modified())
        )
    )


@bp.get("/sitemaps/<name>.xml")
def sitemap_child(name: str) -> Any:
    """One child sitemap, ``<provider>-<n>.xml``."""
    index = current_index()
    kind, _, number = name.rpartition("-")
    provider = None
    if number.isascii() and number.isdigit() and not number.startswith("0"):
        provider = sitemaps.find(index, kind, int(number))
    if provider is None:
        raise NotFound(f"there is no sitemap {name!r}; see {urls.sitemap_index(index.site)}")
    return http.send(
        caching.render(
            "discover.sitemap",
            {"name": name},
            lambda: Representation(sitemaps.write_child(index, provider, int(number)), XML, _changed(index)),
        )
    )


@bp.get("/oembed")
def oembed_view() -> Any:
    """The oEmbed answer for a post URL, as JSON or XML; 404 unknown or foreign, 501 other formats."""
    fmt = request.args.get("format", "json")
    if fmt not in oembed.FORMATS:
        raise ApiError(501, "not_implemented", f"format {fmt!r} is not supported; use json or xml")
    args = load(OembedArgs, request.args)
    index = current_index()
    post = oembed.resolve(index, args["url"])
    if post is None:
        raise NotFound("the url names no published post of this site")
    width, height = oembed.size(args["maxwidth"], args["maxheight"])

    def produce() -> Representation:
        data = oembed.answer(index, post, width, height)
        if fmt == "json":
            body = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
        else:
            body = oembed.write_xml(data)
        return Representation(body, OEMBED_TYPES[fmt], index.last_modified((post,)))

    key = {"slug": post.slug, "format": fmt, "maxwidth": args["maxwidth"], "maxheight": args["maxheight"]}
    return http.send(caching.render("discover.oembed", key, produce))


@bp.get("/posts/<slug>/embed")
def embed(slug: str) -> Any:
    """A post's small card, in its language and direction, that any site may frame (no script)."""
    index = current_index()
    post = index.get(slug)
    if post is None:
        raise NotFound("there is no published post with this slug")
    site = index.site
    lang = i18n.page_language(post.lang)

    def produce() -> Representation:
        with i18n.speaking(lang):
            body = render_template(
                "discover/embed.html",
                site=site,
                post=post,
                page_lang=lang,
                page_dir=i18n.direction(lang),
                post_dir=i18n.direction(post.lang),
                link=urls.permalink(site, post),
                date=i18n.human_date(post.date, post.lang),
                stylesheet=urls.absolute(site, urls.asset_url("embed-card.css")),
                home=urls.home(site),
            )
        return Representation(
            body.encode("utf-8"), HTML, index.last_modified((post,)), headers=(("Content-Security-Policy", security.EMBED_CSP),)
        )

    return http.send(caching.render("discover.embed", {"slug": post.slug}, produce))


@bp.record_once
def _setup(setup: Any) -> None:
    setup.app.jinja_env.globals["discovery_head"] = discovery_head
