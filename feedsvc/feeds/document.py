"""A format-neutral description of one feed document (Django's ``Feed``): plain values.

Every writer (Atom, RSS, JSON Feed, iCalendar) turns the same ``FeedDoc`` into bytes, so
all formats carry the same entries, dates and links. ``build`` fills one from the Index
(scopes in ``scopes``, RFC 5005 archives in ``archives``). Nothing here reads the clock:
the feed's ``updated`` is the newest entry's, and every URL comes from ``site.base_url``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml.html import builder as E
from lxml.html import tostring

from ..content import Post, Site
from ..content.errors import NotFound
from ..version import __version__
from .events import event_block_html

#: ``updated`` of a feed that has never had an entry: fixed, so its bytes never change.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GENERATOR = ("feedsvc", __version__, "")


class FeedNotFound(NotFound):
    """The scope, page or archive asked for does not exist (answered 404)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """Which posts a feed lists: all, one category, one tag or one language."""

    kind: str  # all | category | tag | language
    slug: str | None
    title: str
    description: str
    html_url: str
    #: The language a ``language`` scope is limited to (its slug).
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class Term:
    """A category or tag of an entry; ``scheme`` tells the two apart."""

    term: str
    label: str
    scheme: str


@dataclass(frozen=True, slots=True)
class Link:
    """A feed-level link (RFC 4287 §4.2.7, RFC 5005 paging/archive relations, WebSub hub)."""

    rel: str
    href: str
    type: str | None = None


@dataclass(frozen=True, slots=True)
class Translation:
    """Another version of an entry's text (issue 14): Atom hreflang links, JSON Feed ``_feedsvc``."""

    lang: str
    slug: str
    url: str
    title: str


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry, derived from a post (content is computed when a writer asks for it)."""

    post: Post
    url: str
    terms: tuple[Term, ...]
    #: The other versions of the post's text, by language.
    translations: tuple[Translation, ...] = ()

    @property
    def feedgen_categories(self) -> list[dict[str, str]]:
        """The terms as feedgen's ``FeedEntry.category`` takes them, in one list.

        One call per entry: feedgen rebuilds its RSS category list on every call.
        """
        return [{"term": t.term, "label": t.label, "scheme": t.scheme} for t in self.terms]

    @property
    def content_html(self) -> str:
        """Full sanitised HTML, with an event block (when, where, registration) first."""
        block = event_block_html(self.post)
        return block + self.post.content_html

    @property
    def short_html(self) -> str:
        """The stand-in for content over the document's byte budget: summary and a link."""
        parts = [E.P(self.post.summary)] if self.post.summary else []
        parts.append(E.P(E.A("Read the full post", href=self.url)))
        return event_block_html(self.post) + "".join(tostring(p, encoding="unicode") for p in parts)


@dataclass(frozen=True, slots=True)
class FeedDoc:
    """Everything one feed document says, whatever its format."""

    fmt: str
    site: Site
    id: str
    title: str
    subtitle: str
    updated: datetime
    language: str
    self_url: str
    alternate_url: str
    items: tuple[FeedItem, ...]
    #: Paging, archive and hub links, in a fixed order (self and alternate are separate).
    links: tuple[Link, ...] = ()
    #: RFC 5005 §4: this document is an archive (fh:archive).
    archive: bool = False
    hub: str | None = None
    ttl_seconds: int = 0
    stylesheet: str = ""
    generator: tuple[str, str, str] = GENERATOR
    #: Budget for the entries' HTML content in bytes (0: none); see ``contents``.
    max_bytes: int = 0

    def link(self, rel: str) -> str | None:
        """The href of the first link with this relation, or None."""
        return next((lk.href for lk in self.links if lk.rel == rel), None)

    def contents(self) -> list[str]:
        """Each entry's HTML content, keeping the document within ``max_bytes``.

        Readers refuse bodies over a few MB: once full contents would pass the budget, an
        entry carries its summary and a link instead (newest entries are kept whole first).
        """
        if not self.max_bytes:
            return [item.content_html for item in self.items]
        out: list[str] = []
        used = 0
        for item in self.items:
            html = item.content_html
            size = _utf8_len(html)
            if used + size > self.max_bytes:
                html = item.short_html
                size = _utf8_len(html)
            used += size
            out.append(html)
        return out

    def fingerprint(self) -> tuple[object, ...]:
        """What decides the bytes of this document, for WebSub change detection."""
        return (
            self.site,
            self.id,
            self.title,
            self.subtitle,
            self.updated,
            self.language,
            self.links,
            self.max_bytes,
            self.alternate_url,
            tuple((post_key(i.post), i.url, i.terms, i.translations) for i in self.items),
        )


def _utf8_len(text: str) -> int:
    """Length in UTF-8 bytes (an ASCII string's is its length: no encoding needed)."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def post_key(p: Post) -> tuple[object, ...]:
    """A post's published fields (not its file mtime)."""
    return (
        p.id,
        p.slug,
        p.title,
        p.date,
        p.updated,
        p.categories,
        p.tags,
        p.summary,
        p.author,
        p.lang,
        p.image,
        p.attachments,
        p.event,
        p.content_html,
        p.translation_of,
    )


def newest(posts: Sequence[Post], fallback: datetime = EPOCH) -> datetime:
    """The newest ``updated`` among posts: a feed's updated date, never the clock."""
    return max((p.updated for p in posts), default=fallback)
