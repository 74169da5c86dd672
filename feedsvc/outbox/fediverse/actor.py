"""The site's ActivityPub actors: who they are, their URLs, which posts each publishes, their document.

Spec: https://www.w3.org/TR/activitypub/#actor-objects, with the fields Mastodon reads
(https://docs.joinmastodon.org/spec/activitypub/#profile). One actor for the site
(``fediverse.username``); with ``per_language: true`` also one per other language of the
corpus (``<username>-<lang>``), each publishing only its language's posts. Every URL is
absolute from ``base_url`` (urls.py), never from the Host header.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from ... import urls
from ...content import Index, Post, Site

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = AS + "#Public"
SECURITY = "https://w3id.org/security/v1"
#: The media type of ActivityStreams documents (and the ld+json profile that means the same).
ACTIVITY_JSON = "application/activity+json"
LD_JSON = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


@dataclass(frozen=True)
class Actor:
    """One actor: its username and the language it publishes (None: every post)."""

    username: str
    lang: str | None

    def publishes(self, post: Post) -> bool:
        """Whether this actor publishes ``post``."""
        return self.lang is None or post.lang == self.lang


def actors(index: Index) -> list[Actor]:
    """Every actor the site has (none when site.yaml does not enable the fediverse)."""
    fedi = index.site.fediverse
    if fedi is None:
        return []
    if not fedi.per_language:
        return [Actor(fedi.username, None)]
    main = index.site.language
    langs = sorted(set(index.languages) - {main})
    return [Actor(fedi.username, main), *(Actor(f"{fedi.username}-{lang.lower()}", lang) for lang in langs)]


def find(index: Index, username: str) -> Actor | None:
    """The actor with this username, or None."""
    return next((a for a in actors(index) if a.username == username.lower()), None)


def of_post(index: Index, post: Post) -> Actor | None:
    """The actor that publishes ``post`` (None when the fediverse is off)."""
    return next((a for a in actors(index) if a.publishes(post)), None)


def actor_url(site: Site, username: str) -> str:
    """The actor's id."""
    return urls.absolute(site, f"/ap/actors/{urls.seg(username)}")


def key_id(site: Site, username: str) -> str:
    """The id of the actor's public key (``keyId`` of its signatures)."""
    return actor_url(site, username) + "#main-key"


def shared_inbox(site: Site) -> str:
    """The site's shared inbox."""
    return urls.absolute(site, "/ap/inbox")


def host(site: Site) -> str:
    """The host part of ``acct:`` handles (base_url's authority)."""
    return site.base_url.split("://", 1)[1].split("/", 1)[0]


def profile_page(site: Site, actor: Actor) -> str:
    """The HTML page an actor stands for: the home page, or its language's page."""
    return urls.home(site) if actor.lang in (None, site.language) else urls.language_page(site, actor.lang)


def document(index: Index, actor: Actor, public_pem: str) -> dict[str, Any]:
    """The actor document (a Service, as Mastodon shows a bot-like account)."""
    site = index.site
    me = actor_url(site, actor.username)
    name = site.title if actor.lang in (None, site.language) else f"{site.title} ({actor.lang})"
    doc: dict[str, Any] = {
        "@context": [
            AS,
            SECURITY,
            {
                "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
                "discoverable": "http://joinmastodon.org/ns#discoverable",
            },
        ],
        "id": me,
        "type": "Service",
        "preferredUsername": actor.username,
        "name": name,
        "summary": escape(site.subtitle, quote=False),  # AS2: summary is HTML; the subtitle is plain text
        "url": profile_page(site, actor),
        "inbox": me + "/inbox",
        "outbox": me + "/outbox",
        "followers": me + "/followers",
        "endpoints": {"sharedInbox": shared_inbox(site)},
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "publicKey": {"id": key_id(site, actor.username), "owner": me, "publicKeyPem": public_pem},
    }
    if site.icon:
        doc["icon"] = {"type": "Image", "url": site.icon}
    if site.logo:
        doc["image"] = {"type": "Image", "url": site.logo}
    return doc
