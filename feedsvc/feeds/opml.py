"""OPML 2.0 list of every feed (all posts, each category, language and tag, the calendars), built with lxml.

Spec: http://opml.org/spec2.opml. One outline per feed, in one format, so a reader that
imports the file subscribes to each feed once. Feeds are grouped (Categories, Languages,
Tags); the calendars are a Calendars group of ``type="link"`` outlines: a feed reader
cannot read iCalendar, so they are listed for people and calendar tools, not subscribed to.
"""

from __future__ import annotations

from email.utils import format_datetime
from html import escape

from lxml import etree

from .. import urls
from ..content import Index
from ..formats import CALENDAR, FORMATS
from .document import EPOCH
from .scopes import resolve_scope, scope_query


def write(index: Index, fmt: str = "atom") -> bytes:
    """The OPML document listing every feed of ``index`` in format ``fmt``."""
    site = index.site
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = f"{site.title}: all feeds"
    # OPML dates are RFC 822; from content, never the clock.
    latest = index.latest_update()
    changed = latest.updated if latest is not None else EPOCH
    oldest = index.oldest()
    etree.SubElement(head, "dateCreated").text = format_datetime(oldest.date if oldest else EPOCH)
    etree.SubElement(head, "dateModified").text = format_datetime(changed)
    etree.SubElement(head, "ownerName").text = site.author.name
    if site.author.email:
        etree.SubElement(head, "ownerEmail").text = site.author.email
    etree.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = etree.SubElement(root, "body")

    def outline(parent: etree._Element, kind: str, slug: str | None) -> None:
        # The same title, description and page as the feed itself says (one source: resolve_scope).
        scope = resolve_scope(index, kind, slug)
        # OPML 2.0: ``text`` may hold encoded HTML, and ``description`` is the feed's (an RSS
        # description, HTML): plain text entering them is escaped. ``title`` is the feed's title.
        etree.SubElement(
            parent,
            "outline",
            type="rss",
            text=escape(scope.title, quote=False),
            title=scope.title,
            description=escape(scope.description, quote=False),
            xmlUrl=urls.feed(site, fmt, kind, slug),
            htmlUrl=scope.html_url,
            language=scope.lang or site.language,
            version=FORMATS[fmt].opml_version,
        )  # type="rss" is OPML's for any feed

    def group(title: str, members: list[tuple[str, str | None]]) -> None:
        # A group outline (no type) holding one feed outline per member; none when there are no members.
        if members:
            parent = etree.SubElement(body, "outline", text=title, title=title)
            for kind, slug in members:
                outline(parent, kind, slug)

    categories: list[tuple[str, str | None]] = [("category", info.category.slug) for info in index.categories]
    languages: list[tuple[str, str | None]] = [("language", lang) for lang in index.languages] if len(index.languages) > 1 else []
    outline(body, "all", None)
    group("Categories", categories)
    group("Languages", languages)
    group("Tags", [("tag", slug) for slug in index.tags])
    # The site's calendar, and each category's and language's that has an event.
    calendars = etree.SubElement(body, "outline", text="Calendars", title="Calendars")
    for kind, slug in [("all", None), *categories, *languages]:
        scope = resolve_scope(index, kind, slug)
        if kind == "all" or index.has_events(scope_query(scope, None)):
            etree.SubElement(
                calendars,
                "outline",
                type="link",
                text=escape(scope.title, quote=False),
                title=scope.title,
                url=urls.feed(site, CALENDAR.name, kind, slug),
                htmlUrl=scope.html_url,
            )
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml
