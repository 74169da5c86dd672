"""OPML 2.0 list of every feed (all posts, each category, each tag), built with lxml.

Spec: http://opml.org/spec2.opml. One outline per feed, in one format, so a reader that
imports the file subscribes to each feed once.
"""

from __future__ import annotations

from email.utils import format_datetime

from lxml import etree

from .. import urls
from ..content import Index
from .document import EPOCH, newest

#: OPML type attribute per format ("rss" is the OPML type for any syndication feed).
LABELS = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed"}


def write(index: Index, fmt: str = "atom") -> bytes:
    """The OPML document listing every feed of ``index`` in format ``fmt``."""
    site = index.site
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = f"{site.title}: all feeds"
    # OPML dates are RFC 822; from content, never the clock.
    changed = newest(index.posts, EPOCH)
    etree.SubElement(head, "dateCreated").text = format_datetime(min((p.date for p in index.posts),
                                                                     default=EPOCH))
    etree.SubElement(head, "dateModified").text = format_datetime(changed)
    etree.SubElement(head, "ownerName").text = site.author.name
    if site.author.email:
        etree.SubElement(head, "ownerEmail").text = site.author.email
    etree.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = etree.SubElement(root, "body")

    def outline(parent: etree._Element, title: str, description: str, kind: str, slug: str | None,
                html: str) -> None:
        etree.SubElement(parent, "outline", type="rss", text=title, title=title, description=description,
                         xmlUrl=urls.feed(site, fmt, kind, slug), htmlUrl=html, language=site.language,
                         version="RSS2" if fmt == "rss" else LABELS[fmt])

    outline(body, site.title, site.subtitle or site.title, "all", None, urls.home(site))
    cats = etree.SubElement(body, "outline", text="Categories", title="Categories")
    for info in index.categories:
        c = info.category
        outline(cats, f"{site.title}: {c.title}", c.description or c.title, "category", c.slug,
                urls.category_page(site, c.slug))
    if index.tags:
        tags = etree.SubElement(body, "outline", text="Tags", title="Tags")
        for slug, info in index.tags.items():
            outline(tags, f"{site.title}: {info.tag.label}", f"Posts tagged “{info.tag.label}”", "tag", slug,
                    urls.tag_page(site, slug))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
