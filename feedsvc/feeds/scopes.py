"""Feed scopes: which posts a feed lists (all, a category, a tag, a language) and its variants' names.

A scope is resolved from a URL's kind and slug (FeedNotFound when unknown); its query,
its feed id (RFC 4151 tag URI, stable across ``base_url``) and the normalised query
parameters of a variant (``lang``, ``q``, ``page``) are decided here, once for every format.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from .. import i18n, urls
from ..content import Index, Post, Query, Site
from .document import FeedNotFound, Scope


def resolve_scope(index: Index, kind: str, slug: str | None) -> Scope:
    """The scope for a URL; raises FeedNotFound for an unknown category or tag."""
    site = index.site
    if kind == "all":
        return Scope("all", None, site.title, site.subtitle or site.title, urls.home(site))
    if kind == "category":
        cat = site.category(slug or "")
        if cat is None:
            raise FeedNotFound(f"unknown category {slug!r}")
        return Scope(
            "category", cat.slug, f"{site.title}: {cat.title}", cat.description or cat.title, urls.category_page(site, cat.slug)
        )
    if kind == "tag":
        info = index.tags.get(slug or "")
        if info is None:
            raise FeedNotFound(f"unknown tag {slug!r}")
        return Scope(
            "tag",
            info.tag.slug,
            f"{site.title}: {info.tag.label}",
            f"Posts tagged “{info.tag.label}”",
            urls.tag_page(site, info.tag.slug),
        )
    if kind == "language":
        if slug not in index.languages:
            raise FeedNotFound(f"no posts in language {slug!r}")
        # Named as its page names it: the language's own name (/languages/<lang>).
        return Scope(
            "language",
            slug,
            f"{site.title}: {i18n.language_name(slug)}",
            site.subtitle or site.title,
            urls.language_page(site, slug),
            lang=slug,
        )
    raise FeedNotFound(kind)


def scope_query(scope: Scope, lang: str | None, q: str | None = None) -> Query:
    """The index query of a scope, optionally one language and a search."""
    return Query(
        category=scope.slug if scope.kind == "category" else None,
        tag=scope.slug if scope.kind == "tag" else None,
        lang=lang or scope.lang,
        q=q,
    )


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
