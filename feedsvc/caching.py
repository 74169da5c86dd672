"""Render cache: memoised representations keyed by (content version, endpoint, query).

Holds bytes and their validators, never Response objects. The only user of the cache
object besides the factory. FIRST VERSION: issue 5 refines (compression, failures).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .extensions import cache, current_index

log = logging.getLogger("feedsvc.cache")
#: Bumped when renderers change output, so a shared cache never mixes code versions.
RENDER_VERSION = "1"


@dataclass(frozen=True, slots=True)
class Representation:
    """A rendered document: body bytes, media type, validators and extra headers."""

    body: bytes
    mimetype: str
    last_modified: datetime
    etag: str = ""
    headers: tuple[tuple[str, str], ...] = field(default=())


def make_key(endpoint: str, args: Mapping[str, object]) -> str:
    """Cache key: render version, content version, endpoint and the normalised query."""
    norm = "&".join(f"{k}={args[k]}" for k in sorted(args) if args[k] is not None)
    return f"r{RENDER_VERSION}:{current_index().version}:{endpoint}?{norm}"


def render(endpoint: str, args: Mapping[str, object], produce: Callable[[], Representation]) -> Representation:
    """The cached representation for (endpoint, args), produced on a miss."""
    key = make_key(endpoint, args)
    try:
        hit = cache.get(key)
    except Exception:  # a broken cache backend must never break a request
        log.warning("cache get failed", exc_info=True)
        hit = None
    if hit is not None:
        return hit
    rep = produce()
    if not rep.etag:
        rep = Representation(rep.body, rep.mimetype, rep.last_modified,
                             hashlib.sha256(rep.body).hexdigest()[:32], rep.headers)
    try:
        cache.set(key, rep)
    except Exception:
        log.warning("cache set failed", exc_info=True)
    return rep
