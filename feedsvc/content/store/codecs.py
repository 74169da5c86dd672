"""Row codecs: the one place that knows a row's layout, how a Post or a Site becomes a row and back.

A post row keeps the columns filters and orders need (schema.py) and every other field in
``data`` (JSON, ``post_data``); code elsewhere reads ``data`` by name (``post_fields``),
never by position. Datetimes keep their IANA zone (``dt_out``/``dt_in``), so a post read
back is equal to the one written, in any process.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import orjson

from ..model import Attachment, Author, Category, Event, Fediverse, Post, Site, Tag


def dt_out(value: datetime) -> list[Any]:
    """A datetime as [ISO text, IANA zone or None, fold]: read back equal, with the same tzinfo kind."""
    tz = value.tzinfo
    if isinstance(tz, ZoneInfo) and tz.key:
        return [value.replace(tzinfo=None).isoformat(), tz.key, value.fold]
    return [value.isoformat(), None, 0]


@lru_cache(maxsize=256)
def _zone(key: str) -> ZoneInfo:
    return ZoneInfo(key)


def dt_in(value: list[Any]) -> datetime:
    """The datetime ``dt_out`` wrote."""
    text, zone, fold = value
    parsed = datetime.fromisoformat(text)
    if zone is not None:
        parsed = parsed.replace(tzinfo=_zone(zone), fold=fold)
    return parsed


def post_data(post: Post, mtime_ns: int | None = None) -> bytes:
    """The fields of ``post`` not kept in columns of their own, as JSON (``mtime_ns``: instead of the post's)."""
    a = post.author
    e = post.event
    return orjson.dumps(
        [
            post.id,
            post.title,
            dt_out(post.date),
            dt_out(post.updated),
            list(post.categories),
            [[t.slug, t.label] for t in post.tags],
            post.summary,
            [a.name, a.email, a.uri],
            post.image,
            [[x.url, x.mime_type, x.size_in_bytes, x.title] for x in post.attachments],
            None
            if e is None
            else [
                dt_out(e.start),
                None if e.end is None else dt_out(e.end),
                e.location,
                e.url,
                e.timezone,
                e.attendance,
                e.registration_url,
                list(e.languages),
                e.all_day,
            ],
            list(post.aliases),
            post.mtime_ns if mtime_ns is None else mtime_ns,
            post.image_alt,
            None if post.expires is None else dt_out(post.expires),
        ]
    )


class PostFields(NamedTuple):
    """A row's ``data`` as stored (plain JSON values: datetimes as ``dt_out`` lists), by name."""

    id: str
    title: str
    date: list[Any]
    updated: list[Any]
    categories: list[str]
    tags: list[list[str]]
    summary: str
    author: list[str | None]
    image: str | None
    attachments: list[list[Any]]
    event: list[Any] | None
    aliases: list[str]
    mtime_ns: int
    image_alt: str | None
    expires: list[Any] | None


def post_fields(data: bytes) -> PostFields:
    """The fields ``post_data`` wrote, by name."""
    return PostFields(*orjson.loads(data))


def post_from_row(source: str, slug: str, lang: str, translation_of: str | None, data: bytes, html: str, text: str) -> Post:
    """The Post a row holds (plain values, built only for the rows a request needs)."""
    (pid, title, date, updated, cats, tags, summary, author, image, attachments, event, aliases, mtime_ns, image_alt, expires) = (
        orjson.loads(data)
    )  # post_fields' order, unpacked at once
    return Post(
        id=pid,
        slug=slug,
        title=title,
        date=dt_in(date),
        updated=dt_in(updated),
        categories=tuple(cats),
        tags=tuple(Tag(s, label) for s, label in tags),
        summary=summary,
        author=Author(*author),
        lang=lang,
        source=source,
        image=image,
        attachments=tuple(Attachment(*x) for x in attachments),
        event=None
        if event is None
        else Event(
            dt_in(event[0]),
            None if event[1] is None else dt_in(event[1]),
            event[2],
            event[3],
            event[4],
            event[5],
            event[6],
            tuple(event[7]),
            bool(event[8]),
        ),
        image_alt=image_alt,
        aliases=tuple(aliases),
        mtime_ns=mtime_ns,
        content_html=html,
        content_text=text,
        translation_of=translation_of,
        expires=None if expires is None else dt_in(expires),
    )


#: The columns ``post_from_row`` takes, in order, and the tables they come from.
POST_COLUMNS = "p.source, p.slug, p.lang, p.translation_of, p.data, b.html, b.text"
POST_BODY = "JOIN bodies b ON b.post = p.id"


def site_data(site: Site) -> bytes:
    """A Site as JSON (readers in other processes get exactly the writer's Site)."""
    a = site.author
    return orjson.dumps(
        {
            "title": site.title,
            "base_url": site.base_url,
            "id_authority": site.id_authority,
            "language": site.language,
            "timezone": site.timezone,
            "author": [a.name, a.email, a.uri],
            "subtitle": site.subtitle,
            "icon": site.icon,
            "logo": site.logo,
            "rights": site.rights,
            "permalink": site.permalink,
            "categories": [[c.slug, c.title, c.description] for c in site.categories],
            "websub_hub": site.websub_hub,
            "twitter": site.twitter,
            "redirects": [list(r) for r in site.redirects],
            "fediverse": [site.fediverse.username, site.fediverse.per_language] if site.fediverse else None,
        }
    )


def site_from_data(data: bytes) -> Site:
    """The Site ``site_data`` wrote."""
    d = orjson.loads(data)
    return Site(
        title=d["title"],
        base_url=d["base_url"],
        id_authority=d["id_authority"],
        language=d["language"],
        timezone=d["timezone"],
        author=Author(*d["author"]),
        subtitle=d["subtitle"],
        icon=d["icon"],
        logo=d["logo"],
        rights=d["rights"],
        permalink=d["permalink"],
        categories=tuple(Category(*c) for c in d["categories"]),
        websub_hub=d["websub_hub"],
        twitter=d["twitter"],
        redirects=tuple((a, b) for a, b in d["redirects"]),
        fediverse=Fediverse(*d["fediverse"]) if d.get("fediverse") else None,
    )
