"""Builds the ``FeedDoc`` of a feed page, a calendar or an archive from the Index.

The one place a document's entries, links (RFC 5005 paging and archives, WebSub hub) and
title are decided, whatever the format: the views pass the request's arguments and limits
in, the writers turn the result into bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import urlsplit

from .. import urls
from ..args import past_the_end
from ..content import Index, Page, Post, Site
from ..formats import CALENDAR
from .archives import archive_keys, archive_posts, archive_url, newest_archive
from .document import FeedDoc, FeedItem, FeedNotFound, Link, Scope, Term, Translation, newest
from .scopes import feed_id, scope_posts, scope_query, variant_params


def stylesheet_href(site: Site) -> str:
    """Same-origin path of the XSLT stylesheet (browsers refuse cross-origin XSLT)."""
    return urlsplit(site.base_url).path.rstrip("/") + "/static/feed.xsl"


class _Terms:
    """Categories then tags of a post, each with its own scheme so readers can tell them apart.

    One per document: schemes, category titles and each distinct Term are made once per
    document, not once per post (Terms are immutable, so shared)."""

    def __init__(self, site: Site) -> None:
        self.cat_scheme, self.tag_scheme = f"{site.base_url}/categories/", f"{site.base_url}/tags/"
        self.titles: dict[str, str] = {}
        for cat in site.categories:  # the first declaration of a slug wins, as in Site.category
            self.titles.setdefault(cat.slug, cat.title)
        self.made: dict[tuple[str, str, bool], Term] = {}

    def __call__(self, post: Post) -> tuple[Term, ...]:
        made = self.made
        out = []
        for slug in post.categories:
            term = made.get((slug, slug, True))
            if term is None:
                term = made[(slug, slug, True)] = Term(slug, self.titles.get(slug, slug), self.cat_scheme)
            out.append(term)
        for tag in post.tags:
            term = made.get((tag.slug, tag.label, False))
            if term is None:
                term = made[(tag.slug, tag.label, False)] = Term(tag.slug, tag.label, self.tag_scheme)
            out.append(term)
        return tuple(out)


def translations_of(index: Index, post: Post) -> tuple[Translation, ...]:
    """The other versions of ``post``'s text as entry links."""
    site = index.site
    return tuple(Translation(t.lang, t.slug, urls.permalink(site, t), t.title) for t in index.translations(post))


def _base(
    index: Index,
    fmt: str,
    scope: Scope,
    lang: str | None,
    q: str | None,
    posts: Sequence[Post],
    self_url: str,
    links: list[Link],
    ttl: int,
    archive: bool = False,
    max_bytes: int = 0,
) -> FeedDoc:
    site = index.site
    title = scope.title + (f" ({lang})" if lang else "") + (f" — search: {q}" if q else "")
    hub = site.websub_hub
    if hub:
        links.append(Link("hub", hub))
    terms = _Terms(site)
    # An empty feed keeps a fixed date: its bytes (and WebSub pings) move only when it gains posts.
    return FeedDoc(
        fmt=fmt,
        site=site,
        id=feed_id(site, scope, lang, q),
        title=title,
        subtitle=scope.description,
        updated=newest(posts),
        language=lang or scope.lang or site.language,
        self_url=self_url,
        alternate_url=scope.html_url,
        items=tuple(FeedItem(p, urls.permalink(site, p), terms(p), translations_of(index, p)) for p in posts),
        links=tuple(links),
        archive=archive,
        hub=hub,
        ttl_seconds=ttl,
        stylesheet=stylesheet_href(site),
        max_bytes=max_bytes,
    )


def build_calendar(
    index: Index, scope: Scope, *, lang: str | None = None, q: str | None = None, page: int = 1, size: int = 500, ttl: int = 0
) -> FeedDoc:
    """A subscribed calendar: the ``size`` events with the latest start, in start order.

    Chosen by event date (``Index.events``), never by publication date or the clock: the
    same content gives the same calendar, and upcoming events are never pushed out by older
    posts. ``?page=N`` holds the next ``size`` older events (N-1 pages of later ones skipped);
    past the oldest event it is FeedNotFound (page 1 always exists, even with no event).
    """
    site = index.site
    ranked = index.events(scope_query(scope, lang, q), limit=page * size)  # ascending; the latest page*size
    skip = (page - 1) * size
    if page > 1 and len(ranked) <= skip:
        raise FeedNotFound(past_the_end(page, -(-len(ranked) // size) or 1))
    events = ranked[: len(ranked) - skip]
    self_url = urls.feed(site, CALENDAR.name, scope.kind, scope.slug, variant_params(lang, q, page))
    doc = _base(index, CALENDAR.name, scope, lang, q, events, self_url, [], ttl)
    # A page imported beside the subscribed calendar must not look like it in the calendar app.
    return replace(doc, title=f"{doc.title} (older events, page {page})") if page > 1 else doc


def build_feed(
    index: Index,
    fmt: str,
    scope: Scope,
    *,
    lang: str | None = None,
    q: str | None = None,
    page: int = 1,
    feed_size: int = 50,
    ttl: int = 0,
    max_bytes: int = 0,
    calendar_size: int = 500,
) -> FeedDoc:
    """Page ``page`` of a feed (RFC 5005 §3 paged feed); FeedNotFound past the end.

    A calendar (``ics``) is chosen by event date instead: see ``build_calendar``.
    """
    if fmt == CALENDAR.name:
        return build_calendar(index, scope, lang=lang, q=q, page=page, size=calendar_size, ttl=ttl)
    site = index.site
    posts = scope_posts(index, scope, lang, q)
    pg = Page(page, feed_size, len(posts))
    if not pg.exists:
        raise FeedNotFound(past_the_end(page, pg.total_pages))

    def at(n: int | None) -> str:
        return urls.feed(site, fmt, scope.kind, scope.slug, variant_params(lang, q, n))

    links: list[Link] = []
    if pg.total_pages > 1:
        links.append(Link("first", at(1)))
        if pg.prev:
            links.append(Link("previous", at(pg.prev)))
        if pg.next:
            links.append(Link("next", at(pg.next)))
        links.append(Link("last", at(pg.total_pages)))
    if page == 1 and q is None:
        newest_key = newest_archive(index, scope, lang, feed_size)
        if newest_key:  # RFC 5005 §4: the current document points at the newest archive
            links.append(Link("prev-archive", archive_url(site, fmt, scope, lang, *newest_key)))
    return _base(index, fmt, scope, lang, q, pg.slice(posts), at(page), links, ttl, max_bytes=max_bytes)


def build_archive(
    index: Index,
    fmt: str,
    scope: Scope,
    year: int,
    *,
    lang: str | None = None,
    part: int = 1,
    feed_size: int = 50,
    ttl: int = 0,
    max_bytes: int = 0,
) -> FeedDoc:
    """An archive document: fh:archive, prev-archive/next-archive/current links (RFC 5005 §4)."""
    site = index.site
    keys = archive_keys(index, scope, lang, feed_size)
    if (year, part) not in keys:
        raise FeedNotFound(f"no archive for {year}" + (f" part {part}" if part > 1 else ""))
    i = keys.index((year, part))
    links = [Link("current", urls.feed(site, fmt, scope.kind, scope.slug, variant_params(lang, None)))]
    if i > 0:
        links.append(Link("prev-archive", archive_url(site, fmt, scope, lang, *keys[i - 1])))
    if i + 1 < len(keys):
        links.append(Link("next-archive", archive_url(site, fmt, scope, lang, *keys[i + 1])))
    return _base(
        index,
        fmt,
        scope,
        lang,
        None,
        archive_posts(index, scope, lang, year, part, feed_size),
        archive_url(site, fmt, scope, lang, year, part),
        links,
        ttl,
        archive=True,
        max_bytes=max_bytes,
    )
