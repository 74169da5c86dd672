"""Feed routes: Atom, RSS 2.0, JSON Feed 1.1, iCalendar and OPML, for all posts, categories, tags, languages.

Views stay thin: parse args -> resolve the scope -> describe the document (``build``) ->
write it (``feeds.write``, one writer per format) -> ``caching.render`` -> ``http.send``. The
HTTP side of WebSub is here too: each feed's ``Link: rel=hub`` and ``rel=self`` headers
(the pings are the outbox's). ``/posts/<slug>/event.ics`` is one event post as a calendar.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, request
from marshmallow import ValidationError
from werkzeug.routing import RequestRedirect

from .. import caching, http, urls
from ..args import ArchiveArgs, FeedArgs, OpmlArgs, load, names_nothing
from ..content import Index
from ..content.errors import NotFound
from ..content.values import uri_form
from ..extensions import current_index
from ..formats import ALL, CALENDAR, FORMATS, OPML_TYPE
from ..negotiation import prefers_html
from ..representation import Representation
from . import icalendar, opml, write
from .build import build_archive, build_feed, translations_of
from .document import FeedDoc, FeedItem
from .preview import preview
from .scopes import resolve_scope

bp = Blueprint("feeds", __name__, url_prefix="/feeds")
#: ``/posts/<slug>/event.ics`` (outside /feeds).
event_bp = Blueprint("event", __name__)

#: Scope -> URL prefix. Every format is served at every scope: the contract names three
#: formats for tags, and their calendar is served too, since the API lists an ``ics`` link for every tag.
SCOPES = {
    "all": "",
    "category": "/categories/<slug>",
    "tag": "/tags/<slug>",
    # One language's posts: the path-style twin of ``/feeds/atom.xml?lang=<lang>`` (which keeps working).
    "language": "/languages/<slug>",
}
#: The type a browser's page of a feed (``FORMATS[...].browser``) is sent with.
BROWSER_TYPE = "text/html; charset=utf-8"


def for_browser(fmt: str) -> bool:
    """True when a browser navigates to an Atom/RSS feed: ``negotiation.prefers_html``, the one decision.

    Chromium shows ``application/atom+xml`` and ``application/rss+xml`` as plain text and
    is removing XSLT, so a browser gets the page ``feed.xsl`` describes, transformed here;
    feed readers (any client that rates an XML or feed type as high as text/html) get the
    XML, which still carries the ``<?xml-stylesheet?>`` instruction for clients that render
    it themselves. The render cache key (``browser``), ``Vary: Accept`` and the fast path's
    replay key follow the same function.
    """
    return FORMATS[fmt].browser and prefers_html(request.headers.get("Accept"))


def websub_links(doc: FeedDoc) -> tuple[tuple[str, str], ...]:
    """WebSub §4: the hub and exactly one self, the URL of this very variant (none without a hub)."""
    if not doc.hub:
        return ()
    # RFC 8288 §3: a URI-Reference between the brackets, so nothing in it can end the link.
    return (("Link", f'<{uri_form(doc.hub)}>; rel="hub"'), ("Link", f'<{uri_form(doc.self_url)}>; rel="self"'))


def _representation(doc: FeedDoc, last_modified: datetime) -> Representation:
    fmt = FORMATS[doc.fmt]
    vary: tuple[tuple[str, str], ...] = (("Vary", "Accept"),) if fmt.browser else ()
    return Representation(write(doc), fmt.media_type, last_modified, headers=vary + websub_links(doc))


def _canonical_lang(index: Any, args: dict[str, Any]) -> dict[str, Any]:
    # Language tags are case-insensitive (BCP 47): ?lang=PT-br is the pt-BR feed, one URL and id.
    lang = args.get("lang")
    if lang:
        args["lang"] = index.canonical_lang(lang)
    return args


def _request(fmt: str, kind: str, slug: str | None, schema: type) -> tuple[Index, dict[str, Any], Any, bool]:
    """The index, validated arguments, scope (404 when unknown) and browser flag of a feed request."""
    index = current_index()
    args = _canonical_lang(index, load(schema, request.args))
    if kind == "language" and "lang" in args:
        raise ValidationError({"lang": ["not accepted here: this feed's language is in its path"]})
    scope = resolve_scope(index, kind, slug)
    return index, args, scope, for_browser(fmt)


def _send(
    key: dict[str, Any],
    build: Callable[[], FeedDoc],
    last_modified: Callable[[], datetime],
    browser: bool,
    long_tail: bool = False,
) -> Any:
    """Render (once per content version and key) and send a feed document, or its browser page."""

    def produce() -> Representation:
        return _representation(build(), last_modified())

    endpoint = request.endpoint or "feeds"
    rep = caching.render(endpoint, {**key, "browser": None}, produce, long_tail)
    if browser:  # the page is the cached XML transformed, not a second rendering of the feed
        xml = rep
        rep = caching.render(
            endpoint,
            {**key, "browser": True},
            lambda: Representation(preview(xml.body), BROWSER_TYPE, xml.last_modified, headers=xml.headers),
            long_tail,
        )
    return http.send(rep)


def feed_view(fmt: str, kind: str, slug: str | None = None) -> Any:
    """A (paged) feed of all posts, a category or a tag."""
    index, args, scope, browser = _request(fmt, kind, slug, FeedArgs)
    cfg = current_app.config
    # A search calendar is a one-off render nobody else asks for: far fewer events than a subscribed one.
    calendar_size = min(cfg["CALENDAR_SIZE"], cfg["SEARCH_CALENDAR_SIZE"]) if args.get("q") else cfg["CALENDAR_SIZE"]
    return _send(
        {"slug": slug, **args},
        lambda: build_feed(
            index,
            fmt,
            scope,
            lang=args.get("lang"),
            q=args.get("q"),
            page=args["page"],
            feed_size=cfg["FEED_SIZE"],
            ttl=cfg["MAX_AGE"],
            max_bytes=cfg["FEED_MAX_BYTES"],
            calendar_size=calendar_size,
        ),
        lambda: _scope_last_modified(index, scope, args),
        browser,
        names_nothing(index, args),
    )


def _scope_last_modified(index: Index, scope: Any, args: dict[str, Any]) -> datetime:
    """Last-Modified of every page and archive of a feed: that of all its posts.

    A page's own entries are not enough: an edit that moves a post to another page or
    year changes documents whose remaining entries are all older.
    """
    return index.query_last_modified(
        category=scope.slug if scope.kind == "category" else None,
        tag=scope.slug if scope.kind == "tag" else None,
        lang=args.get("lang") or scope.lang,
        q=args.get("q"),
    )


def archive_view(fmt: str, kind: str, year: str, slug: str | None = None) -> Any:
    """An RFC 5005 §4 archive document: one year (or one part of a large year)."""
    # ASCII digits only: werkzeug's int converter would also take '٢٠٢١', a second URL.
    if not (len(year) == 4 and year.isascii() and year.isdigit()):
        raise NotFound("an archive year is four digits, e.g. /archive/2021/")
    year_n = int(year)
    index, args, scope, browser = _request(fmt, kind, slug, ArchiveArgs)
    cfg = current_app.config
    return _send(
        {"slug": slug, "year": year_n, **args},
        lambda: build_archive(
            index,
            fmt,
            scope,
            year_n,
            lang=args.get("lang"),
            part=args["page"],
            feed_size=cfg["FEED_SIZE"],
            ttl=cfg["MAX_AGE"],
            max_bytes=cfg["FEED_MAX_BYTES"],
        ),
        lambda: _scope_last_modified(index, scope, args),
        browser,
    )


@bp.get("/opml.xml")
def opml_view() -> Any:
    """OPML 2.0 list of every feed."""
    args = load(OpmlArgs, request.args)
    index = current_index()

    def produce() -> Representation:
        return Representation(opml.write(index, args["format"]), OPML_TYPE, index.query_last_modified())

    return http.send(caching.render("feeds.opml", args, produce))


for _kind, _prefix in SCOPES.items():
    for _fmt in ALL:
        _file = FORMATS[_fmt].file
        bp.add_url_rule(f"{_prefix}/{_file}", f"{_kind}_{_fmt}", feed_view, defaults={"fmt": _fmt, "kind": _kind})
        if FORMATS[_fmt].archived:
            bp.add_url_rule(
                f"{_prefix}/archive/<year>/{_file}",
                f"{_kind}_archive_{_fmt}",
                archive_view,
                defaults={"fmt": _fmt, "kind": _kind},
            )


@bp.url_value_preprocessor
def _canonical_slug(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """A tag given by a label or another case (``/feeds/tags/Droits%20humains/atom.xml``), or a
    language in another case (``/feeds/languages/RU/atom.xml``): 308 to the canonical URL."""
    given = (values or {}).get("slug")
    kind = (values or {}).get("kind")
    if kind not in ("tag", "language") or given is None:
        return
    index = current_index()
    slug: str | None = urls.canonical_tag(index, given) if kind == "tag" else index.canonical_lang(given)
    if slug is not None and slug != given:
        prefix = "tags" if kind == "tag" else "languages"
        rest = request.path.removeprefix(f"/feeds/{prefix}/{given}")  # the document under the scope: /atom.xml, ...
        query = request.query_string.decode("latin-1")
        target = urls.absolute(index.site, urls.scope_path(kind, slug) + rest)
        raise RequestRedirect(target + (f"?{query}" if query else ""))


@event_bp.get("/posts/<slug>/event.ics")
def event_ics(slug: str) -> Any:
    """The event of a post as a single-VEVENT calendar; 404 when the post has none.

    The same iCalendar writer as the calendar feeds: one VEVENT, with the VTIMEZONE of its
    zone (RFC 5545 §3.6.5), its UID the post's id, so importing it twice updates one event.
    """
    index = current_index()
    post = index.get(slug)
    if post is None or post.event is None:
        raise NotFound("there is no published event post with this slug")
    site = index.site
    ttl = int(current_app.config["MAX_AGE"])

    def produce() -> Representation:
        link = urls.permalink(site, post)
        doc = FeedDoc(
            fmt=CALENDAR.name,
            site=site,
            id=post.id,
            title=post.title,
            subtitle=post.summary,
            updated=post.updated,
            language=post.lang,
            self_url=urls.event_calendar(site, post),
            alternate_url=link,
            items=(FeedItem(post, link, (), translations_of(index, post)),),
            ttl_seconds=ttl,
        )
        return Representation(icalendar.write(doc), CALENDAR.media_type, index.last_modified((post,)))

    return http.send(caching.render("event.ics", {"slug": post.slug}, produce))
