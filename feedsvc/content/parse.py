"""Parse one post file into a Post: front matter, Markdown body, defaults from site.yaml."""

from __future__ import annotations

import codecs
import hashlib
import logging
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import ValidationError

from . import markdown, values
from .errors import ContentError
from .frontmatter import split
from .model import Attachment, Author, Event, Post, Problem, Site, Tag
from .quickload import QuickLoad
from .scan import read_regular
from .slugs import derive_slug, stem_slug, tag_slug
from .validate import PostSchema, first_error

#: Bumped whenever parsing changes what a post row holds (the database is then rebuilt).
PARSER_VERSION = "11"

#: Default largest post file accepted (bytes); bigger files are reported, not parsed.
MAX_POST_BYTES = 8 * 1024 * 1024
log = logging.getLogger("feedsvc.content")
_POST_SCHEMA = QuickLoad(PostSchema())
#: A file's signature: (mtime_ns, size, inode). A restart re-parses a file whose signature moved.
Sig = tuple[int, int, int]


def decode_post(raw: bytes) -> str:
    """A post file's bytes as text. Raises ContentError (``file``) for bytes that are not a post's text."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # a Windows editor's "Unicode"
        raise ContentError("file", "is UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError("file", f"not UTF-8 text (invalid byte at offset {exc.start})") from None
    if "\x00" in text:
        raise ContentError("file", "contains NUL bytes (binary file?)")
    if "\r" in text and "\n" not in text:  # one line to every reader of lines: no '---' line is ever found
        raise ContentError("file", "lines end with a lone CR (old Mac line endings): save it with LF or CRLF line endings")
    return text


def parse_post(raw: bytes, source: str, site: Site, mtime_ns: int = 0) -> Post | None:
    """Parse one post file's bytes; None for a draft. Raises ContentError naming the field."""
    fm, body = split(decode_post(raw))
    try:
        d: dict[str, Any] = _POST_SCHEMA.load(fm)
    except ValidationError as exc:
        raise ContentError(*first_error(exc.messages)) from None
    if d["draft"]:
        return None
    tz = site.tz
    date = _when("date", d["date"], tz)
    updated = _when("updated", d["updated"], tz) if d["updated"] is not None else date
    if updated < date:
        raise ContentError("updated", "is before date")
    expires = _when("expires", d["expires"], tz) if d["expires"] is not None else None
    if expires is not None and expires <= date:
        raise ContentError("expires", "is not after date (the post would never be published)")
    for c in d["categories"]:
        if site.category(c) is None:
            raise ContentError("categories", f"unknown category {c!r} (declare it in site.yaml)")
    tags: dict[str, Tag] = {}
    for label in d["tags"]:
        tag = _tag(label)
        if not tag.slug:
            raise ContentError("tags", f"tag {tag.label!r} has no letters or digits")
        tags.setdefault(tag.slug, tag)
    title = markdown.plain(d["title"])
    slug = d["slug"] or stem_slug(Path(source).stem) or derive_slug(title)
    if not slug:
        raise ContentError(
            "slug",
            "neither the file name nor the title has a letter or digit to make a slug from; set 'slug:' in the front matter",
        )
    base = site.base_url
    html = markdown.render(body, base)
    summary = markdown.plain(d["summary"]) if d["summary"] else markdown.first_paragraph(html)
    a = d["author"]
    author = (
        Author(
            markdown.plain(a["name"]),
            markdown.plain(a["email"]) if a["email"] else None,
            markdown.plain(a["uri"]) if a["uri"] else None,
        )
        if a
        else site.author
    )
    event = _event(d["event"], tz) if d["event"] else None
    # RFC 4151 tag URI from the frozen authority and the date as written: a new domain
    # or base_url never re-issues a post. A Unicode slug is percent-encoded there (a tag URI
    # is ASCII); an id that already is a URI stays byte for byte as published.
    post_id = values.uri_form(markdown.plain(d["id"] or f"tag:{site.id_authority}:{date.date().isoformat()}:{slug}"))
    return Post(
        id=post_id,
        slug=slug,
        title=title,
        date=date,
        updated=updated,
        categories=tuple(dict.fromkeys(d["categories"])),
        tags=tuple(tags.values()),
        summary=summary,
        author=author,
        lang=d["lang"] or site.language,
        source=source,
        image=markdown.absolute_url(d["image"], base) if d["image"] else None,
        image_alt=markdown.plain(d["image_alt"]) if d["image_alt"] else None,
        attachments=tuple(
            Attachment(
                markdown.absolute_url(a["url"], base),
                a["mime_type"],
                a["size_in_bytes"],
                markdown.plain(a["title"]) if a["title"] else None,
            )
            for a in d["attachments"]
        ),
        event=event,
        aliases=tuple(a for a in dict.fromkeys(d["aliases"]) if a != slug),
        mtime_ns=mtime_ns,
        content_html=html,
        content_text=markdown.html_to_text(html),
        translation_of=d["translation_of"],
        expires=expires,
    )


@lru_cache(maxsize=4096)
def _tag(label: str) -> Tag:
    """A tag as written in front matter (sites reuse a few hundred labels across their posts)."""
    label = markdown.plain(label)
    return Tag(tag_slug(label), label)


def _when(field: str, value: object, *zones: ZoneInfo) -> datetime:
    """A front matter date read in the first zone, writable in every one of ``zones``; ContentError names ``field``."""
    try:
        when = values.parse_when(value, zones[0])  # checked in its first zone already
        return values.check_instant(when, *zones[1:]) if len(zones) > 1 else when
    except ValueError as exc:
        raise ContentError(field, str(exc)) from None


def _wall(when: datetime) -> datetime:
    """An event time read in a zone, as that zone's clocks show it: a wall time the zone skips
    (clocks going forward) is read with the offset before the gap, as RFC 5545 does, and then
    shown past it (London 01:30 on the night the clocks go forward is 01:30 UTC: 02:30 BST).
    Post dates are left as written: a post's id holds its date."""
    return when.astimezone(UTC).astimezone(when.tzinfo) if isinstance(when.tzinfo, ZoneInfo) else when


def _is_date(value: object) -> bool:
    """A front matter value that is a date alone (``2021-06-01``), not a date and time."""
    if isinstance(value, str):
        return len(value.strip()) == 10
    return isinstance(value, date) and not isinstance(value, datetime)


def _event(e: dict[str, Any], site_tz: ZoneInfo) -> Event:
    """The event: times read in its own zone (else the site's), shown in both, the end not before the start."""
    zones = (ZoneInfo(e["timezone"]), site_tz) if e["timezone"] else (site_tz,)
    start = _wall(_when("event.start", e["start"], *zones))
    end = _wall(_when("event.end", e["end"], *zones)) if e["end"] is not None else None
    if end is not None and end < start:
        raise ContentError("event.end", f"{end.isoformat()} is before the start, {start.isoformat()}")
    return Event(
        start=start,
        end=end,
        all_day=_is_date(e["start"]) and (e["end"] is None or _is_date(e["end"])),
        location=markdown.plain(e["location"]) if e["location"] else None,
        url=e["url"],
        timezone=e["timezone"],
        attendance=e["attendance"],
        registration_url=e["registration_url"],
        languages=tuple(dict.fromkeys(e["languages"])),
    )


#: What parsing one file gave: (problem or None, sha256 of its bytes, post or None for a draft).
Parsed = tuple[Problem | None, str, Post | None]


def parse_file(rel: str, path: str | Path, sig: Sig, site: Site, max_bytes: int = MAX_POST_BYTES) -> Parsed:
    """Read and parse one post file; problems are returned, never raised.

    The sha256 of the bytes read is returned whatever the outcome ("" when none were read).
    """
    sha = ""
    try:
        if sig[1] > max_bytes:
            raise ContentError("file", f"is {sig[1]} bytes; the limit is {max_bytes}")
        raw = read_regular(path, max_bytes)
        sha = hashlib.sha256(raw).hexdigest()
        post = parse_post(raw, rel, site, sig[0])
    except ContentError as exc:
        return Problem(rel, exc.field, exc.message), sha, None
    except OSError as exc:
        return Problem(rel, "file", f"cannot read: {exc.strerror or exc}"), sha, None
    except RecursionError:  # the bounds above leave no known way here; never blame a field
        return Problem(rel, "file", "nested too deeply to parse"), sha, None
    except Exception as exc:  # a parser fault on one file is that file's problem, never the whole load's
        log.exception("%s: parsing failed", rel)
        return Problem(rel, "file", f"could not be parsed ({type(exc).__name__}); the log has the details"), sha, None
    return None, sha, post


def file_sha(path: str | Path, max_bytes: int = MAX_POST_BYTES) -> str:
    """The sha256 of a post file's bytes ("" when it cannot be read or is not a post file within the limit)."""
    try:
        return hashlib.sha256(read_regular(path, max_bytes)).hexdigest()
    except (OSError, ContentError):
        return ""
