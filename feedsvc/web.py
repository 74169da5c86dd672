"""HTML pages (/, /posts/<slug>, /categories/<slug>, /tags/<tag>), the /embed builder and /embed.js.

Views stay thin: look the page up in the index, describe it for a Jinja template
(autoescaped), render through ``caching.render`` and answer with ``http.send``. Pages
carry no inline script or style, so they work under the strict CSP sent on HTML.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request

from . import caching, http, urls
from .content import Index, Post, Query, Site
from .extensions import current_index, state

bp = Blueprint("web", __name__)

HTML = "text/html; charset=utf-8"
JS = "text/javascript; charset=utf-8"
STATIC = Path(__file__).parent / "static"
#: Posts listed on the front page.
HOME_POSTS = 10
#: Tags shown on the front page (the most used ones).
HOME_TAGS = 40
#: (format, label, media type) of the feeds advertised for autodiscovery.
DISCOVERY = (("atom", "Atom", "application/atom+xml"), ("rss", "RSS", "application/rss+xml"),
             ("json", "JSON Feed", "application/feed+json"))
FORMAT_LABELS = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed", "ics": "Calendar (iCalendar)"}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


# -- helpers -------------------------------------------------------------------------------

#: Static files the pages link to (an export must copy them with the pages).
ASSETS = ("site.css", "site.js", "embed-builder.js")


def asset_urls(site: Site) -> list[str]:
    """Absolute URLs of every static file the HTML pages reference (with their ?v= hash)."""
    return [urls.absolute(site, asset_url(name)) for name in ASSETS]


@lru_cache(maxsize=64)
def asset_url(name: str) -> str:
    """Root-relative URL of a static file with a content hash, so it can be cached for long."""
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
    return f"/static/{quote(name)}?v={digest}"


def human_date(d: datetime, lang: str = "en") -> str:
    """A reader-friendly date, the same on every host (no locale lookups, no clock)."""
    if lang.lower().startswith("en"):
        return f"{d.day} {MONTHS[d.month - 1]} {d.year}"
    return d.strftime("%Y-%m-%d")


def human_datetime(d: datetime, lang: str = "en") -> str:
    """Date, time and UTC offset of an event as written in its own zone."""
    offset = d.strftime("%z")
    zone = "UTC" if offset in ("+0000", "") else f"UTC{offset[:3]}:{offset[3:]}"
    return f"{human_date(d, lang)}, {d:%H:%M} ({zone})"


def human_size(size: int | None) -> str:
    """'1.2 MB' style size, or '' when unknown."""
    if not size:
        return ""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return ""


def feed_links(site: Site, kind: str = "all", slug: str | None = None,
               formats: Sequence[str] = ("atom", "rss", "json", "ics")) -> list[dict[str, Any]]:
    """Every feed of one scope: URL to copy and one-click subscribe links."""
    out = []
    for fmt in formats:
        url = urls.feed(site, fmt, kind, slug)
        if fmt == "ics":
            webcal = "webcal://" + url.split("://", 1)[1]
            subscribe = [("Calendar app", webcal),
                         ("Google Calendar", "https://calendar.google.com/calendar/r?cid=" + quote(webcal, safe=""))]
        else:
            subscribe = [("Feedly", "https://feedly.com/i/subscription/feed/" + quote(url, safe="")),
                         ("Inoreader", "https://www.inoreader.com/?add_feed=" + quote(url, safe=""))]
        out.append({"format": fmt, "label": FORMAT_LABELS[fmt], "url": url, "subscribe": subscribe})
    return out


def discovery(site: Site, kind: str = "all", slug: str | None = None, title: str = "") -> list[dict[str, str]]:
    """<link rel=alternate> autodiscovery entries for a scope."""
    name = f"{site.title} — {title}" if title else site.title
    return [{"type": mime, "title": f"{name} ({label})", "href": urls.feed(site, fmt, kind, slug)}
            for fmt, label, mime in DISCOVERY]


def post_item(site: Site, post: Post) -> dict[str, Any]:
    """What a list needs to show one post."""
    return {"post": post, "href": urls.permalink(site, post), "date": human_date(post.date, post.lang)}


#: What a page view hands to ``_render``: (Last-Modified, template context), built on a miss only.
Build = Callable[[], tuple[datetime, dict[str, Any]]]


def _page_globals(site: Site) -> dict[str, Any]:
    """What every page's frame links to, built by urls.py (never by string concatenation)."""
    return dict(site=site, asset=asset_url, home_url=urls.home(site), embed_url=urls.absolute(site, "/embed"),
                opml_url=urls.opml(site), api_url=urls.api(site, "/posts"))


def _render(endpoint: str, args: Mapping[str, object], template: str, build: Build) -> Response:
    """Render ``template`` through the render cache and send it (a hit does no page work)."""

    def produce() -> caching.Representation:
        site = current_index().site
        last_modified, ctx = build()
        body = render_template(template, **_page_globals(site), **ctx)
        return caching.Representation(body.encode("utf-8"), HTML, last_modified)

    return http.send(caching.render(endpoint, args, produce))


def shown(value: str, limit: int = 80) -> str:
    """A client-supplied path segment made safe to echo: printable, bounded."""
    clean = "".join(ch if ch.isprintable() else "\N{REPLACEMENT CHARACTER}" for ch in value[:limit])
    return clean + ("…" if len(value) > limit else "")


def not_found(message: str) -> Response:
    """A small HTML 404 page (no validators: there is nothing to revalidate)."""
    site = current_index().site
    body = render_template("web/404.html", **_page_globals(site), message=message)
    return Response(body, status=404, content_type=HTML)


def _listed(idx: Index, posts: Sequence[Post]) -> list[dict[str, Any]]:
    """The newest posts of a list page, bounded like a feed document."""
    return [post_item(idx.site, p) for p in posts[:int(current_app.config["FEED_SIZE"])]]


@bp.record_once
def _site_404(setup: Any) -> None:
    # Unrouted HTML paths get the site's own 404 page (errors.py asks for it by this name).
    state(setup.app).html_not_found = lambda: not_found("There is no page at this address.")


# -- pages ---------------------------------------------------------------------------------

@bp.get("/")
def home() -> Response:
    """The front page: latest posts, categories, popular tags and every feed."""
    idx = current_index()

    def build() -> tuple[datetime, dict[str, Any]]:
        site = idx.site
        latest = idx.posts[:HOME_POSTS]
        popular = sorted(idx.tags.values(), key=lambda t: (-t.count, t.tag.slug))[:HOME_TAGS]
        return idx.query_last_modified(), dict(  # counts and tags cover every post
            title=site.title, alternates=discovery(site), canonical=urls.home(site),
            posts=[post_item(site, p) for p in latest], total=len(idx.posts),
            categories=[{"info": c, "href": urls.category_page(site, c.category.slug),
                         "feeds": feed_links(site, "category", c.category.slug)} for c in idx.categories],
            tags=[{"info": t, "href": urls.tag_page(site, t.tag.slug)}
                  for t in sorted(popular, key=lambda t: (t.tag.label.lower(), t.tag.slug))],
            feeds=feed_links(site), opml=urls.opml(site), api=urls.api(site, "/posts"),
        )

    return _render("web.home", {}, "web/home.html", build)


@bp.get("/posts/<slug>")
def post_page(slug: str) -> Response:
    """One post: its content, date, categories, tags, attachments and event."""
    idx = current_index()
    site = idx.site
    post = idx.get(slug)
    if post is None:
        target = idx.alias_target(slug)  # aliases only ever name published posts
        if target is not None:
            # RFC 9110 §15.4.9: 308 keeps the method and tells caches the move is permanent.
            return cast(Response, redirect(urls.permalink(site, idx.get(target)), 308))  # type: ignore[arg-type]
        return not_found(f"There is no post at /posts/{shown(slug)}.")
    if site.permalink:
        # The organisation's website is the canonical home; 302 because the setting can change.
        return cast(Response, redirect(urls.permalink(site, post), 302))  # the app's response class

    def build() -> tuple[datetime, dict[str, Any]]:
        event = None
        if post.event is not None:
            ev = post.event
            event = {"start": ev.start, "start_text": human_datetime(ev.start, post.lang),
                     "end": ev.end, "end_text": human_datetime(ev.end, post.lang) if ev.end else "",
                     "location": ev.location, "url": ev.url, "timezone": ev.timezone}
        cats = []
        for c in post.categories:
            declared = site.category(c)
            cats.append({"slug": c, "title": declared.title if declared else c, "href": urls.category_page(site, c)})
        calendar = urls.feed(site, "ics", "category", post.categories[0]) if post.categories else urls.feed(site, "ics")
        return idx.last_modified((post,)), dict(
            title=post.title, alternates=discovery(site), canonical=urls.post_page(site, post), post=post,
            date=human_date(post.date, post.lang),
            updated=human_date(post.updated, post.lang) if post.updated.date() != post.date.date() else "",
            categories=cats, tags=[{"tag": t, "href": urls.tag_page(site, t.slug)} for t in post.tags],
            attachments=[{"a": a, "size": human_size(a.size_in_bytes)} for a in post.attachments],
            event=event, calendar=calendar,
        )

    return _render("web.post", {"slug": slug}, "web/post.html", build)


@bp.get("/categories/<slug>")
def category_page(slug: str) -> Response:
    """The posts of one category, with its feeds."""
    site = current_index().site
    cat = site.category(slug)
    if cat is None:
        return not_found(f"There is no category “{shown(slug)}”.")
    return _list_page("web.category", {"slug": slug}, "category", slug, cat.title, cat.description,
                      urls.category_page(site, slug))


@bp.get("/tags/<tag>")
def tag_page(tag: str) -> Response:
    """The posts with one tag (tag slugs may hold non-ASCII letters), with its feeds."""
    idx = current_index()
    info = idx.tags.get(tag)
    if info is None:
        return not_found(f"There is no tag “{shown(tag)}”.")
    return _list_page("web.tag", {"tag": tag}, "tag", tag, info.tag.label, "", urls.tag_page(idx.site, tag),
                      ("atom", "rss", "json"))  # the contract's tag feeds


def _list_page(endpoint: str, key: dict[str, str], kind: str, slug: str, title: str, description: str,
               canonical: str, formats: Sequence[str] = ("atom", "rss", "json", "ics")) -> Response:
    """A category's or tag's latest posts, with its feeds and their autodiscovery."""
    idx = current_index()
    site = idx.site

    query = Query(category=slug) if kind == "category" else Query(tag=slug)

    def build() -> tuple[datetime, dict[str, Any]]:
        posts = idx.query(query)
        return idx.query_last_modified(query), dict(
            title=title, description=description, kind=kind.title(),
            alternates=discovery(site, kind, slug, title), canonical=canonical,
            posts=_listed(idx, posts), total=len(posts), feeds=feed_links(site, kind, slug, formats),
        )

    return _render(endpoint, key, "web/list.html", build)


# -- embed widget --------------------------------------------------------------------------

@bp.get("/embed")
def embed_page() -> Response:
    """The snippet builder: pick category, tag, language, count and options; preview; copy."""
    idx = current_index()

    def build() -> tuple[datetime, dict[str, Any]]:
        site = idx.site
        return idx.last_modified(()), dict(
            title="Embed the latest posts on your website", alternates=discovery(site),
            canonical=urls.absolute(site, "/embed"), script_url=urls.absolute(site, "/embed.js"),
            categories=idx.categories, tags=sorted(idx.tags.values(), key=lambda t: (t.tag.label.lower(), t.tag.slug)),
            languages=idx.languages,
        )

    return _render("web.embed", {}, "web/embed.html", build)


def _static_rep(name: str, mimetype: str,
                headers: tuple[tuple[str, str], ...] = ()) -> Callable[[], caching.Representation]:
    def produce() -> caching.Representation:
        path = STATIC / name
        mtime = datetime.fromtimestamp(int(path.stat().st_mtime), UTC)
        return caching.Representation(path.read_bytes(), mimetype, mtime, headers=headers)

    return produce


#: Static files are a fixed set shipped with the code: served from memory, never by path lookup.
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": JS, ".xsl": "text/xsl; charset=utf-8"}
#: A URL naming the file's content hash (?v=) never changes meaning (RFC 8246 immutable).
IMMUTABLE = "public, max-age=31536000, immutable"


@lru_cache(maxsize=1)
def _static_files() -> dict[str, str]:
    """File name -> media type of every file under static/ (no directories, no dotfiles)."""
    return {p.name: STATIC_TYPES[p.suffix] for p in STATIC.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix in STATIC_TYPES}


@bp.get("/static/<name>")
def static(name: str) -> Response:
    """A static file, with a content-hash ETag (the same on every host) and long caching when versioned."""
    mimetype = _static_files().get(name)
    if mimetype is None:
        abort(404)
    version = request.args.get("v")
    immutable = version is not None and asset_url(name).endswith(f"?v={version}")
    produce = _static_rep(name, mimetype, (("Cache-Control", IMMUTABLE),) if immutable else ())
    return http.send(caching.render("web.static", {"name": name, "immutable": immutable}, produce))


@bp.get("/embed.js")
def embed_js() -> Response:
    """The partner widget script (dependency-free, cached with ETag and max-age)."""
    return http.send(caching.render("web.embed_js", {}, _static_rep("embed.js", JS)))
