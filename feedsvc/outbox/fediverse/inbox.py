"""The inboxes (per actor and shared): verify every request first, then act on Follow, Undo and Delete.

Order of work, cheapest refusal first: the body is capped (413); the claimed server is
rate-limited (429); the ``Signature`` header must parse and cover ``(request-target)``,
``host``, ``date`` and ``digest``, the ``Date`` must be within ``MAX_SKEW`` of now and the
``Digest`` must match the body (401); the signer's key (cached, else fetched within
bounds: remote.py) must verify the signature (401); a signature seen before is a replay
(401). Only then is the body parsed (400 when it is not a JSON object) and the activity's
``actor`` must own the signing key (401). Follow stores the follower and enqueues a
signed Accept in one queue transaction, ahead of anything else pending for that inbox (a
follow never waits behind a backlog, and is retried like any delivery); Undo{Follow} and
Delete of the signer's actor remove it (so does a key fetch answering 410 Gone: the
account was deleted); every other activity is acknowledged (202) and counted, never stored.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from prometheus_client import Counter

from ...content import Index
from . import delivery, followers, signatures
from .actor import Actor, actor_url, find
from .remote import KeyFetchError

if TYPE_CHECKING:
    from .state import Fediverse

INBOX = Counter("feedsvc_fediverse_inbox", "Inbox requests, by activity type or refusal", ["outcome"])
#: Largest clock difference accepted on a signed request's Date (seconds; Mastodon allows 12 h, we want minutes).
MAX_SKEW = 300.0
#: Servers tracked by the rate limiter and signatures remembered against replays, per process.
TRACKED = 10_000


class Refused(Exception):
    """An inbox request refused: HTTP status and a message for the JSON error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class _Window:
    """Per-server request counts over fixed one-minute windows (bounded in servers tracked)."""

    def __init__(self) -> None:
        self.counts: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self.lock = threading.Lock()

    def hit(self, server: str, limit: int, now: float) -> bool:
        minute = int(now // 60)
        with self.lock:
            start, n = self.counts.get(server, (minute, 0))
            n = n + 1 if start == minute else 1
            self.counts[server] = (minute, n)
            self.counts.move_to_end(server)
            while len(self.counts) > TRACKED:
                self.counts.popitem(last=False)
        return n <= limit


_WINDOW = _Window()


def _refuse(status: int, code: str, message: str) -> Refused:
    INBOX.labels(code).inc()
    return Refused(status, code, message)


def receive(
    fedi: Fediverse,
    index: Index,
    target: Actor | None,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    now: float | None = None,
) -> str:
    """Verify and act on one inbox request; the outcome (``accepted``...). Raises Refused."""
    now = time.time() if now is None else now
    try:
        parsed = signatures.parse(headers.get("signature"))
    except signatures.SignatureError as exc:
        raise _refuse(401, "unsigned", str(exc)) from None
    server = parsed.server
    if not _WINDOW.hit(server, fedi.inbox_limit, now):
        raise _refuse(429, "rate_limited", f"too many inbox requests from {server[:100]}")
    try:
        if abs(now - signatures.date_of(headers)) > MAX_SKEW:
            raise signatures.SignatureError(f"the Date is more than {MAX_SKEW:g} s from now")
        if not signatures.digest_matches(headers.get("digest", ""), body):
            raise signatures.SignatureError("the Digest header does not match the body")
        try:
            key = fedi.key_cache.get(parsed.key_id)
        except KeyFetchError as exc:
            if exc.gone and _forget_gone(fedi, parsed.key_id):
                return "removed"
            raise signatures.SignatureError(f"cannot get the signer's key: {exc}") from None
        try:
            signatures.verify(parsed, key.pem, method, path, headers)
        except signatures.SignatureError:  # the actor may have a new key: fetch it once more
            key = fedi.key_cache.get(parsed.key_id, refresh=True)
            signatures.verify(parsed, key.pem, method, path, headers)
    except (signatures.SignatureError, KeyFetchError) as exc:
        raise _refuse(401, "bad_signature", str(exc)) from None
    if not _first_use(fedi, parsed.signature, now):
        raise _refuse(401, "replayed", "this signature was already used")
    try:
        activity = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _refuse(400, "malformed", "the body is not JSON") from None
    if not isinstance(activity, dict) or not isinstance(activity.get("type"), str):
        raise _refuse(400, "malformed", "the body is not an activity (a JSON object with a type)")
    signer = _id(activity.get("actor"))
    if signer != key.owner:
        raise _refuse(401, "wrong_actor", "the signing key does not belong to the activity's actor")
    return _act(fedi, index, target, activity, signer, key.inbox, now)


def _id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _forget_gone(fedi: Fediverse, key_id: str) -> bool:
    """The signer's actor answers 410 Gone: forget it as a follower (True when it was one).

    Mastodon signs the Delete of a deleted account with that account's key, and then its
    actor document answers 410, so the signature cannot be checked. The request proves
    nothing, but the 410 we fetched from the actor's own server does: the follower whose id
    is the key's document is removed, whoever sent the request (a request naming any other
    gone key removes nothing and gets 401).
    """
    owner = key_id.split("#", 1)[0]
    with fedi.queue.transaction() as conn:
        removed = followers.remove(conn, owner) > 0
    if removed:
        INBOX.labels("actor_deleted").inc()
    return removed


def _first_use(fedi: Fediverse, signature: bytes, now: float) -> bool:
    """Record a verified signature; False when it was recorded before (a replay within the Date window)."""
    digest = hashlib.sha256(signature).hexdigest()
    q = fedi.queue
    with q.transaction() as conn:
        conn.execute("DELETE FROM ap_seen WHERE at < ?", (now - 2 * MAX_SKEW,))
        return conn.execute("INSERT OR IGNORE INTO ap_seen VALUES (?, ?)", (digest, now)).rowcount == 1


def _act(
    fedi: Fediverse, index: Index, target: Actor | None, activity: dict[str, Any], signer: str, inbox: str | None, now: float
) -> str:
    kind = activity["type"]
    site = index.site
    if kind == "Follow":
        followed = _id(activity.get("object")) or ""
        mine = followed.startswith(site.base_url + "/ap/actors/")  # so urlsplit reads our own host, never theirs
        who = find(index, urlsplit(followed).path.rsplit("/", 1)[-1]) if mine else None
        if who is None or (target is not None and target != who) or inbox is None:
            INBOX.labels("follow_refused").inc()
            return "ignored"
        tag = hashlib.sha256(orjson.dumps(activity.get("id"))).hexdigest()[:16]
        me = actor_url(site, who.username)
        accept = {"id": f"{me}#accepts/{tag}", "type": "Accept", "actor": me, "object": activity}
        with fedi.queue.transaction() as conn:
            followers.add(conn, who.username, signer, inbox, now)
            delivery.enqueue(conn, fedi, site, who.username, inbox, accept, now, first=True)
        INBOX.labels("follow").inc()
        return "followed"
    if kind == "Undo" and isinstance(activity.get("object"), dict) and activity["object"].get("type") == "Follow":
        followed = _id(activity["object"].get("object")) or ""
        username = followed.rsplit("/", 1)[-1] if followed.startswith(site.base_url + "/ap/actors/") else None
        with fedi.queue.transaction() as conn:
            followers.remove(conn, signer, username)
        INBOX.labels("unfollow").inc()
        return "unfollowed"
    if kind == "Delete" and _id(activity.get("object")) == signer:
        with fedi.queue.transaction() as conn:
            followers.remove(conn, signer)
        INBOX.labels("actor_deleted").inc()
        return "removed"
    INBOX.labels("other").inc()
    return "acknowledged"
