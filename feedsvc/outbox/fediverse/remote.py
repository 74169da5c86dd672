"""Remote actors: their public key and inbox, fetched within tight bounds and cached per process.

The inbox verifies each request with the signer's key. A cached key costs nothing; a
cache miss fetches the key's document once, through the outbox's transport (connect,
read and total time bounded by FEEDSVC_OUTBOX_TIMEOUT, at most FEEDSVC_FEDIVERSE_MAX_BODY
bytes, no redirects, no private, loopback or link-local address unless
FEEDSVC_FEDIVERSE_ALLOW_PRIVATE), so a request worker waits at most that long and only
for a signer it has not seen within the cache's lifetime (docs/urls.md, "Fediverse", says why
this, and not verifying later in the writer). Failed fetches are cached too, briefly,
so a flood of requests naming one unreachable key costs one fetch.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from ..transport import Client
from .actor import ACTIVITY_JSON, LD_JSON

#: Seconds a fetched key (or a failed fetch) is kept.
KEY_TTL, FAILURE_TTL = 3600.0, 60.0
#: Keys kept per process.
CACHE_SIZE = 1024


class KeyFetchError(Exception):
    """The signer's key could not be fetched or read (the message says why).

    ``gone``: the key's document answered 410 Gone (its account was deleted, as Mastodon says it).
    """

    def __init__(self, message: str, gone: bool = False) -> None:
        super().__init__(message)
        self.gone = gone


@dataclass(frozen=True)
class RemoteKey:
    """A remote actor's public key, its owner, and where the owner takes deliveries."""

    key_id: str
    owner: str
    pem: str
    inbox: str | None


def _read(doc: Any, key_id: str) -> RemoteKey:
    if not isinstance(doc, dict):
        raise KeyFetchError("the key document is not a JSON object")
    key = doc.get("publicKey", doc)
    if isinstance(key, list):
        key = next((k for k in key if isinstance(k, dict) and k.get("id") == key_id), None)
    if not isinstance(key, dict):
        raise KeyFetchError("the document has no publicKey with this keyId")
    if key.get("id") != key_id or not isinstance(key.get("publicKeyPem"), str):
        raise KeyFetchError("the document has no publicKey with this keyId")
    owner = key.get("owner") or doc.get("id")
    if not isinstance(owner, str) or (doc is not key and doc.get("id") != owner):
        raise KeyFetchError("the key names no owner, or another owner than the document")
    endpoints = doc.get("endpoints")
    endpoints = endpoints if isinstance(endpoints, dict) else {}
    inbox = endpoints.get("sharedInbox") or doc.get("inbox")
    return RemoteKey(key_id, owner, key["publicKeyPem"], inbox if isinstance(inbox, str) else None)


class KeyCache:
    """Fetches and caches remote keys (thread-safe; one per process)."""

    def __init__(self, client: Client, allow_private: bool) -> None:
        self.client = client
        self.allow_private = allow_private
        self._cache: OrderedDict[str, tuple[float, RemoteKey | KeyFetchError]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key_id: str, refresh: bool = False) -> RemoteKey:
        """The key ``key_id`` names (cached, else fetched); KeyFetchError when there is none."""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key_id)
        if hit is not None and hit[0] > now and not (refresh and isinstance(hit[1], RemoteKey)):
            if isinstance(hit[1], KeyFetchError):
                raise KeyFetchError(str(hit[1]), hit[1].gone)
            return hit[1]
        try:
            key: RemoteKey | KeyFetchError = self._fetch(key_id)
        except KeyFetchError as exc:
            key = exc
        with self._lock:
            self._cache[key_id] = (now + (KEY_TTL if isinstance(key, RemoteKey) else FAILURE_TTL), key)
            self._cache.move_to_end(key_id)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        if isinstance(key, KeyFetchError):
            raise KeyFetchError(str(key), key.gone)
        return key

    def _fetch(self, key_id: str) -> RemoteKey:
        url = key_id.split("#", 1)[0]
        if not url.startswith(("https://", "http://")):
            raise KeyFetchError("keyId is not an http(s) URL")
        answer = self.client.get(url, {"Accept": f"{ACTIVITY_JSON}, {LD_JSON}"}, self.allow_private)
        if answer.status != 200:
            raise KeyFetchError(f"fetching the key failed: {answer.error or f'HTTP {answer.status}'}", gone=answer.status == 410)
        if len(answer.body) >= self.client.max_response_bytes:
            raise KeyFetchError("the key document is too large")
        try:
            doc = orjson.loads(answer.body)
        except orjson.JSONDecodeError:
            raise KeyFetchError("the key document is not JSON") from None
        return _read(doc, key_id)
