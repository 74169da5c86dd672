"""Representation and body_etag: the rendered-document value every layer passes (a leaf)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True, weakref_slot=True)
class Representation:
    """A rendered document: body bytes, media type, validators and extra headers.

    ``encoded`` (content coding -> compressed body) is filled once per cached object, so
    a cache hit compresses nothing. ``odd``: filed in the render cache's odd space (see caching.py).
    """

    body: bytes
    mimetype: str
    last_modified: datetime
    etag: str = ""
    headers: tuple[tuple[str, str], ...] = field(default=())
    key: str = ""
    encoded: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)
    odd: bool = field(default=False, compare=False)


def body_etag(body: bytes) -> str:
    """The strong entity tag of a body (RFC 9110 8.8.3): a hash, so equal bytes agree on every host."""
    return hashlib.sha256(body).hexdigest()[:32]
