"""The pure, typed, immutable domain model: a site and its posts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo


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
class Fediverse:
    """The site's ActivityPub actor(s), as site.yaml ``fediverse`` enables them."""

    #: The actor's handle (``@username@host``); per-language actors add ``-<lang>``.
    username: str
    #: One actor per language (each publishing only its language's posts) besides the site's.
    per_language: bool = False


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
    #: 'online', 'offline' or 'mixed' as the editor wrote it (None: guessed from location and url).
    attendance: str | None = None
    #: Where to register, when it is not ``url``.
    registration_url: str | None = None
    #: Interpretation languages (language tags), in the editor's order.
    languages: tuple[str, ...] = ()
    #: Whole days: start (and end, if any) were given as dates alone (``end`` is its last day).
    all_day: bool = False

    @property
    def mode(self) -> str:
        """online, offline or mixed: ``attendance`` if set, else guessed.

        Online when the location is a URL, or empty with ``url`` set; offline when it
        names a place; mixed when it names a place and ``url`` is set.
        """
        if self.attendance:
            return self.attendance
        loc = (self.location or "").strip()
        link = loc.lower().startswith(("https://", "http://"))
        place = bool(loc) and not link
        virtual = link or bool(self.url)
        if place and virtual:
            return "mixed"
        return "online" if virtual else "offline"


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
    #: The site's Twitter/X handle without '@' (``twitter:site``), if any.
    twitter: str | None = None
    #: Retired path -> new path (or absolute URL), answered with 308.
    redirects: tuple[tuple[str, str], ...] = ()
    #: ActivityPub actor(s); None: the fediverse side is off.
    fediverse: Fediverse | None = None

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
    """One published post: plain values only. Text fields are clean of XML-forbidden characters."""

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
    #: Text alternative of ``image`` (plain text).
    image_alt: str | None = None
    attachments: tuple[Attachment, ...] = ()
    event: Event | None = None
    aliases: tuple[str, ...] = ()
    #: Modification time of the source file (ns): a fresh index's first change instant (changes.py).
    mtime_ns: int = 0
    #: The full sanitised HTML body, links absolute.
    content_html: str = field(default="", repr=False)
    #: The body as plain text, whitespace folded.
    content_text: str = field(default="", repr=False)
    #: Slug of the post this one translates (front matter ``translation_of``), as written.
    translation_of: str | None = None
    #: When the post is withdrawn (front matter ``expires``, timezone-aware, after ``date``), or None.
    expires: datetime | None = None

    @property
    def date_ts(self) -> float:
        """``date`` as a POSIX timestamp (ordering and date filters)."""
        return self.date.timestamp()

    @property
    def expires_ts(self) -> float | None:
        """``expires`` as a POSIX timestamp, or None."""
        return None if self.expires is None else self.expires.timestamp()

    @property
    def tag_slugs(self) -> tuple[str, ...]:
        """The URL-safe slugs of this post's tags."""
        return tuple(t.slug for t in self.tags)

    def sort_key(self) -> tuple[float, str]:
        """Newest first; ties broken by slug so order never depends on the filesystem."""
        return (-self.date_ts, self.slug)


@dataclass(frozen=True, slots=True)
class Problem:
    """A content file that could not be published, and why (`file: field: message`)."""

    path: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class TagInfo:
    """A tag with its label and number of posts."""

    tag: Tag
    count: int


@dataclass(frozen=True, slots=True)
class CategoryInfo:
    """A declared category with its number of posts."""

    category: Category
    count: int
