"""Which documents the export fetches: the URL builders' list, then every same-site link they carry."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter, RequestRedirect

from .. import urls
from ..extensions import current_index
from ..formats import FORMATS
from .oembed import answer_files

_ABS = r"(/[^\s\"'<>\\]*)"
_PAGE = re.compile(r"(?<=[?&])page=(\d+)(?=&|$)")


def seed_urls() -> list[str]:
    """Every document the URL builders name for the current index (path + query)."""
    idx = current_index()
    site = idx.site
    found: list[str] = [
        urls.home(site),
        urls.opml(site),
        urls.absolute(site, "/robots.txt"),
        urls.sitemap_index(site),
        urls.absolute(site, "/embed"),
        urls.absolute(site, "/embed.js"),
        urls.absolute(site, "/api/docs"),
        urls.api(site, "/openapi.json"),
        urls.api(site, "/posts"),
        urls.api(site, "/categories"),
        urls.api(site, "/tags"),
    ]
    scopes: list[tuple[str, str | None, Iterable[Any]]] = [("all", None, idx.posts)]
    scopes += [("category", c.category.slug, idx.query(category=c.category.slug)) for c in idx.categories]
    scopes += [("tag", slug, idx.query(tag=slug)) for slug in idx.tags]
    for kind, slug, posts in scopes:
        years = sorted({p.date.year for p in posts})
        for fmt in urls.FEED_FILES:
            found.append(urls.feed(site, fmt, kind, slug))
            if FORMATS[fmt].archived:  # no calendar archives: asking for them only met 404s
                found.extend(urls.archive(site, fmt, y, kind, slug) for y in years)
    for c in idx.categories:
        found += [
            urls.category_page(site, c.category.slug),
            urls.api(site, f"/categories/{urls.seg(c.category.slug)}"),
            urls.api(site, f"/categories/{urls.seg(c.category.slug)}/posts"),
        ]
    found += [urls.tag_page(site, slug) for slug in idx.tags]
    found += [urls.language_page(site, lang) for lang in idx.languages]
    for p in idx.posts:
        found += [
            urls.post_page(site, p),
            urls.api(site, f"/posts/{urls.seg(p.slug)}"),
            urls.embed_page(site, p),
            *answer_files(idx, p),
        ]
        if p.event is not None:
            found.append(urls.event_calendar(site, p))
        for alias in p.aliases:  # retired slugs: their redirects go into nginx.conf
            found += [urls.absolute(site, f"/posts/{urls.seg(alias)}")]
    found += [urls.absolute(site, old) for old, _ in site.redirects if old.startswith("/")]
    base = len(site.base_url)
    return [u[base:] or "/" for u in found if u.startswith(site.base_url)]


def links(base: str, body: bytes, mimetype: str, link_headers: list[str]) -> set[str]:
    """Same-site URLs named by a document (absolute ones, root-relative ones in HTML, Link headers)."""
    text = body.decode("utf-8", "replace")
    found = set(re.findall(re.escape(base) + _ABS, text + "\n" + "\n".join(link_headers)))
    if mimetype == "text/html":
        found.update(m for m in re.findall(r'(?:href|src)="' + _ABS, text) if not m.startswith("//"))
    if "xml" in mimetype or mimetype == "text/html":
        found = {html.unescape(u) for u in found}
    return {u.split("#")[0] or "/" for u in found}


def expand_pages(found: Iterable[str]) -> set[str]:
    """``found`` plus every page between 2 and the highest page a link names, in the links' spelling.

    A feed or API page links to its last page (RFC 5005 / RFC 8288 rel="last"): naming all
    pages at once lets them render in parallel instead of one rel="next" hop per round.
    """
    out = set(found)
    highest: dict[str, tuple[int, str]] = {}
    for link in out:
        m = _PAGE.search(link)
        if m:
            shape = link[: m.start()] + "page={}" + link[m.end() :]
            n = int(m.group(1))
            if n > highest.get(shape, (0, ""))[0]:
                highest[shape] = (n, link)
    for shape, (n, _) in highest.items():
        out.update(shape.format(i) for i in range(2, min(n, 100_000) + 1))
    return out


def routed(adapter: MapAdapter, url: str) -> bool:
    """Whether the app routes ``url`` (a link to follow), by one URL-map adapter bound per export."""
    parts = urlsplit(url)
    try:
        adapter.match(parts.path, method="GET")
    except RequestRedirect:
        return True
    except HTTPException:
        return False
    return True
