"""The pure, typed, immutable domain model: a site and its posts."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from .bodies import Body


@dataclass(frozen=True, slots=True)
class Author:
    """A person or organisation credited with a post or the site."""

    #: Display name.
    name: str
    #: Contact e-mail, if published.
    email: str | None = None
    #: Home page, if any.
    uri: str | None = None


@dataclass(frozen=True, slots=True)
class Category:
    """A category declared in site.yaml; every post belongs to at least one."""

    slug: str
    title: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class Tag:
    """A free-form tag: its label as written and its stable URL-safe slug."""

    slug: str
    label: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file published with a post (report PDF, audio, ...)."""

    url: str
    mime_type: str
    size_in_bytes: int | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """When and where an event post takes place (timezone-aware datetimes)."""

    start: datetime
    end: datetime | None = None
    location: str | None = None
    url: str | None = None
    #: IANA zone name the start/end were written in, when the editor named one.
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class Site:
    """The publication: what site.yaml says."""

    title: str
    base_url: str  # always ends without a trailing slash
    id_authority: str
    language: str
    timezone: str
    author: Author
    subtitle: str = ""
    icon: str | None = None
    logo: str | None = None
    rights: str | None = None
    permalink: str | None = None
    categories: tuple[Category, ...] = ()
    websub_hub: str | None = None
    #: Retired path -> new path (or absolute URL), answered with 308.
    redirects: tuple[tuple[str, str], ...] = ()

    @property
    def tz(self) -> ZoneInfo:
        """The site's timezone as a ZoneInfo."""
        return ZoneInfo(self.timezone)

    def category(self, slug: str) -> Category | None:
        """The declared category with this slug, or None."""
        for c in self.categories:
            if c.slug == slug:
                return c
        return None


@dataclass(frozen=True, slots=True)
class Post:
    """One published post. Text fields are clean of XML-forbidden characters."""

    #: Stable id (a tag: URI unless the editor set one); never changes once published.
    id: str
    slug: str
    title: str
    #: Publication date (timezone-aware).
    date: datetime
    #: Last modification date (timezone-aware, >= date).
    updated: datetime
    categories: tuple[str, ...]
    tags: tuple[Tag, ...]
    #: Plain-text summary (explicit or the first paragraph).
    summary: str
    author: Author
    lang: str
    #: Path of the source file relative to the content directory (posix form).
    source: str
    image: str | None = None
    attachments: tuple[Attachment, ...] = ()
    event: Event | None = None
    aliases: tuple[str, ...] = ()
    #: Slug of the post this one translates (front matter ``translation_of``), as written.
    translation_of: str | None = None
    #: Modification time of the source file (ns); used for Last-Modified only.
    mtime_ns: int = 0
    #: Sanitised, absolutised HTML, zlib-compressed to keep large corpora small; the
    #: loader moves it out of the heap into its BodyStore (a Body reads as these bytes).
    html_z: bytes | Body = field(default=b"", repr=False)
    #: The body as plain text, zlib-compressed (b"": derived from ``html_z`` when asked).
    text_z: bytes | Body = field(default=b"", repr=False)
    #: ``date`` as a POSIX timestamp (sorting, date filters), computed once.
    date_ts: float = field(init=False, repr=False, compare=False)
    #: When the post last changed: ``updated`` or the file's mtime, whichever is later
    #: (a POSIX timestamp, for Last-Modified), computed once.
    changed_ts: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Index builds and listings read these for every post on every reload: an aware
        # datetime's timestamp() costs ~3 us, 30,000 of them per rebuild at 10,000 posts.
        object.__setattr__(self, "date_ts", self.date.timestamp())
        object.__setattr__(self, "changed_ts", max(self.updated.timestamp(), self.mtime_ns / 1e9))

    # Pickling (the parse cache): a tuple of the slots, restored without dataclasses'
    # generic per-object fields() walk, which was most of a 100,000-post second start.
    def __getstate__(self) -> tuple:
        return tuple(map(self.__getattribute__, _POST_SLOTS))

    def __setstate__(self, state: tuple) -> None:
        for name, value in zip(_POST_SLOTS, state, strict=True):
            object.__setattr__(self, name, value)

    @property
    def content_html(self) -> str:
        """The full sanitised HTML body."""
        return zlib.decompress(bytes(self.html_z)).decode("utf-8") if self.html_z else ""

    @property
    def content_text(self) -> str:
        """The body as plain text (stored by the loader; else derived from the HTML, once per body)."""
        if self.text_z:
            return zlib.decompress(bytes(self.text_z)).decode("utf-8")
        return _text_of(self.html_z)

    @property
    def tag_slugs(self) -> tuple[str, ...]:
        """The URL-safe slugs of this post's tags."""
        return tuple(t.slug for t in self.tags)

    def sort_key(self) -> tuple:
        """Newest first; ties broken by slug so order never depends on the filesystem."""
        return (-self.date_ts, self.slug)


_POST_SLOTS: tuple[str, ...] = Post.__slots__  # type: ignore[attr-defined]


@lru_cache(maxsize=2048)
def _text_of(html_z: bytes | Body) -> str:
    """Plain text of a compressed body: listings and feeds ask for the same posts again and again."""
    from .markdown import html_to_text

    return html_to_text(zlib.decompress(bytes(html_z)).decode("utf-8")) if html_z else ""


@dataclass(frozen=True, slots=True)
class Problem:
    """A content file that could not be published, and why (`file: field: message`)."""

    path: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.field}: {self.message}"
