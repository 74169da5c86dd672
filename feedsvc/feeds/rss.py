"""RSS 2.0 writer over feedgen, with atom:link self/paging/archive/hub links.

Spec: https://www.rssboard.org/rss-specification. feedgen takes the channel <link> from
the last link added, so ``self`` goes first and ``alternate`` last; RSS allows one
enclosure per item: the first attachment is the ``<enclosure>``, every further one a Media
RSS ``media:content`` (xmlext), so podcast clients reading RSS see them all. Every
``<description>`` is HTML to readers, so plain text (a summary) is escaped into it. The
post image opens ``content:encoded`` too: newsletter tools that mail the content
(rss2email) read neither ``media:thumbnail`` nor ``media:content``.
"""

from __future__ import annotations

import math
from html import escape

from feedgen.feed import FeedGenerator

from ..formats import RSS
from ..urls import ascii_uri
from .document import FeedDoc
from .xmlext import EntryExtension, FeedExtension


def write(doc: FeedDoc) -> bytes:
    """The RSS 2.0 document for ``doc``, with the browser stylesheet instruction."""
    site = doc.site
    fg = FeedGenerator()
    fg.register_extension("feedsvc", FeedExtension, EntryExtension, atom=False, rss=True)
    fg.feedsvc.doc = doc
    fg.title(doc.title)
    fg.description(_html(doc.subtitle or doc.title))
    fg.updated(doc.updated)  # also lastBuildDate
    fg.pubDate(doc.updated)
    fg.language(doc.language)
    # RSS 2.0 names URLs, not IRIs: every URL in URI form (IDNA host, percent-encoded UTF-8).
    fg.link(href=ascii_uri(doc.self_url), rel="self", type=RSS.mimetype)
    fg.link(href=ascii_uri(doc.alternate_url), rel="alternate")  # last: becomes the channel <link>
    if site.rights:
        fg.copyright(site.rights)
    if site.author.email:
        fg.managingEditor(f"{site.author.email} ({site.author.name})")
    image = site.logo or site.icon
    if image:
        fg.image(url=ascii_uri(image), title=doc.title, link=ascii_uri(doc.alternate_url))
    fg.generator(f"{doc.generator[0]} {doc.generator[1]}")
    fg.docs("https://www.rssboard.org/rss-specification")
    if doc.ttl_seconds > 0:  # minutes, rounded up, matching Cache-Control max-age
        fg.ttl(math.ceil(doc.ttl_seconds / 60))
    for item, html in zip(doc.items, doc.contents(), strict=True):
        post = item.post
        fe = fg.add_entry(order="append")
        fe.feedsvc.item = item
        fe.title(post.title or post.slug)
        fe.link(href=ascii_uri(item.url), rel="alternate")
        # The post id is a tag: URI, not a URL: isPermaLink="false" unless it is the link.
        fe.guid(post.id, permalink=post.id == item.url)
        fe.published(post.date)  # pubDate (RFC 822 date)
        fe.updated(post.updated)
        if post.author.email:
            fe.author(name=post.author.name, email=post.author.email)
        if item.terms:
            fe.category(item.feedgen_categories)
        if post.attachments:
            att = post.attachments[0]
            fe.enclosure(ascii_uri(att.url), str(att.size_in_bytes or 0), att.mime_type)
        fe.content(_with_image(post.image, post.image_alt, html), type="html")  # content:encoded
        fe.description(_html(post.summary or post.title or post.slug))
    xml: bytes = fg.rss_str()  # the stylesheet instruction comes from FeedExtension
    return xml


def _with_image(image: str | None, alt: str | None, html: str) -> str:
    """``html`` opened by the post image (its absolute URL), when the post has one."""
    if not image:
        return html
    return f'<p><img src="{escape(image)}" alt="{escape(alt or "")}"></p>\n{html}'


def _html(text: str) -> str:
    """Plain text as the HTML an RSS ``<description>`` holds: ``<img …>`` in a summary stays text.

    Titles stay plain text, as RSS 2.0 and the RSS Best Practices Profile have them (readers
    such as newsboat show them verbatim, so escaping them would show ``&amp;`` there).
    """
    return escape(text, quote=False)
