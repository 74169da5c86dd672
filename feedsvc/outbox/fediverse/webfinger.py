"""Discovery: WebFinger (RFC 7033) for ``acct:`` handles and actor URLs, and NodeInfo 2.1.

WebFinger: https://www.rfc-editor.org/rfc/rfc7033 (``resource`` names the subject; 404 when
it names nobody here, 400 when it is missing). NodeInfo: https://nodeinfo.diaspora.software/
(``/.well-known/nodeinfo`` links to the 2.1 document).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from ... import urls
from ...content import Index
from ...version import __version__
from .actor import ACTIVITY_JSON, Actor, actor_url, actors, find, host, profile_page

NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.1"


def resolve(index: Index, resource: str) -> Actor | None:
    """The actor an ``acct:user@host`` handle or an actor URL names, or None."""
    site = index.site
    resource = resource.strip()
    if resource.lower().startswith("acct:"):
        user, _, domain = unquote(resource[5:]).lstrip("@").rpartition("@")
        if domain.lower() != host(site).lower():
            return None
        return find(index, user)
    return next((a for a in actors(index) if actor_url(site, a.username) == resource), None)


def jrd(index: Index, actor: Actor) -> dict[str, Any]:
    """The JSON Resource Descriptor of an actor."""
    site = index.site
    me = actor_url(site, actor.username)
    return {
        "subject": f"acct:{actor.username}@{host(site)}",
        "aliases": [me],
        "links": [
            {"rel": "self", "type": ACTIVITY_JSON, "href": me},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": profile_page(site, actor)},
        ],
    }


def nodeinfo_links(index: Index) -> dict[str, Any]:
    """The /.well-known/nodeinfo document."""
    return {"links": [{"rel": NODEINFO_SCHEMA, "href": urls.absolute(index.site, "/nodeinfo/2.1")}]}


def nodeinfo(index: Index) -> dict[str, Any]:
    """The NodeInfo 2.1 document (users: the actors; posts: every published post)."""
    n = len(actors(index))
    return {
        "version": "2.1",
        "software": {"name": "feedsvc", "version": __version__},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": ["atom1.0", "rss2.0"]},
        "openRegistrations": False,
        "usage": {"users": {"total": n, "activeMonth": n, "activeHalfyear": n}, "localPosts": len(index.posts)},
        "metadata": {"nodeName": index.site.title},
    }
