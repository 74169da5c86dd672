"""The fediverse blueprint: WebFinger, NodeInfo, actors, outboxes, followers and inboxes.

Thin views: each looks up an actor and hands a document built by actor.py, objects.py or
webfinger.py to the render cache (content-derived documents) or answers directly
(followers counts, inbox answers, which change without the content). Every route answers
404 while site.yaml does not enable the fediverse.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from ...content import Index
from ...errors import ApiError
from ...extensions import current_index
from . import actor, objects, webfinger
from .actor import Actor
from .answers import json_response, send_json
from .inbox import Refused, receive
from .state import fediverse

bp = Blueprint("fediverse", __name__)
JRD = "application/jrd+json"
NODEINFO = 'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"'


def _enabled() -> Index:
    idx = current_index()
    if idx.site.fediverse is None:
        raise ApiError(404, "not_found", "the fediverse side of this site is off (site.yaml: fediverse)")
    return idx


def _actor(username: str) -> tuple[Index, Actor]:
    idx = _enabled()
    who = actor.find(idx, username)
    if who is None:
        raise ApiError(404, "not_found", f"there is no actor {username[:64]!r} here")
    return idx, who


@bp.get("/.well-known/webfinger")
def webfinger_view() -> Response:
    """RFC 7033: the JRD of an ``acct:`` handle or actor URL."""
    idx = _enabled()
    resource = request.args.get("resource", "")
    if not resource:
        raise ApiError(400, "bad_request", "resource: required (acct:user@host or an actor URL)")
    who = webfinger.resolve(idx, resource[:512])
    if who is None:
        raise ApiError(404, "not_found", "no actor here has this resource")
    return send_json("fediverse.webfinger", {"u": who.username}, lambda: webfinger.jrd(idx, who), JRD)


@bp.get("/.well-known/nodeinfo")
def nodeinfo_links_view() -> Response:
    """The NodeInfo discovery document."""
    idx = _enabled()
    return send_json("fediverse.nodeinfo_links", {}, lambda: webfinger.nodeinfo_links(idx), "application/json")


@bp.get("/nodeinfo/2.1")
def nodeinfo_view() -> Response:
    """The NodeInfo 2.1 document."""
    idx = _enabled()
    return send_json("fediverse.nodeinfo", {}, lambda: webfinger.nodeinfo(idx), NODEINFO)


@bp.get("/ap/actors/<username>")
def actor_view(username: str) -> Response:
    """The actor document."""
    idx, who = _actor(username)
    pem = fediverse().keys.public_pem
    return send_json("fediverse.actor", {"u": who.username}, lambda: actor.document(idx, who, pem))


@bp.get("/ap/actors/<username>/outbox")
def outbox_view(username: str) -> Response:
    """The outbox: the collection, or one page of it (``?page=N``)."""
    idx, who = _actor(username)
    raw = request.args.get("page")
    page = None
    if raw is not None:
        if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
            raise ApiError(400, "bad_request", "page: must be a whole number from 1 to 100000")
        page = int(raw)
    return send_json("fediverse.outbox", {"u": who.username, "page": page or 0}, lambda: objects.outbox(idx, who, page))


@bp.get("/ap/actors/<username>/followers")
def followers_view(username: str) -> Response:
    """The followers collection (its count)."""
    idx, who = _actor(username)
    return json_response(objects.followers(idx.site, who, fediverse().follower_count(who.username)))


def _inbox(target: Actor | None) -> Response:
    idx = _enabled()
    fedi = fediverse()
    if (request.content_length or 0) > fedi.max_body:
        raise ApiError(413, "too_large", f"inbox bodies are limited to {fedi.max_body} bytes")
    body = request.stream.read(fedi.max_body + 1)
    if len(body) > fedi.max_body:
        raise ApiError(413, "too_large", f"inbox bodies are limited to {fedi.max_body} bytes")
    path = request.path + (f"?{request.query_string.decode('latin-1')}" if request.query_string else "")
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        outcome = receive(fedi, idx, target, request.method, path, headers, body)
    except Refused as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from None
    return json_response({"outcome": outcome}, 202, "application/json")


@bp.post("/ap/inbox")
def shared_inbox_view() -> Response:
    """The shared inbox (any of the site's actors)."""
    return _inbox(None)


@bp.post("/ap/actors/<username>/inbox")
def inbox_view(username: str) -> Response:
    """One actor's inbox."""
    _idx, who = _actor(username)
    return _inbox(who)
