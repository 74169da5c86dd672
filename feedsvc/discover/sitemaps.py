"""Sitemaps (sitemaps.org 0.9): an index and its children, from a registry of providers.

Each provider pages its own URLs (after WordPress's sitemaps), so a new kind of page is
one small class. A child holds at most ``MAX_LINES`` URL lines: each <url> counts one,
plus one per hreflang alternate it carries (Google's rule for localized versions), so
50,000 lines bound both the sitemaps.org limits of 50,000 URLs and, with slugs bounded in
length, 50 MB. The index never points to an index. Only canonical URLs: no aliases, no
drafts, no query strings; translations as reciprocal ``xhtml:link rel=alternate``.

The news sitemap (Google News) lists the posts the writer marked news at its recorded
instant (content/schedule.py: the last 48 hours), never by reading the clock here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from lxml import etree

from .. import urls
from ..content import Index, Site
from ..content.catalog import max_versions, news, posts_located

NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML = "http://www.w3.org/1999/xhtml"
NEWS = "http://www.google.com/schemas/sitemap-news/0.9"
#: Google News reads at most 1,000 <url> per news sitemap: the newest ones are kept.
NEWS_MAX = 1000
#: The sitemaps.org limit of URLs per file.
MAX_LINES = 50_000
#: The sitemaps.org limit of bytes per (uncompressed) file.
MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Entry:
    """One <url>: its location, lastmod (W3C datetime) and (hreflang, href) alternates."""

    loc: str
    lastmod: str | None = None
    alternates: tuple[tuple[str, str], ...] = ()


class Provider(Protocol):
    """A kind of page: how many URLs it has, how many fit one child, and one child's entries."""

    name: str

    def count(self, index: Index) -> int: ...

    def per_child(self, index: Index) -> int: ...

    def entries(self, index: Index, offset: int, limit: int) -> list[Entry]: ...


class Posts:
    """Every published post's page, newest first, with its translations."""

    name = "posts"

    def count(self, index: Index) -> int:
        # With a permalink template the posts' canonical pages live on another site, whose
        # own sitemap lists them (a sitemap may only list URLs of its own host).
        return 0 if index.site.permalink else len(index.posts)

    def per_child(self, index: Index) -> int:
        versions = max_versions(index)
        # A post carries one line for itself and, when translated, one per version (itself
        # included) plus x-default on the original.
        return MAX_LINES // (1 if versions == 1 else versions + 2)

    def entries(self, index: Index, offset: int, limit: int) -> list[Entry]:
        site = index.site
        out = []
        for p in posts_located(index, offset, limit):
            alternates: tuple[tuple[str, str], ...] = ()
            if p.versions:
                own = (p.lang, _post_url(site, p.slug), p.original)
                every = sorted([own, *((lang, _post_url(site, slug), orig) for lang, slug, orig in p.versions)])
                alternates = tuple((lang, href) for lang, href, _ in every)
                alternates += tuple(("x-default", href) for _, href, orig in every if orig)
            out.append(Entry(_post_url(site, p.slug), p.updated, alternates))
        return out


def _post_url(site: Site, slug: str) -> str:
    return urls.absolute(site, f"/posts/{urls.seg(slug)}")


class Pages:
    """The home page, every language page and every category page."""

    name = "pages"

    def _all(self, index: Index) -> list[str]:
        site = index.site
        return [
            urls.home(site),
            *(urls.language_page(site, lang) for lang in index.languages),
            *(urls.category_page(site, c.category.slug) for c in index.categories),
        ]

    def count(self, index: Index) -> int:
        return len(index.languages) + len(index.site.categories) + 1

    def per_child(self, index: Index) -> int:
        return MAX_LINES

    def entries(self, index: Index, offset: int, limit: int) -> list[Entry]:
        return [Entry(u) for u in self._all(index)[offset : offset + limit]]


class Tags:
    """Every tag's page."""

    name = "tags"

    def count(self, index: Index) -> int:
        return len(index.tags)

    def per_child(self, index: Index) -> int:
        return MAX_LINES

    def entries(self, index: Index, offset: int, limit: int) -> list[Entry]:
        site = index.site
        slugs = list(index.tags)[offset : offset + limit]
        return [Entry(urls.tag_page(site, s)) for s in slugs]


#: The registry, in the index's order.
PROVIDERS: tuple[Provider, ...] = (Pages(), Posts(), Tags())


def children(index: Index) -> Iterator[tuple[Provider, int]]:
    """(provider, child number from 1) of every child sitemap."""
    for provider in PROVIDERS:
        n = provider.count(index)
        per = provider.per_child(index)
        for number in range(1, -(-n // per) + 1):
            yield provider, number


def find(index: Index, name: str, number: int) -> Provider | None:
    """The provider of child ``name``-``number``, or None when there is no such child."""
    for provider, n in children(index):
        if provider.name == name and n == number:
            return provider
    return None


def _write(root: etree._Element) -> bytes:
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return xml


def has_news(site: Site) -> bool:
    """Whether the site has a news sitemap (with a permalink template, posts are left to the main website)."""
    return not site.permalink


def write_index(index: Index) -> bytes:
    """The sitemap index: one <sitemap> per child, then the news sitemap (no lastmod: a child's date is its entries')."""
    root = etree.Element(f"{{{NS}}}sitemapindex", nsmap={None: NS})
    locs = [urls.sitemap(index.site, provider.name, number) for provider, number in children(index)]
    if has_news(index.site):
        locs.append(urls.news_sitemap(index.site))
    for loc in locs:
        etree.SubElement(etree.SubElement(root, f"{{{NS}}}sitemap"), f"{{{NS}}}loc").text = loc
    return _write(root)


def news_language(lang: str) -> str:
    """A post's language as Google News names it: the ISO 639 code, but zh-cn or zh-tw for Chinese."""
    parts = lang.lower().split("-")
    if parts[0] == "zh" and len(parts) > 1:
        return "zh-tw" if {"tw", "hk", "mo", "hant"} & set(parts[1:]) else "zh-cn"
    return parts[0]


def write_news(index: Index) -> bytes:
    """The news sitemap: each news post's canonical URL, publication (site title, language), date and title."""
    site = index.site
    root = etree.Element(f"{{{NS}}}urlset", nsmap={None: NS, "news": NEWS})
    for item in news(index, NEWS_MAX):
        url = etree.SubElement(root, f"{{{NS}}}url")
        etree.SubElement(url, f"{{{NS}}}loc").text = _post_url(site, item.slug)
        entry = etree.SubElement(url, f"{{{NEWS}}}news")
        publication = etree.SubElement(entry, f"{{{NEWS}}}publication")
        etree.SubElement(publication, f"{{{NEWS}}}name").text = site.title
        etree.SubElement(publication, f"{{{NEWS}}}language").text = news_language(item.lang)
        etree.SubElement(entry, f"{{{NEWS}}}publication_date").text = item.date
        etree.SubElement(entry, f"{{{NEWS}}}title").text = item.title
    return _write(root)


def write_child(index: Index, provider: Provider, number: int) -> bytes:
    """Child ``number`` of ``provider`` (raises ValueError if it would break the 50 MB limit)."""
    per = provider.per_child(index)
    root = etree.Element(f"{{{NS}}}urlset", nsmap={None: NS, "xhtml": XHTML})
    for entry in provider.entries(index, (number - 1) * per, per):
        url = etree.SubElement(root, f"{{{NS}}}url")
        etree.SubElement(url, f"{{{NS}}}loc").text = entry.loc
        if entry.lastmod:
            etree.SubElement(url, f"{{{NS}}}lastmod").text = entry.lastmod
        for hreflang, href in entry.alternates:
            etree.SubElement(url, f"{{{XHTML}}}link", rel="alternate", hreflang=hreflang, href=href)
    body = _write(root)
    if len(body) > MAX_BYTES:
        raise ValueError(f"sitemap {provider.name}-{number} is {len(body)} bytes, over the 50 MB limit")
    return body


def robots(site: Site) -> bytes:
    """robots.txt (RFC 9309): everything but the API, the metrics and the health checks; the sitemaps."""
    lines = [
        "User-agent: *",
        "Disallow: /api/",
        "Disallow: /metrics",
        "Disallow: /healthz",
        "Disallow: /readyz",
        "Allow: /",
        "",
        f"Sitemap: {urls.sitemap_index(site)}",
    ]
    if has_news(site):
        lines.append(f"Sitemap: {urls.news_sitemap(site)}")
    lines.append("")
    return "\n".join(lines).encode("utf-8")
