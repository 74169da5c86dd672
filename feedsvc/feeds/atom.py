"""Atom 1.0 writer (RFC 4287) over feedgen; with RFC 5005 paging/archive links and WebSub.

Spec: https://www.rfc-editor.org/rfc/rfc4287. feedgen's traps are handled here: every
``updated`` is set from content dates (its default is the clock), entries are added with
``order='append'`` (its default reverses them), and ``self`` is the first link.
"""

from __future__ import annotations

from feedgen.feed import FeedGenerator

from ..content import Author
from ..formats import ATOM
from .document import FeedDoc
from .xmlext import EntryExtension, FeedExtension


def write(doc: FeedDoc) -> bytes:
    """The Atom document for ``doc``, with the browser stylesheet instruction."""
    fg = FeedGenerator()
    fg.register_extension("feedsvc", FeedExtension, EntryExtension, atom=True, rss=False)
    fg.feedsvc.doc = doc
    fg.id(doc.id)
    fg.title(doc.title)
    if doc.subtitle:
        fg.subtitle(doc.subtitle)
    fg.updated(doc.updated)
    fg.language(doc.language)  # xml:lang on <feed>
    site = doc.site
    # RFC 4287 §4.1.1: an author on the feed covers every entry (entries name their own too).
    fg.author(_person(site.author))
    fg.link(href=doc.self_url, rel="self", type=ATOM.mimetype)
    for link in doc.links:
        fg.link(href=link.href, rel=link.rel, **({"type": link.type} if link.type else {}))
    fg.link(href=doc.alternate_url, rel="alternate", type="text/html")
    if site.icon:
        fg.icon(site.icon)
    if site.logo:
        fg.logo(site.logo)
    if site.rights:
        fg.rights(site.rights)
    name, version, uri = doc.generator
    fg.generator(name, version=version, uri=uri or None)
    for item, html in zip(doc.items, doc.contents(), strict=True):
        post = item.post
        fe = fg.add_entry(order="append")
        fe.feedsvc.item = item
        fe.id(post.id)
        fe.title(post.title or post.slug)
        fe.updated(post.updated)
        fe.published(post.date)
        fe.author(_person(post.author))
        # Entry links (alternate, enclosures) come from EntryExtension: see xmlext.
        if item.terms:
            fe.category(item.feedgen_categories)
        if post.summary:
            fe.summary(post.summary, type="text")
        fe.content(html, type="html")
    xml: bytes = fg.atom_str()  # the stylesheet instruction comes from FeedExtension
    return xml


def _person(author: Author) -> dict[str, str]:
    return {k: v for k, v in (("name", author.name), ("email", author.email), ("uri", author.uri)) if v}
