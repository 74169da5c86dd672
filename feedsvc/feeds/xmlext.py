"""XML pieces feedgen lacks, as feedgen-style extensions built with lxml (no string assembly).

- RFC 5005 ``fh:archive`` and paging/archive/hub ``atom:link`` elements in RSS channels;
- per-entry ``xml:lang`` (Atom), ``dc:language`` / ``dc:creator`` (RSS), ``media:thumbnail`` (and the
  image as ``media:content medium="image"`` in RSS);
- RSS attachments after the first (RSS allows one ``<enclosure>``) as Media RSS ``media:content``;
- the ``<?xml-stylesheet?>`` processing instruction that lets browsers show a readable page.
"""

from __future__ import annotations

from lxml import etree

from ..content import Attachment
from ..urls import ascii_uri
from .document import FeedDoc, FeedItem

ATOM = "http://www.w3.org/2005/Atom"
FH = "http://purl.org/syndication/history/1.0"
DC = "http://purl.org/dc/elements/1.1/"
MEDIA = "http://search.yahoo.com/mrss/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
#: Media RSS ``medium`` values that a MIME type's top-level type names directly.
_MEDIUMS = ("image", "audio", "video")


class FeedExtension:
    """Feed-level additions; ``doc`` is set right after feedgen instantiates the class."""

    doc: FeedDoc | None = None

    def extend_ns(self) -> dict[str, str]:
        """Namespaces to declare on the root element."""
        ns = {"dc": DC, "media": MEDIA}
        if self.doc is not None and self.doc.archive:
            ns["fh"] = FH
        return ns

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        """The stylesheet instruction; RFC 5005 §4: mark an archive document."""
        if self.doc is None:
            return feed
        _stylesheet_pi(feed, self.doc)
        if self.doc.archive:
            etree.SubElement(feed, f"{{{FH}}}archive")
        return feed

    def extend_rss(self, rss: etree._Element) -> etree._Element:
        """RSS 2.0 has no paging, archive or hub links: carry them as atom:link (RFC 5005, WebSub)."""
        channel = rss.find("channel")
        if self.doc is None or channel is None:
            return rss
        _stylesheet_pi(rss, self.doc)
        for link in self.doc.links:
            etree.SubElement(channel, f"{{{ATOM}}}link", rel=link.rel, href=ascii_uri(link.href))
        if self.doc.archive:
            etree.SubElement(channel, f"{{{FH}}}archive")
        return rss


class EntryExtension:
    """Entry-level additions; ``item`` is set after registration."""

    item: FeedItem | None = None

    def extend_ns(self) -> dict[str, str]:
        """Namespaces used in entries (declared on the root by the feed extension)."""
        return {}

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        """Entry links, xml:lang (RFC 4287 §2) and the image as media:thumbnail.

        The links are written here because feedgen 1.0.0 drops rel/type/length from
        entry links (its loop variable shadows the link data).
        """
        if self.item is None:
            return entry
        post = self.item.post
        entry.set(XML_LANG, post.lang)
        # Unqualified names, as feedgen writes its own: they are in the Atom default namespace
        # once serialised (a qualified name would come out as a stray "ns0:" prefix).
        etree.SubElement(entry, "link", rel="alternate", type="text/html", href=self.item.url)
        if self.item.translations:
            # RFC 4287 §4.2.7.4: every version of the text by language, this one last: readers
            # that take the first html alternate (most) or the last one (feedparser) both get
            # this entry's own page (alternates differ by hreflang, as §4.1.1 requires).
            for t in self.item.translations:
                etree.SubElement(entry, "link", rel="alternate", type="text/html", hreflang=t.lang, href=t.url, title=t.title)
            etree.SubElement(entry, "link", rel="alternate", type="text/html", hreflang=post.lang, href=self.item.url)
        for att in post.attachments:  # RFC 4287 §4.2.7.2: rel=enclosure with type and length
            link = etree.SubElement(entry, "link", rel="enclosure", type=att.mime_type, href=att.url)
            if att.size_in_bytes is not None:
                link.set("length", str(att.size_in_bytes))
            if att.title:
                link.set("title", att.title)
        self._image(entry)
        return entry

    def extend_rss(self, item: etree._Element) -> etree._Element:
        """dc:creator when the author has no e-mail (RSS <author> must be one), dc:language, the image
        (media:thumbnail and media:content), and every attachment after the first (the one ``<enclosure>``
        RSS allows) as media:content."""
        if self.item is None:
            return item
        post = self.item.post
        if not post.author.email:
            etree.SubElement(item, f"{{{DC}}}creator").text = post.author.name
        etree.SubElement(item, f"{{{DC}}}language").text = post.lang
        self._image(item)
        if post.image:
            # Newsletter tools (Mailchimp's RSS campaigns) take the item's picture from Media RSS
            # media:content, not media:thumbnail: https://www.rssboard.org/media-rss#media-content
            etree.SubElement(item, f"{{{MEDIA}}}content", url=ascii_uri(post.image), medium="image")
        for att in post.attachments[1:]:
            _media_content(item, att)
        return item

    def _image(self, parent: etree._Element) -> None:
        if self.item is not None and self.item.post.image:
            # Media RSS names URLs (RSS 2.0's), in Atom too: the URI form of the image's address.
            etree.SubElement(parent, f"{{{MEDIA}}}thumbnail", url=ascii_uri(self.item.post.image))


def _media_content(parent: etree._Element, att: Attachment) -> None:
    """A Media RSS ``media:content`` for one attachment: url, type, fileSize, medium, title (plain)."""
    content = etree.SubElement(parent, f"{{{MEDIA}}}content", url=ascii_uri(att.url), type=att.mime_type)
    if att.size_in_bytes is not None:
        content.set("fileSize", str(att.size_in_bytes))
    medium = att.mime_type.split("/", 1)[0]
    if medium in _MEDIUMS:
        content.set("medium", medium)
    if att.title:
        title = etree.SubElement(content, f"{{{MEDIA}}}title", type="plain")
        title.text = att.title


def _stylesheet_pi(root: etree._Element, doc: FeedDoc) -> None:
    """Put the xml-stylesheet processing instruction before the root element.

    Browsers render the feed through the XSLT; feed readers ignore the instruction.
    feedgen serialises the root's document, so the instruction comes out after the XML
    declaration and before the root, with no re-parse of the finished bytes.
    """
    root.addprevious(etree.ProcessingInstruction("xml-stylesheet", f'type="text/xsl" href="{doc.stylesheet}"'))
