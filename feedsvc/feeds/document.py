"""A format-neutral description of one feed document (Django's ``Feed``), built from the Index.

Every writer (Atom, RSS, JSON Feed, iCalendar) turns the same ``FeedDoc`` into bytes, so
all formats carry the same entries, dates and links. Nothing here reads the clock: the
feed's ``updated`` is the newest entry's, and every URL comes from ``site.base_url``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from lxml.html import builder as E
from lxml.html import tostring

from .. import i18n, urls
from ..args import past_the_end
from ..content import Index, Page, Post, Query, Site
from ..content.errors import NotFound
from ..version import __version__
from .events import event_block_html

#: Media type of each format (with charset: the contract names them).
MEDIA_TYPES = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
    "ics": "text/calendar; charset=utf-8",
}
#: ``updated`` of a feed that has never had an entry: fixed, so its bytes never change.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GENERATOR = ("feedsvc", __version__, "")


class FeedNotFound(NotFound):
    """The scope, page or archive asked for does not exist (answered 404)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """Which posts a feed lists: all, one category, one tag or one language."""

    kind: str  # all | category | tag | language
    slug: str | None
    title: str
    description: str
    html_url: str
    #: The language a ``language`` scope is limited to (its slug).
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class Term:
    """A category or tag of an entry; ``scheme`` tells the two apart."""

    term: str
    label: str
    scheme: str


@dataclass(frozen=True, slots=True)
class Link:
    """A feed-level link (RFC 4287 §4.2.7, RFC 5005 paging/archive relations, WebSub hub)."""

    rel: str
    href: str
    type: str | None = None


@dataclass(frozen=True, slots=True)
class Translation:
    """Another version of an entry's text (issue 14): Atom hreflang links, JSON Feed ``_feedsvc``."""

    lang: str
    slug: str
    url: str
    title: str


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry, derived from a post (content is computed when a writer asks for it)."""

    post: Post
    url: str
    terms: tuple[Term, ...]
    #: The other versions of the post's text, by language.
    translations: tuple[Translation, ...] = ()

    @property
    def feedgen_categories(self) -> list[dict[str, str]]:
        """The terms as feedgen's ``FeedEntry.category`` takes them, in one list.

        One call per entry: feedgen rebuilds its RSS category list on every call.
        """
        return [{"term": t.term, "label": t.label, "scheme": t.scheme} for t in self.terms]

    @property
    def content_html(self) -> str:
        """Full sanitised HTML, with an event block (when, where, registration) first."""
        block = event_block_html(self.post)
        return block + self.post.content_html

    @property
    def short_html(self) -> str:
        """The stand-in for content over the document's byte budget: summary and a link."""
        parts = [E.P(self.post.summary)] if self.post.summary else []
        parts.append(E.P(E.A("Read the full post", href=self.url)))
        return event_block_html(self.post) + "".join(tostring(p, encoding="unicode") for p in parts)


@dataclass(frozen=True, slots=True)
class FeedDoc:
    """Everything one feed document says, whatever its format."""

    fmt: str
    site: Site
    id: str
    title: str
    subtitle: str
    updated: datetime
    language: str
    self_url: str
    alternate_url: str
    items: tuple[FeedItem, ...]
    #: Paging, archive and hub links, in a fixed order (self and alternate are separate).
    links: tuple[Link, ...] = ()
    #: RFC 5005 §4: this document is an archive (fh:archive).
    archive: bool = False
    hub: str | None = None
    ttl_seconds: int = 0
    stylesheet: str = ""
    generator: tuple[str, str, str] = GENERATOR
    #: Budget for the entries' HTML content in bytes (0: none); see ``contents``.
    max_bytes: int = 0

    def link(self, rel: str) -> str | None:
        """The href of the first link with this relation, or None."""
        return next((lk.href for lk in self.links if lk.rel == rel), None)

    def contents(self) -> list[str]:
        """Each entry's HTML content, keeping the document within ``max_bytes``.

        Readers refuse bodies over a few MB: once full contents would pass the budget, an
        entry carries its summary and a link instead (newest entries are kept whole first).
        """
        if not self.max_bytes:
            return [item.content_html for item in self.items]
        out: list[str] = []
        used = 0
        for item in self.items:
            html = item.content_html
            size = _utf8_len(html)
            if used + size > self.max_bytes:
                html = item.short_html
                size = _utf8_len(html)
            used += size
            out.append(html)
        return out

    def fingerprint(self) -> tuple[object, ...]:
        """What decides the bytes of this document, for WebSub change detection."""
        return (self.site, self.id, self.title, self.subtitle, self.updated, self.language, self.links, self.max_bytes,
                self.alternate_url, tuple((post_key(i.post), i.url, i.terms, i.translations) for i in self.items))


def _utf8_len(text: str) -> int:
    """Length in UTF-8 bytes (an ASCII string's is its length: no encoding needed)."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def post_key(p: Post) -> tuple[object, ...]:
    """A post's published fields (not its file mtime)."""
    return (p.id, p.slug, p.title, p.date, p.updated, p.categories, p.tags, p.summary, p.author, p.lang,
            p.image, p.attachments, p.event, p.content_html, p.translation_of)


# -- scopes and variants ------------------------------------------------------------------

def resolve_scope(index: Index, kind: str, slug: str | None) -> Scope:
    """The scope for a URL; raises FeedNotFound for an unknown category or tag."""
    site = index.site
    if kind == "all":
        return Scope("all", None, site.title, site.subtitle or site.title, urls.home(site))
    if kind == "category":
        cat = site.category(slug or "")
        if cat is None:
            raise FeedNotFound(f"unknown category {slug!r}")
        return Scope("category", cat.slug, f"{site.title}: {cat.title}", cat.description or cat.title,
                     urls.category_page(site, cat.slug))
    if kind == "tag":
        info = index.tags.get(slug or "")
        if info is None:
            raise FeedNotFound(f"unknown tag {slug!r}")
        return Scope("tag", info.tag.slug, f"{site.title}: {info.tag.label}",
                     f"Posts tagged “{info.tag.label}”", urls.tag_page(site, info.tag.slug))
    if kind == "language":
        if slug not in index.languages:
            raise FeedNotFound(f"no posts in language {slug!r}")
        # Named as its page names it: the language's own name (/languages/<lang>).
        return Scope("language", slug, f"{site.title}: {i18n.language_name(slug)}", site.subtitle or site.title,
                     urls.language_page(site, slug), lang=slug)
    raise FeedNotFound(kind)


def scope_query(scope: Scope, lang: str | None, q: str | None = None) -> Query:
    """The index query of a scope, optionally one language and a search."""
    return Query(category=scope.slug if scope.kind == "category" else None,
                 tag=scope.slug if scope.kind == "tag" else None, lang=lang or scope.lang, q=q)


def scope_posts(index: Index, scope: Scope, lang: str | None, q: str | None = None) -> Sequence[Post]:
    """Posts of a scope (newest first), optionally one language and a search."""
    return index.query(scope_query(scope, lang, q))


def feed_id(site: Site, scope: Scope, lang: str | None, q: str | None) -> str:
    """RFC 4151 tag URI of a logical feed: shared by its pages and archives, unique per
    language and search variant (RFC 4287 §4.2.6: ids never change with base_url)."""
    path = urls.scope_path(scope.kind, scope.slug).lstrip("/")
    params = "&".join(f"{k}={quote(v, safe='')}" for k, v in (("lang", lang), ("q", q)) if v)
    return f"tag:{site.id_authority}:{path}" + (f"?{params}" if params else "")


def variant_params(lang: str | None, q: str | None, page: int | None = None) -> dict[str, object]:
    """Normalised query parameters of a feed URL (page 1 is the URL without ``page``)."""
    return {"lang": lang, "q": q, "page": page if page and page > 1 else None}


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


def newest(posts: Sequence[Post], fallback: datetime = EPOCH) -> datetime:
    """The newest ``updated`` among posts: a feed's updated date, never the clock."""
    return max((p.updated for p in posts), default=fallback)


def _base(index: Index, fmt: str, scope: Scope, lang: str | None, q: str | None, posts: Sequence[Post],
          self_url: str, links: list[Link], ttl: int, archive: bool = False, max_bytes: int = 0) -> FeedDoc:
    site = index.site
    title = scope.title + (f" ({lang})" if lang else "") + (f" — search: {q}" if q else "")
    hub = site.websub_hub
    if hub:
        links.append(Link("hub", hub))
    terms = _Terms(site)
    # An empty feed keeps a fixed date: its bytes (and WebSub pings) move only when it gains posts.
    return FeedDoc(
        fmt=fmt, site=site, id=feed_id(site, scope, lang, q), title=title, subtitle=scope.description,
        updated=newest(posts), language=lang or scope.lang or site.language, self_url=self_url,
        alternate_url=scope.html_url, items=tuple(FeedItem(p, urls.permalink(site, p), terms(p), translations_of(index, p))
                                                  for p in posts),
        links=tuple(links), archive=archive, hub=hub, ttl_seconds=ttl, stylesheet=stylesheet_href(site),
        max_bytes=max_bytes,
    )


def build_calendar(index: Index, scope: Scope, *, lang: str | None = None, q: str | None = None,
                   page: int = 1, size: int = 500, ttl: int = 0) -> FeedDoc:
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
    events = ranked[:len(ranked) - skip]
    self_url = urls.feed(site, "ics", scope.kind, scope.slug, variant_params(lang, q, page))
    doc = _base(index, "ics", scope, lang, q, events, self_url, [], ttl)
    # A page imported beside the subscribed calendar must not look like it in the calendar app.
    return replace(doc, title=f"{doc.title} (older events, page {page})") if page > 1 else doc


def build_feed(index: Index, fmt: str, scope: Scope, *, lang: str | None = None, q: str | None = None,
               page: int = 1, feed_size: int = 50, ttl: int = 0, max_bytes: int = 0,
               calendar_size: int = 500) -> FeedDoc:
    """Page ``page`` of a feed (RFC 5005 §3 paged feed); FeedNotFound past the end.

    A calendar (``ics``) is chosen by event date instead: see ``build_calendar``.
    """
    if fmt == "ics":
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


# -- RFC 5005 §4 archives -------------------------------------------------------------------

def archive_keys(index: Index, scope: Scope, lang: str | None, feed_size: int) -> list[tuple[int, int]]:
    """(year, part) of every archive document, oldest first.

    One archive per calendar year (site timezone); a year with more than ``feed_size``
    posts is split into parts filled from its oldest post, so adding a post to a year
    only ever changes that year's last part.
    """
    years = index.archive_years(scope_query(scope, lang))
    return [(year, part) for year, n in years for part in range(1, -(-n // feed_size) + 1)]


def archive_posts(index: Index, scope: Scope, lang: str | None, year: int, part: int,
                  feed_size: int) -> Sequence[Post]:
    """The posts of one archive document, newest first (part 1 holds the year's oldest posts)."""
    since, until = index.year_bounds(year)
    base = scope_query(scope, lang)
    posts = index.query(Query(base.category, base.tag, base.lang, None, since, until))
    n = len(posts)
    return posts[max(0, n - part * feed_size):max(0, n - (part - 1) * feed_size)]


def newest_archive(index: Index, scope: Scope, lang: str | None, feed_size: int) -> tuple[int, int] | None:
    """``archive_keys(...)[-1]`` from the newest year's count alone."""
    base = scope_query(scope, lang)
    newest = index.query(base)[:1]
    if not newest:
        return None
    year = newest[0].date.astimezone(index.site.tz).year
    since, until = index.year_bounds(year)
    count = len(index.query(Query(base.category, base.tag, base.lang, None, since, until)))
    return year, -(-count // feed_size)


def archive_url(site: Site, fmt: str, scope: Scope, lang: str | None, year: int, part: int) -> str:
    """URL of one archive document (part 1 has no ``page`` parameter)."""
    return urls.archive(site, fmt, year, scope.kind, scope.slug, variant_params(lang, None, part))


def build_archive(index: Index, fmt: str, scope: Scope, year: int, *, lang: str | None = None, part: int = 1,
                  feed_size: int = 50, ttl: int = 0, max_bytes: int = 0) -> FeedDoc:
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
    return _base(index, fmt, scope, lang, None, archive_posts(index, scope, lang, year, part, feed_size),
                 archive_url(site, fmt, scope, lang, year, part),
                 links, ttl, archive=True, max_bytes=max_bytes)
