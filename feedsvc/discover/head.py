"""The discovery part of every HTML page's <head>: cards, the JSON-LD graph, oEmbed links.

Registered as the Jinja global ``discovery_head``; base.html calls it with the page's
own context (site, canonical, title, post, versions, ...), so the pages' views need not
know this package. It runs only when a page is rendered (a render-cache miss).
"""

from __future__ import annotations

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from .. import urls
from ..content import Post, Site
from .cards import Card, Meta, metas
from .structured import Page, Version, graph, script_text


def _versions(ctx: Context) -> tuple[Version, ...]:
    return tuple(Version(v["href"], v["lang"], bool(v["original"])) for v in ctx.get("versions") or () if not v["current"])


def _card_and_page(ctx: Context, site: Site) -> tuple[Card, Page]:
    post: Post | None = ctx.get("post")
    url = ctx.get("canonical") or urls.home(site)
    title = ctx.get("title") or site.title
    description = ctx.get("meta_description") or ctx.get("description") or site.subtitle or site.title
    lang = post.lang if post is not None else ctx.get("title_lang") or ctx.get("page_lang") or site.language
    versions = _versions(ctx)
    crumbs: list[tuple[str, str]] = [(site.title, urls.home(site))]
    section = None
    if post is not None:
        cats = ctx.get("categories") or []
        if cats:
            section = cats[0]["title"]
            crumbs.append((section, cats[0]["href"]))
        crumbs.append((post.title, url))
    elif url != urls.home(site):
        crumbs.append((title, url))
    image = (post.image if post is not None else None) or site.logo or site.icon
    card = Card(
        site_name=site.title,
        title=title,
        description=description,
        url=url,
        lang=lang,
        image=image,
        image_alt=post.image_alt if post is not None and post.image else None,
        alternate_langs=tuple(v.lang for v in versions),
        twitter_site=site.twitter,
        published=post.date if post is not None else None,
        modified=post.updated if post is not None else None,
        section=section,
        tags=tuple(t.label for t in post.tags) if post is not None else (),
    )
    page = Page(
        site=site,
        url=url,
        title=title,
        description=description,
        lang=lang,
        crumbs=tuple(crumbs),
        post=post,
        section=section,
        versions=versions,
    )
    return card, page


def _markup(meta_tags: list[Meta], jsonld: str, oembed: list[tuple[str, str]], title: str) -> Markup:
    # Built here rather than by a second template: a nested render costs more than the rest of
    # the head together (a new context, three escapes per tag). Keys and types are this
    # package's constants; every value, URL and title is escaped.
    parts = [f'<meta {attr}="{key}" content="{escape(value)}">\n' for attr, key, value in meta_tags]
    if oembed:
        title_attr = escape(title)
        parts += [f'<link rel="alternate" type="{kind}" href="{escape(href)}" title="{title_attr}">\n' for kind, href in oembed]
    parts.append(f'<script type="application/ld+json">{jsonld}</script>')
    return Markup("".join(parts))


@pass_context
def discovery_head(ctx: Context) -> Markup:
    """The <meta> cards, the JSON-LD script and (on posts) the oEmbed links of the page being rendered."""
    site: Site = ctx["site"]
    card, page = _card_and_page(ctx, site)
    oembed: list[tuple[str, str]] = []
    if page.post is not None and ctx.get("embeddable", True):
        oembed = [
            ("application/json+oembed", urls.oembed(site, page.url, "json")),
            ("text/xml+oembed", urls.oembed(site, page.url, "xml")),
        ]
    return _markup(metas(card), script_text(graph(page)), oembed, page.title)
