"""One schema.org JSON-LD ``@graph`` per page, built from small pieces (after Yoast's).

Each piece is a function that returns its node, or None when it does not apply to the
page; nodes refer to each other by ``@id`` (a fragment of an absolute URL). Rules from
schema.org and Google's Article and Event documentation. ``script_text`` makes the JSON
safe inside ``<script>`` (HTML §4.12.1.3: no text may close the element).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..canonical_json import to_json
from ..content import Post, Site

Node = dict[str, Any]
SCHEMA = "https://schema.org"
#: schema.org eventAttendanceMode by the Event's attendance.
ATTENDANCE_MODES = {
    "online": f"{SCHEMA}/OnlineEventAttendanceMode",
    "offline": f"{SCHEMA}/OfflineEventAttendanceMode",
    "mixed": f"{SCHEMA}/MixedEventAttendanceMode",
}


@dataclass(frozen=True, slots=True)
class Version:
    """Another language version of a post: its URL and language, and whether it is the original."""

    url: str
    lang: str
    original: bool


@dataclass(frozen=True, slots=True)
class Page:
    """What the graph of one page describes."""

    site: Site
    url: str
    title: str
    description: str
    lang: str
    #: (name, absolute URL) from the home page to this page.
    crumbs: tuple[tuple[str, str], ...] = ()
    post: Post | None = None
    #: The post's first category's title.
    section: str | None = None
    #: The post's other versions (translations, or the original).
    versions: tuple[Version, ...] = ()


def _org_id(site: Site) -> str:
    return f"{site.base_url}/#organization"


def _is_url(text: str | None) -> bool:
    return bool(text) and text.strip().lower().startswith(("https://", "http://"))  # type: ignore[union-attr]


def organization(page: Page) -> Node | None:
    """The publisher: name, url, logo."""
    site = page.site
    node: Node = {
        "@type": "Organization",
        "@id": _org_id(site),
        "name": site.author.name,
        "url": site.author.uri or f"{site.base_url}/",
    }
    if site.logo or site.icon:
        node["logo"] = {"@type": "ImageObject", "url": site.logo or site.icon}
    return node


def website(page: Page) -> Node | None:
    """The site itself."""
    site = page.site
    return {
        "@type": "WebSite",
        "@id": f"{site.base_url}/#website",
        "url": f"{site.base_url}/",
        "name": site.title,
        "inLanguage": site.language,
        "publisher": {"@id": _org_id(site)},
    }


def webpage(page: Page) -> Node | None:
    """This page."""
    node: Node = {
        "@type": "WebPage",
        "@id": page.url,
        "url": page.url,
        "name": page.title,
        "inLanguage": page.lang,
        "isPartOf": {"@id": f"{page.site.base_url}/#website"},
    }
    if page.description:
        node["description"] = page.description
    if len(page.crumbs) > 1:
        node["breadcrumb"] = {"@id": f"{page.url}#breadcrumb"}
    return node


def breadcrumbs(page: Page) -> Node | None:
    """Home -> category -> post (only when there is more than the home page)."""
    if len(page.crumbs) < 2:
        return None
    return {
        "@type": "BreadcrumbList",
        "@id": f"{page.url}#breadcrumb",
        "itemListElement": [
            {"@type": "ListItem", "position": n, "name": name, "item": url} for n, (name, url) in enumerate(page.crumbs, 1)
        ],
    }


def article(page: Page) -> Node | None:
    """A post as a NewsArticle, with its translation links."""
    post = page.post
    if post is None:
        return None
    site = page.site
    by_site = post.author == site.author
    author: Node = {"@id": _org_id(site)} if by_site else {"@type": "Person", "name": post.author.name}
    if not by_site and post.author.uri:
        author["url"] = post.author.uri
    node: Node = {
        "@type": "NewsArticle",
        "@id": f"{page.url}#article",
        "mainEntityOfPage": {"@id": page.url},
        "headline": post.title,
        "description": post.summary,
        "url": page.url,
        "datePublished": post.date.isoformat(),
        "dateModified": post.updated.isoformat(),
        "author": author,
        "publisher": {"@id": _org_id(site)},
        "inLanguage": post.lang,
        "keywords": [t.label for t in post.tags],
    }
    if page.section:
        node["articleSection"] = page.section
    if post.image:
        node["image"] = {"@type": "ImageObject", "url": post.image, **({"caption": post.image_alt} if post.image_alt else {})}
    original = [v for v in page.versions if v.original]
    if post.translation_of and original:
        node["translationOfWork"] = {"@id": f"{original[0].url}#article"}
    elif not post.translation_of and page.versions:
        node["workTranslation"] = [{"@id": f"{v.url}#article", "inLanguage": v.lang} for v in page.versions]
    return node


def event(page: Page) -> Node | None:
    """A post's event: when, how to attend, where, in which languages."""
    post = page.post
    if post is None or post.event is None:
        return None
    ev = post.event
    mode = ev.mode
    places: list[Node] = []
    if mode in ("online", "mixed"):
        virtual = ev.location if _is_url(ev.location) else (ev.url or ev.registration_url or page.url)
        places.append({"@type": "VirtualLocation", "url": virtual})
    if mode in ("offline", "mixed"):
        place_name = ev.location if ev.location and not _is_url(ev.location) else post.title
        places.append({"@type": "Place", "name": place_name, "address": place_name})
    node: Node = {
        "@type": "Event",
        "@id": f"{page.url}#event",
        "name": post.title,
        "description": post.summary,
        "url": page.url,
        "startDate": (ev.start.date() if ev.all_day else ev.start).isoformat(),  # schema.org: Date or DateTime
        "eventAttendanceMode": ATTENDANCE_MODES[mode],
        "eventStatus": f"{SCHEMA}/EventScheduled",
        "location": places if len(places) > 1 else places[0],
        "organizer": {"@id": _org_id(page.site)},
        # The post's language, then the interpretation languages.
        "inLanguage": list(dict.fromkeys((post.lang, *ev.languages))),
        "subjectOf": {"@id": f"{page.url}#article"},
    }
    if ev.end is not None:
        node["endDate"] = (ev.end.date() if ev.all_day else ev.end).isoformat()
    if post.image:
        node["image"] = post.image
    if ev.registration_url or ev.url:
        node["offers"] = {"@type": "Offer", "url": ev.registration_url or ev.url}
    return node


#: The pieces, in graph order; each decides on its own whether it applies.
PIECES: Sequence[Callable[[Page], Node | None]] = (organization, website, webpage, breadcrumbs, article, event)


def graph(page: Page) -> Node:
    """The page's one JSON-LD document: ``@context`` and every applicable piece in ``@graph``."""
    return {"@context": SCHEMA, "@graph": [n for n in (piece(page) for piece in PIECES) if n is not None]}


#: Characters that could end a <script> element or start markup, and their JSON escapes.
_SCRIPT_SAFE = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def script_text(data: Node) -> str:
    """``data`` as JSON text that is safe inside <script type="application/ld+json"> (same bytes for same data)."""
    text = to_json(data).decode("utf-8")
    for char, escape in _SCRIPT_SAFE:  # str.replace: str.translate walks the text one code point at a time
        if char in text:
            text = text.replace(char, escape)
    return text
