"""Absolute URL builders from site.base_url (never from the Host header)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from .content import Index, Post, Site
from .formats import FORMATS

#: Where the static files the pages link to live.
STATIC = Path(__file__).parent / "static"
#: Feed format -> file name under a feed scope (from the formats table).
FEED_FILES = {name: f.file for name, f in FORMATS.items()}


def _qs(params: dict[str, object] | None) -> str:
    if not params:
        return ""
    items = sorted((k, str(v)) for k, v in params.items() if v is not None and v != "")
    return ("?" + urlencode(items)) if items else ""


def seg(value: str) -> str:
    """One path segment, percent-encoded (tag slugs may hold non-ASCII letters)."""
    return quote(value, safe="")


def ascii_uri(url: str) -> str:
    """``url`` as an RFC 3986 URI, for formats that name URLs rather than IRIs (RSS 2.0).

    An internationalised host in its ASCII (IDNA) form, every other non-ASCII character
    percent-encoded as UTF-8; an ASCII URL comes back unchanged.
    """
    if url.isascii():
        return url
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    host, colon, port = hostport.rpartition(":") if hostport.rpartition(":")[2].isdigit() else (hostport, "", "")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:  # a label IDNA cannot spell (too long, empty): percent-encoded instead
        host = _uri_chars(host)
    netloc = f"{_uri_chars(userinfo)}{at}{host}{colon}{port}"
    return urlunsplit(
        parts._replace(
            netloc=netloc, path=_uri_chars(parts.path), query=_uri_chars(parts.query), fragment=_uri_chars(parts.fragment)
        )
    )


def _uri_chars(text: str) -> str:
    """``text`` with its non-ASCII characters percent-encoded as UTF-8 (everything else kept)."""
    return text if text.isascii() else "".join(ch if ch.isascii() else quote(ch, safe="") for ch in text)


def absolute(site: Site, path: str, params: dict[str, object] | None = None) -> str:
    """``base_url`` + ``path`` (which starts with '/') + a sorted query string."""
    return f"{site.base_url}{path}{_qs(params)}"


def post_page(site: Site, post: Post) -> str:
    """feedsvc's own HTML page for a post."""
    return absolute(site, f"/posts/{seg(post.slug)}")


def permalink(site: Site, post: Post) -> str:
    """The post's canonical link: site.permalink's template if set, else feedsvc's page."""
    if site.permalink:
        d = post.date
        return site.permalink.format(slug=post.slug, year=f"{d.year:04d}", month=f"{d.month:02d}", day=f"{d.day:02d}")
    return post_page(site, post)


def scope_path(kind: str = "all", slug: str | None = None) -> str:
    """Path prefix of a feed scope: '/feeds', '/feeds/categories/x', '/feeds/tags/y', '/feeds/languages/ru'."""
    if kind == "all":
        return "/feeds"
    if kind == "category":
        return f"/feeds/categories/{seg(slug or '')}"
    if kind == "tag":
        return f"/feeds/tags/{seg(slug or '')}"
    if kind == "language":
        return f"/feeds/languages/{seg(slug or '')}"
    raise ValueError(kind)


def feed(site: Site, fmt: str, kind: str = "all", slug: str | None = None, params: dict[str, object] | None = None) -> str:
    """Absolute URL of a feed document (``fmt`` in FEED_FILES)."""
    return absolute(site, f"{scope_path(kind, slug)}/{FEED_FILES[fmt]}", params)


def archive(
    site: Site, fmt: str, year: int, kind: str = "all", slug: str | None = None, params: dict[str, object] | None = None
) -> str:
    """Absolute URL of a yearly RFC 5005 archive document."""
    return absolute(site, f"{scope_path(kind, slug)}/archive/{year:04d}/{FEED_FILES[fmt]}", params)


def opml(site: Site) -> str:
    """The OPML list of every feed."""
    return absolute(site, "/feeds/opml.xml")


def category_page(site: Site, slug: str) -> str:
    """HTML page of a category."""
    return absolute(site, f"/categories/{seg(slug)}")


def tag_page(site: Site, slug: str) -> str:
    """HTML page of a tag."""
    return absolute(site, f"/tags/{seg(slug)}")


def language_page(site: Site, lang: str) -> str:
    """HTML page of one language's posts and feeds."""
    return absolute(site, f"/languages/{seg(lang)}")


def canonical_tag(index: Index, given: str) -> str | None:
    """The canonical slug of a tag named in a request by its slug or by a label (any case), or None.

    The one place the API's ``?tag=``, the feed paths and the tag pages resolve a tag.
    """
    if given in index.tags:
        return given
    return index.tag_slug(given)


def home(site: Site) -> str:
    """The HTML front page."""
    return absolute(site, "/")


def api(site: Site, path: str, params: dict[str, object] | None = None) -> str:
    """Absolute URL under /api/v1 (``path`` starts with '/')."""
    return absolute(site, f"/api/v1{path}", params)


@lru_cache(maxsize=64)
def asset_url(name: str) -> str:
    """Root-relative URL of a static file with a content hash, so it can be cached for long."""
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
    return f"/static/{quote(name)}?v={digest}"


def embed_page(site: Site, post: Post) -> str:
    """The small card of a post that partners frame (oEmbed's iframe)."""
    return absolute(site, f"/posts/{seg(post.slug)}/embed")


def event_calendar(site: Site, post: Post) -> str:
    """The single-event iCalendar file of an event post ("add to calendar")."""
    return absolute(site, f"/posts/{seg(post.slug)}/event.ics")


def oembed(site: Site, url: str, fmt: str = "json") -> str:
    """The oEmbed endpoint's answer for ``url`` in ``fmt`` (oembed.com §2.2)."""
    return absolute(site, "/oembed", {"format": fmt, "url": url})


def sitemap_index(site: Site) -> str:
    """The sitemap index (sitemaps.org)."""
    return absolute(site, "/sitemap.xml")


def news_sitemap(site: Site) -> str:
    """The news sitemap (Google News: the posts of the last 48 hours)."""
    return absolute(site, "/sitemap-news.xml")


def sitemap(site: Site, kind: str, number: int) -> str:
    """One child sitemap of the index."""
    return absolute(site, f"/sitemaps/{seg(kind)}-{number}.xml")
