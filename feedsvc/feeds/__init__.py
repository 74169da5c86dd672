"""Feeds as a library: describe a feed document from the Index, then write it in one format.

``build`` describes a feed page, calendar or archive (a ``document.FeedDoc``: scopes in
``scopes``, RFC 5005 archives in ``archives``); a writer per format turns it into bytes
(``WRITERS``: ``atom``, ``rss``, ``jsonfeed``, ``icalendar``; ``xmlext`` and ``events``
serve them); ``opml`` lists every feed; ``preview`` is the readable page a browser gets for
Atom/RSS. Nothing here reads a request: the routes are ``views`` (registered by create_app).
"""

from __future__ import annotations

from collections.abc import Callable

from ..formats import ATOM, CALENDAR, JSON_FEED, RSS
from . import atom, icalendar, jsonfeed, rss
from .build import build_archive, build_calendar, build_feed
from .document import FeedDoc, FeedNotFound
from .scopes import resolve_scope

__all__ = ["WRITERS", "FeedDoc", "FeedNotFound", "build_archive", "build_calendar", "build_feed", "resolve_scope", "write"]

#: The writer of each format (``formats.FORMATS`` names): a FeedDoc -> the document's bytes.
WRITERS: dict[str, Callable[[FeedDoc], bytes]] = {
    ATOM.name: atom.write,
    RSS.name: rss.write,
    JSON_FEED.name: jsonfeed.write,
    CALENDAR.name: icalendar.write,
}


def write(doc: FeedDoc) -> bytes:
    """The bytes of ``doc`` in its format."""
    return WRITERS[doc.fmt](doc)
