"""HTML pages (/, /posts/<slug>, /categories/<slug>, /tags/<tag>, /languages/<lang>), the /embed
builder and /embed.js.

Views stay thin: look the page up in the index, describe it for a Jinja template
(autoescaped; pages.py describes), render through ``caching.render`` in the page's
language (``i18n.speaking``) and answer with ``http.send``. Pages carry no inline script
or style, so they work under the strict CSP sent on HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from flask import Blueprint, Response, current_app, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from . import assets, caching, errors, http, i18n, urls
from .content import Index, Post, Query, Site
from .extensions import current_index
from .formats import ALL, CALENDAR, FEEDS
from .i18n import _
from .negotiation import prefers_activity
from .pages import discovery, feed_links, human_size, languages, post_item, versions

bp = Blueprint("web", __name__)

HTML = "text/html; charset=utf-8"
asset_url = urls.asset_url
#: Posts listed on the front page.
HOME_POSTS = 10
#: Tags shown on the front page (the most used ones).
HOME_TAGS = 40


# -- helpers -------------------------------------------------------------------------------

#: What a page view hands to ``_render``: (Last-Modified, template context), built on a miss only.
Build = Callable[[], tuple[datetime, dict[str, Any]]]


def _page_globals(site: Site, lang: str) -> dict[str, Any]:
    """What every page's frame needs: its language and direction, links built by urls.py."""
    return dict(
        site=site,
        asset=asset_url,
        home_url=urls.home(site),
        embed_url=urls.absolute(site, "/embed"),
        opml_url=urls.opml(site),
        api_url=urls.api(site, "/posts"),
        page_lang=lang,
        page_dir=i18n.direction(lang),
        dir_of=i18n.direction,
    )


def _render(
    endpoint: str, args: Mapping[str, object], template: str, build: Build, lang: str, headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    """Render ``template`` in ``lang`` through the render cache and send it (a hit does no page work)."""

    def produce() -> caching.Representation:
        site = current_index().site
        with i18n.speaking(lang):
            last_modified, ctx = build()
            body = render_template(template, **_page_globals(site, lang), **ctx)
        return caching.Representation(body.encode("utf-8"), HTML, last_modified, headers=headers)

    return http.send(caching.render(endpoint, args, produce))


def shown(value: str, limit: int = 80) -> str:
    """A client-supplied path segment made safe to echo: printable, bounded."""
    clean = "".join(ch if ch.isprintable() else "\N{REPLACEMENT CHARACTER}" for ch in value[:limit])
    return clean + ("…" if len(value) > limit else "")


def not_found(message: Callable[[], str], status: int = 404) -> Response:
    """A small HTML 404 (or 410 Gone) page in the site's language (no validators: nothing to revalidate)."""
    site = current_index().site
    lang = i18n.page_language(site.language)
    with i18n.speaking(lang):
        heading = _("Gone") if status == 410 else _("Not found")
        body = render_template("web/404.html", **_page_globals(site, lang), message=message(), heading=heading)
    return Response(body, status=status, content_type=HTML)


def _listed(idx: Index, posts: Sequence[Post], lang: str) -> list[dict[str, Any]]:
    """The newest posts of a list page, bounded like a feed document."""
    return [post_item(idx.site, p, lang) for p in posts[: int(current_app.config["FEED_SIZE"])]]


@bp.record_once
def _setup(setup: Any) -> None:
    i18n.init_app(setup.app)
    # Unrouted HTML paths get the site's own 404 page (errors.py asks for it by this name).
    errors.set_not_found_page(setup.app, lambda: not_found(lambda: _("There is no page at this address.")))


# -- pages ---------------------------------------------------------------------------------


@bp.get("/")
def home() -> Response:
    """The front page, in the site's language: latest posts, categories, languages, tags, every feed."""
    idx = current_index()
    lang = i18n.page_language(idx.site.language)

    def build() -> tuple[datetime, dict[str, Any]]:
        site = idx.site
        latest = idx.posts[:HOME_POSTS]
        popular = sorted(idx.tags.values(), key=lambda t: (-t.count, t.tag.slug))[:HOME_TAGS]
        return idx.query_last_modified(), dict(  # counts and tags cover every post
            title=site.title,
            alternates=discovery(site),
            canonical=urls.home(site),
            posts=[post_item(site, p, lang) for p in latest],
            total=len(idx.posts),
            categories=[
                {
                    "info": c,
                    "href": urls.category_page(site, c.category.slug),
                    "feeds": feed_links(site, "category", c.category.slug),
                }
                for c in idx.categories
            ],
            tags=[
                {"info": t, "href": urls.tag_page(site, t.tag.slug)}
                for t in sorted(popular, key=lambda t: (t.tag.label.lower(), t.tag.slug))
            ],
            languages=languages(idx, lang) if len(idx.languages) > 1 else [],
            feeds=feed_links(site),
            opml=urls.opml(site),
            api=urls.api(site, "/posts"),
        )

    return _render("web.home", {}, "web/home.html", build, lang)


@bp.get("/posts/<slug>")
def post_page(slug: str) -> BaseResponse:
    """One post, in its own language: content, date, categories, tags, attachments, event, versions."""
    idx = current_index()
    site = idx.site
    fediverse = current_app.extensions.get("fediverse") if site.fediverse else None
    if fediverse is not None and prefers_activity(request.headers.get("Accept")):
        # The post's ActivityPub object (or its Tombstone, 410) at the same URL (outbox/fediverse).
        answer = fediverse.object_response(idx, slug)
        if answer is not None:
            return cast(BaseResponse, answer)
    post = idx.get(slug)
    if post is None:
        target = idx.alias_target(slug)  # aliases only ever name published posts
        if target is not None:
            # RFC 9110 §15.4.9: 308 keeps the method and tells caches the move is permanent.
            return cast(Response, redirect(urls.permalink(site, idx.get(target)), 308))  # type: ignore[arg-type]
        path = "/posts/" + shown(slug)
        if idx.expired(slug):  # RFC 9110 15.5.11: withdrawn at its `expires`, for good (its aliases too)
            return not_found(lambda: _("The post at %(path)s was withdrawn.", path=path), 410)
        return not_found(lambda: _("There is no post at %(path)s.", path=path))
    if site.permalink:
        # The organisation's website is the canonical home; 302 because the setting can change.
        return cast(Response, redirect(urls.permalink(site, post), 302))  # the app's response class
    lang = post.lang

    def build() -> tuple[datetime, dict[str, Any]]:
        event = None
        if post.event is not None:
            ev = post.event
            # Whole days (dates alone) show as dates, without a time or a zone.
            when = i18n.human_date if ev.all_day else i18n.human_datetime
            event = {
                "start": ev.start.date() if ev.all_day else ev.start,
                "start_text": when(ev.start, lang),
                "end": (ev.end.date() if ev.all_day else ev.end) if ev.end else None,
                "end_text": when(ev.end, lang) if ev.end else "",
                "location": ev.location,
                "url": ev.url,
                "timezone": ev.timezone,
                "mode": ev.mode,
                "registration_url": ev.registration_url or ev.url,
                # Interface words: named in the page's language, like the labels around them.
                "languages": [i18n.language_name(code, i18n.page_language(lang)) for code in ev.languages],
                "ics": urls.event_calendar(site, post),
            }
        cats = []
        for c in post.categories:
            declared = site.category(c)
            cats.append({"slug": c, "title": declared.title if declared else c, "href": urls.category_page(site, c)})
        calendar = (
            urls.feed(site, CALENDAR.name, "category", post.categories[0]) if post.categories else urls.feed(site, CALENDAR.name)
        )
        others = versions(idx, post)
        # The page shows the other versions' titles: it changes when they do.
        shown_posts = (post, *idx.translations(post)) if others else (post,)
        alternates = discovery(site)
        if fediverse is not None:
            alternates.append({"type": "application/activity+json", "title": post.title, "href": urls.post_page(site, post)})
        return idx.last_modified(shown_posts), dict(
            title=post.title,
            alternates=alternates,
            canonical=urls.post_page(site, post),
            post=post,
            date=i18n.human_date(post.date, lang),
            updated=i18n.human_date(post.updated, lang) if post.updated.date() != post.date.date() else "",
            categories=cats,
            tags=[{"tag": t, "href": urls.tag_page(site, t.slug)} for t in post.tags],
            attachments=[{"a": a, "size": human_size(a.size_in_bytes, lang)} for a in post.attachments],
            event=event,
            calendar=calendar,
            versions=others,
        )

    return _render(
        "web.post",
        {"slug": post.slug},
        "web/post.html",
        build,
        i18n.page_language(lang),
        (("Vary", "Accept"),) if fediverse is not None else (),
    )


@bp.get("/categories/<slug>")
def category_page(slug: str) -> BaseResponse:
    """The posts of one category, with its feeds."""
    site = current_index().site
    cat = site.category(slug)
    if cat is None:
        return not_found(lambda: _("There is no category “%(name)s”.", name=shown(slug)))
    return _list_page(
        "web.category", {"slug": slug}, "category", slug, cat.title, cat.description, urls.category_page(site, slug)
    )


@bp.get("/tags/<tag>")
def tag_page(tag: str) -> BaseResponse:
    """The posts with one tag, with its feeds; a tag given by a label (any case) redirects to its slug."""
    idx = current_index()
    slug = urls.canonical_tag(idx, tag)
    if slug is None:
        return not_found(lambda: _("There is no tag “%(name)s”.", name=shown(tag)))
    if slug != tag:
        return redirect(urls.tag_page(idx.site, slug), 308)
    info = idx.tags[slug]
    return _list_page(
        "web.tag", {"tag": slug}, "tag", slug, info.tag.label, "", urls.tag_page(idx.site, slug), FEEDS
    )  # the contract's tag feeds


def _list_page(
    endpoint: str,
    key: dict[str, str],
    kind: str,
    slug: str,
    title: str,
    description: str,
    canonical: str,
    formats: Sequence[str] = ALL,
) -> Response:
    """A category's or tag's latest posts, in the site's language, with its feeds and their autodiscovery."""
    idx = current_index()
    site = idx.site
    lang = i18n.page_language(site.language)

    def build() -> tuple[datetime, dict[str, Any]]:
        query = Query(category=slug) if kind == "category" else Query(tag=slug)
        posts = idx.query(query)
        return idx.query_last_modified(query), dict(
            title=title,
            description=description,
            kind=_("Category") if kind == "category" else _("Tag"),
            alternates=discovery(site, kind, slug, title),
            canonical=canonical,
            posts=_listed(idx, posts, lang),
            total=len(posts),
            feeds=feed_links(site, kind, slug, formats),
        )

    return _render(endpoint, key, "web/list.html", build, lang)


@bp.get("/languages/<lang>")
def language_page(lang: str) -> BaseResponse:
    """One language's posts and feeds, in that language (another spelling of the tag redirects)."""
    idx = current_index()
    site = idx.site
    canonical_lang = idx.canonical_lang(lang)
    if canonical_lang not in idx.languages:
        return not_found(lambda: _("There are no posts in “%(name)s”.", name=shown(lang)))
    if canonical_lang != lang:
        return redirect(urls.language_page(site, canonical_lang), 308)
    page = i18n.page_language(lang)  # the page's words: that language's catalog, else English

    def build() -> tuple[datetime, dict[str, Any]]:
        posts = idx.query(lang=lang)
        name = i18n.language_name(lang)
        return idx.query_last_modified(lang=lang), dict(
            title=name,
            title_lang=lang,
            description="",
            kind=_("Language"),  # the language's own name
            alternates=discovery(site, "language", lang, name),
            canonical=urls.language_page(site, lang),
            posts=_listed(idx, posts, page),
            total=len(posts),
            feeds=feed_links(site, "language", lang),
            languages=languages(idx, page),
        )

    return _render("web.language", {"lang": lang}, "web/list.html", build, page)


# -- embed widget --------------------------------------------------------------------------


@bp.get("/embed")
def embed_page() -> Response:
    """The snippet builder, in the site's language: pick category, tag, language, count, options; copy."""
    idx = current_index()
    lang = i18n.page_language(idx.site.language)

    def build() -> tuple[datetime, dict[str, Any]]:
        site = idx.site
        return idx.last_modified(()), dict(
            title=_("Embed the latest posts on your website"),
            alternates=discovery(site),
            canonical=urls.absolute(site, "/embed"),
            script_url=urls.absolute(site, "/embed.js"),
            categories=idx.categories,
            tags=sorted(idx.tags.values(), key=lambda t: (t.tag.label.lower(), t.tag.slug)),
            languages=languages(idx, lang),
        )

    return _render("web.embed", {}, "web/embed.html", build, lang)


@bp.get("/static/<name>")
def static(name: str) -> Response:
    """A static file (assets.py: a content-hash ETag, long caching when versioned)."""
    return assets.static_file(name)


@bp.get("/embed.js")
def embed_js() -> Response:
    """The partner widget script, its strings filled in (assets.py)."""
    return assets.embed_script()
