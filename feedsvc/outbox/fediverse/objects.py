"""ActivityStreams documents of posts: the Article, its Create/Update/Delete, the outbox and followers collections.

Spec: https://www.w3.org/TR/activitystreams-vocabulary/. A post is an ``Article`` (docs/urls.md,
"Fediverse" says why): Mastodon turns an Article into a status showing its ``name``, its
``summary`` and a link to its ``url``, and keeps its ``attachment`` images and ``Hashtag``
tags. The object's id is the post's page URL on this service, which answers it to
``Accept: application/activity+json``. Same post, same bytes: no clock is read here, and
each activity's id derives from what it carries.
"""

from __future__ import annotations

import hashlib
import unicodedata
from html import escape
from typing import Any

import orjson

from ... import urls
from ...content import Index, Post, Site
from .actor import AS, PUBLIC, Actor, actor_url

CONTEXT = [AS, {"Hashtag": "as:Hashtag", "sensitive": "as:sensitive"}]
#: Create activities per outbox page.
OUTBOX_PAGE = 20


def hashtag(label: str) -> str:
    """A tag's label as a hashtag name: its word characters and marks, NFC (Mastodon's hashtags are
    letters, marks, digits and ``_``: a Devanagari vowel sign or a decomposed accent is part of the word)."""
    text = unicodedata.normalize("NFC", label)
    return "".join(ch for ch in text if ch.isalnum() or ch == "_" or unicodedata.category(ch)[0] == "M")


def _iso(dt: Any) -> str:
    return str(dt.isoformat()).replace("+00:00", "Z")


def object_id(site: Site, post: Post) -> str:
    """The post object's id: the post's page on this service."""
    return urls.post_page(site, post)


def object_url(site: Site, slug: str) -> str:
    """The object id of the post with this slug (published or not)."""
    return urls.absolute(site, f"/posts/{urls.seg(slug)}")


def article(index: Index, post: Post, actor: Actor) -> dict[str, Any]:
    """The post as an ActivityStreams Article (without @context)."""
    site = index.site
    me = actor_url(site, actor.username)
    attachments: list[dict[str, Any]] = []
    if post.image:
        # Mastodon shows an attachment's name as the image description (alt text).
        attachments.append({"type": "Image", "url": post.image, "name": post.image_alt or post.title})
    for a in post.attachments:
        attachments.append({"type": "Document", "url": a.url, "mediaType": a.mime_type, **({"name": a.title} if a.title else {})})
    tags = [
        {"type": "Hashtag", "href": urls.tag_page(site, t.slug), "name": "#" + (hashtag(t.label) or t.slug)} for t in post.tags
    ]
    obj: dict[str, Any] = {
        "id": object_id(site, post),
        "type": "Article",
        "attributedTo": me,
        "name": post.title,
        "summary": escape(post.summary, quote=False),  # AS2: summary is HTML; ours is plain text
        "content": post.content_html,
        "contentMap": {post.lang: post.content_html},
        "url": urls.permalink(site, post),
        "published": _iso(post.date),
        "to": [PUBLIC],
        "cc": [me + "/followers"],
        "tag": tags,
        "attachment": attachments,
        "sensitive": False,
    }
    if post.updated != post.date:
        obj["updated"] = _iso(post.updated)
    if post.image:
        obj["image"] = {"type": "Image", "url": post.image}
    return obj


def with_context(doc: dict[str, Any]) -> dict[str, Any]:
    """A top-level document: the object with its JSON-LD @context."""
    return {"@context": CONTEXT, **doc}


def create(index: Index, post: Post, actor: Actor) -> dict[str, Any]:
    """The Create activity of a post (its id: the object's, ``#create``)."""
    obj = article(index, post, actor)
    return {
        "id": obj["id"] + "#create",
        "type": "Create",
        "actor": obj["attributedTo"],
        "published": obj["published"],
        "to": obj["to"],
        "cc": obj["cc"],
        "object": obj,
    }


def update(index: Index, post: Post, actor: Actor) -> dict[str, Any]:
    """The Update activity of a changed post (its id names the new version, so each edit is one activity)."""
    obj = article(index, post, actor)
    version = hashlib.sha256(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    return {
        "id": f"{obj['id']}#update-{version}",
        "type": "Update",
        "actor": obj["attributedTo"],
        "published": obj.get("updated", obj["published"]),
        "to": obj["to"],
        "cc": obj["cc"],
        "object": obj,
    }


def tombstone(object_url: str) -> dict[str, Any]:
    """What an unpublished post's URL is now (answered with 410)."""
    return {"id": object_url, "type": "Tombstone", "formerType": "Article"}


def delete(site: Site, object_url: str, actor: Actor) -> dict[str, Any]:
    """The Delete activity of an unpublished post."""
    me = actor_url(site, actor.username)
    return {
        "id": object_url + "#delete",
        "type": "Delete",
        "actor": me,
        "to": [PUBLIC],
        "cc": [me + "/followers"],
        "object": tombstone(object_url),
    }


def outbox(index: Index, actor: Actor, page: int | None) -> dict[str, Any]:
    """The actor's outbox: an OrderedCollection of Create activities, newest first, paged."""
    site = index.site
    url = actor_url(site, actor.username) + "/outbox"
    posts = index.query(lang=actor.lang) if actor.lang else index.posts
    total = len(posts)
    if page is None:
        return with_context(
            {
                "id": url,
                "type": "OrderedCollection",
                "totalItems": total,
                "first": f"{url}?page=1",
                "last": f"{url}?page={max(1, -(-total // OUTBOX_PAGE))}",
            }
        )
    start = (page - 1) * OUTBOX_PAGE
    items = [create(index, p, actor) for p in posts[start : start + OUTBOX_PAGE]]
    doc: dict[str, Any] = {
        "id": f"{url}?page={page}",
        "type": "OrderedCollectionPage",
        "partOf": url,
        "totalItems": total,
        "orderedItems": items,
    }
    if page > 1:
        doc["prev"] = f"{url}?page={page - 1}"
    if start + OUTBOX_PAGE < total:
        doc["next"] = f"{url}?page={page + 1}"
    return with_context(doc)


def followers(site: Site, actor: Actor, count: int) -> dict[str, Any]:
    """The followers collection: its count only (who follows is not published)."""
    return with_context({"id": actor_url(site, actor.username) + "/followers", "type": "OrderedCollection", "totalItems": count})
