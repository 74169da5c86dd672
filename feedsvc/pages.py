"""What the HTML pages show, described for their templates (web.py routes, these describe).

Every text here is translated by the caller's ``i18n.speaking`` block; every URL comes
from urls.py (slugs percent-encoded as UTF-8).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from babel.units import format_unit

from . import i18n, urls
from .content import Index, Post, Site
from .formats import ALL, CALENDAR, FEEDS, FORMATS
from .i18n import _

#: Units of human_size, by power of 1000.
_UNITS = ("digital-byte", "digital-kilobyte", "digital-megabyte", "digital-gigabyte")


def format_label(fmt: str) -> str:
    """The name of a feed format, in the current language (format names are names: only words are translated)."""
    label = FORMATS[fmt].label
    return label if FORMATS[fmt].syndication else _(label)


def human_size(size: int | None, lang: str | None = None) -> str:
    """'1.2 MB' style size in ``lang``'s locale, or '' when unknown."""
    if not size:
        return ""
    value, power = float(size), 0
    while value >= 1000 and power < len(_UNITS) - 1:
        value, power = value / 1000, power + 1
    shown = size if power == 0 else round(value, 1)
    return str(format_unit(shown, _UNITS[power], length="short", locale=i18n.locale_of(lang or "en") or "en"))


def feed_links(
    site: Site, kind: str = "all", slug: str | None = None, formats: Sequence[str] = ALL, params: dict[str, object] | None = None
) -> list[dict[str, Any]]:
    """Every feed of one scope (and variant): URL to copy and one-click subscribe links."""
    out = []
    for fmt in formats:
        url = urls.feed(site, fmt, kind, slug, params)
        if fmt == CALENDAR.name:
            webcal = "webcal://" + url.split("://", 1)[1]
            subscribe = [
                (_("Calendar app"), webcal),
                ("Google Calendar", "https://calendar.google.com/calendar/r?cid=" + quote(webcal, safe="")),
            ]
        else:
            subscribe = [
                ("Feedly", "https://feedly.com/i/subscription/feed/" + quote(url, safe="")),
                ("Inoreader", "https://www.inoreader.com/?add_feed=" + quote(url, safe="")),
            ]
        out.append({"format": fmt, "label": format_label(fmt), "url": url, "subscribe": subscribe})
    return out


def discovery(
    site: Site, kind: str = "all", slug: str | None = None, title: str = "", params: dict[str, object] | None = None
) -> list[dict[str, str]]:
    """<link rel=alternate> autodiscovery entries for a scope."""
    name = f"{site.title} — {title}" if title else site.title
    return [
        {
            "type": FORMATS[fmt].mimetype,
            "title": f"{name} ({FORMATS[fmt].label})",
            "href": urls.feed(site, fmt, kind, slug, params),
        }
        for fmt in FEEDS
    ]


def post_item(site: Site, post: Post, page_lang: str) -> dict[str, Any]:
    """What a list needs to show one post: the date in the page's language, the post's own
    ``lang`` and ``dir`` on its title and summary when they differ from the page's."""
    own = post.lang != page_lang
    return {
        "post": post,
        "href": urls.permalink(site, post),
        "date": i18n.human_date(post.date, page_lang),
        "lang": post.lang if own else None,
        "dir": i18n.direction(post.lang) if own else None,
    }


def versions(idx: Index, post: Post) -> list[dict[str, Any]]:
    """Every version of the post's text (itself included), by language: hreflang links and the switcher."""
    site = idx.site
    found = sorted((post, *idx.translations(post)), key=lambda p: (p.lang, p.slug))
    if len(found) < 2:
        return []
    return [
        {
            "lang": p.lang,
            "dir": i18n.direction(p.lang),
            "name": i18n.language_name(p.lang),
            "title": p.title,
            "href": urls.permalink(site, p),
            "current": p.slug == post.slug,
            "original": not p.translation_of,
        }
        for p in found
    ]


def languages(idx: Index, page_lang: str) -> list[dict[str, Any]]:
    """The languages that have posts: own name, name in the page's language, page URL, count."""
    site = idx.site
    return [
        {
            "lang": lang,
            "dir": i18n.direction(lang),
            "name": i18n.language_name(lang),
            "local_name": i18n.language_name(lang, page_lang),
            "href": urls.language_page(site, lang),
            "count": len(idx.query(lang=lang)),
        }
        for lang in idx.languages
    ]
