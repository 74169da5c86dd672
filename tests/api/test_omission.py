"""Optional members of the API's objects are omitted when the model has no value, never null.

The dump schemas leave a member out when its attribute is None (``_OmitNone.get_attribute``);
these properties check every optional member of a post, its author, attachments and event
against an object written out by hand from the model: a member is present exactly when its
value is not None, and falsy values (0, "", empty lists) are kept.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from feedsvc import urls
from feedsvc.api.schemas import dump_page, dump_post
from feedsvc.canonical_json import to_json
from feedsvc.content.model import Attachment, Author, Event, Post, Site, Tag

SITE = Site(
    title="T",
    base_url="https://news.example.org",
    id_authority="example.org,2021",
    language="en",
    timezone="Europe/London",
    author=Author("T"),
)

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_opt_text = st.none() | _text
_when = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2090, 1, 1),
    timezones=st.sampled_from([UTC, ZoneInfo("Europe/Vienna"), ZoneInfo("America/Lima")]),
)
_authors = st.builds(Author, name=_text, email=_opt_text, uri=_opt_text)
_attachments = st.builds(Attachment, url=_text, mime_type=_text, size_in_bytes=st.none() | st.integers(0, 2**40), title=_opt_text)
_events = st.builds(
    Event,
    start=_when,
    end=st.none() | _when,
    location=_opt_text,
    url=_opt_text,
    timezone=_opt_text,
    attendance=st.none() | st.sampled_from(["online", "offline", "mixed"]),
    registration_url=_opt_text,
    languages=st.lists(st.sampled_from(["fr", "ru", "es"]), max_size=3).map(tuple),
)
_slug = st.text("abcdefghijklmnopqrstuvwxyz0123456789-é", min_size=1, max_size=12)


@st.composite
def posts(draw: Any) -> Post:
    date = draw(_when)
    return Post(
        id=draw(_text),
        slug=draw(_slug),
        title=draw(_text),
        date=date,
        updated=draw(_when),
        categories=tuple(draw(st.lists(_slug, max_size=3))),
        tags=tuple(draw(st.lists(st.builds(Tag, slug=_slug, label=_text), max_size=3))),
        summary=draw(_text),
        author=draw(_authors),
        lang=draw(st.sampled_from(["en", "fr", "pt-BR"])),
        source="posts/x.md",
        image=draw(_opt_text),
        image_alt=draw(_opt_text),
        attachments=tuple(draw(st.lists(_attachments, max_size=3))),
        event=draw(st.none() | _events),
        content_html=draw(_text),
    )


def _present(**members: Any) -> dict[str, Any]:
    return {k: v for k, v in members.items() if v is not None}


def expected(post: Post) -> dict[str, Any]:
    """The post's API object written out from the model (the contract, independent of the schemas)."""
    ev = post.event
    return _present(
        id=post.id,
        slug=post.slug,
        url=urls.permalink(SITE, post),
        title=post.title,
        summary=post.summary,
        content_html=post.content_html,
        content_text=post.content_text,
        date_published=post.date.isoformat(),
        date_modified=post.updated.isoformat(),
        categories=list(post.categories),
        tags=[{"tag": t.label, "slug": t.slug} for t in post.tags],
        author=_present(name=post.author.name, uri=post.author.uri),
        lang=post.lang,
        image=post.image,
        image_alt=post.image_alt,
        attachments=[
            _present(url=a.url, mime_type=a.mime_type, size_in_bytes=a.size_in_bytes, title=a.title) for a in post.attachments
        ],
        event=None
        if ev is None
        else _present(
            start=ev.start.isoformat(),
            end=ev.end and ev.end.isoformat(),
            location=ev.location,
            url=ev.url,
            timezone=ev.timezone,
            attendance=ev.mode,
            registration_url=ev.registration_url,
            languages=list(ev.languages) or None,
        ),
        links={"self": urls.api(SITE, f"/posts/{urls.seg(post.slug)}")},
        translations=[],  # always present; without an index there are none
    )


def _no_null(value: Any) -> bool:
    if isinstance(value, dict):
        return all(v is not None and _no_null(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_null(v) for v in value)
    return value is not None


@settings(max_examples=300, deadline=None)
@given(posts())
def test_post_members_present_exactly_when_they_have_a_value(post: Post) -> None:
    doc = dump_post(SITE, post)
    assert doc == expected(post)
    assert _no_null(doc)
    assert b":null" not in to_json(doc)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(posts(), max_size=4),
    st.none() | st.just("https://n.example.org/next"),
    st.none() | st.just("https://n.example.org/prev"),
)
def test_page_envelope_omits_absent_neighbours(items: list[Post], next_: str | None, prev: str | None) -> None:
    meta = {"page": 1, "per_page": 20, "total_items": len(items), "total_pages": 1}
    links = {
        "self": "https://n.example.org/s",
        "first": "https://n.example.org/f",
        "last": "https://n.example.org/l",
        "next": next_,
        "prev": prev,
    }
    doc = dump_page(SITE, items, meta, links)
    assert doc == {
        "items": [expected(p) for p in items],
        "meta": meta,
        "links": {k: v for k, v in links.items() if v is not None},
    }
