"""Signed webhooks to partners: post events as Standard Webhooks messages on the outbox queue.

Spec: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md.
The body is ``{type, timestamp, data}`` (``data``: the API's post object; for
``post.deleted`` its id, slug and url), fixed when the event is enqueued. Every attempt
carries the same ``webhook-id`` and body; ``webhook-timestamp`` and ``webhook-signature``
are made at each attempt, because receivers (the library's ``verify`` among them) refuse
a timestamp more than five minutes old, which a stored signature would soon be. The
secret stays in the configuration: it is never stored in the queue nor logged. This
module is the only importer of ``standardwebhooks``.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from standardwebhooks import Webhook

from ..content import Site
from .events import PostEvent
from .queue import Queue

KIND = "webhook"


@dataclass(frozen=True)
class Endpoint:
    """One configured endpoint (an item of FEEDSVC_WEBHOOKS_FILE, already checked by config.py)."""

    url: str
    secret: str
    events: tuple[str, ...]
    categories: tuple[str, ...] | None
    languages: tuple[str, ...] | None
    allow_private: bool

    @classmethod
    def from_config(cls, item: dict[str, Any]) -> Endpoint:
        """An Endpoint from its checked configuration mapping."""
        cats, langs = item.get("categories"), item.get("languages")
        return cls(
            item["url"],
            item["secret"],
            tuple(item["events"]),
            tuple(cats) if cats is not None else None,
            tuple(langs) if langs is not None else None,
            bool(item.get("allow_private")),
        )

    @property
    def fingerprint(self) -> str:
        """A hash of the whole configuration (secret included): a 410 disables the endpoint until it changes."""
        return hashlib.sha256(
            orjson.dumps([self.url, self.secret, self.events, self.categories, self.languages, self.allow_private])
        ).hexdigest()

    def wants(self, event: PostEvent) -> bool:
        """Whether this endpoint asked for this event (type, and category and language when given)."""
        if event.type not in self.events:
            return False
        if self.categories is not None and not set(self.categories) & set(event.categories):
            return False
        return self.languages is None or event.lang.lower() in {lang.lower() for lang in self.languages}


class Webhooks:
    """The webhook sender: enqueues a message per (event, endpoint) and signs each attempt."""

    def __init__(self, endpoints: list[Endpoint], complete: bool = True) -> None:
        self.endpoints = {e.url: e for e in endpoints}
        #: Whether FEEDSVC_WEBHOOKS_FILE was read without a problem: only then is an endpoint
        #: missing from it removed (a broken file says nothing of what the operator meant).
        self.complete = complete

    def destinations(self) -> dict[str, tuple[str, str]]:
        """Each endpoint as a queue destination: (kind, configuration hash)."""
        return {url: (KIND, e.fingerprint) for url, e in self.endpoints.items()}

    def enqueue(self, conn: sqlite3.Connection, events: list[PostEvent], site: Site, now: float) -> None:
        """Queue one message per event and endpoint that wants it (inside the step's transaction)."""
        if not self.endpoints:
            return
        disabled = {r[0] for r in conn.execute("SELECT dest FROM destinations WHERE disabled IS NOT NULL")}
        stamp = datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z")
        for event in events:
            body = orjson.dumps({"type": event.type, "timestamp": stamp, "data": event.data}, option=orjson.OPT_SORT_KEYS)
            for url, endpoint in self.endpoints.items():
                if url not in disabled and endpoint.wants(event):
                    Queue.add(conn, f"msg_{uuid.uuid4().hex}", KIND, url, url, body, {"Content-Type": "application/json"}, now)

    def sign(self, msg_id: str, body: bytes, dest: str, now: float) -> dict[str, str] | None:
        """The signature headers of one attempt, or None when the endpoint is no longer configured."""
        endpoint = self.endpoints.get(dest)
        if endpoint is None:
            return None
        when = datetime.fromtimestamp(now, UTC)
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now)),
            "webhook-signature": Webhook(endpoint.secret).sign(msg_id, when, body),
        }

    def allow_private(self, dest: str) -> bool:
        """Whether this endpoint may be on a private address."""
        endpoint = self.endpoints.get(dest)
        return endpoint is not None and endpoint.allow_private
