"""The one content-negotiation decision: does this client want the HTML view of a feed?

Atom and RSS documents have a readable HTML page for browsers (feeds/views.py). A client
gets it only when it prefers ``text/html`` *strictly* over every XML or feed type it
accepts, by the qualities of its ``Accept`` header as werkzeug's ``MIMEAccept`` reads them
(RFC 9110 §12.5.1: the most specific range decides a type's quality). A tie, no ``Accept``
or ``*/*`` gives the feed: a feed reader must never receive a web page.

A post's URL also answers ActivityPub clients (outbox/fediverse): ``prefers_activity`` is
that decision, weighed the same way. The render cache key, ``Vary: Accept`` and the WSGI
fast path's replay key all follow these two functions and nothing else reads ``Accept``,
so the three can never disagree.
"""

from __future__ import annotations

from functools import lru_cache

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from .formats import FEEDS, FORMATS

#: Feed and XML types always weighed against text/html (a range such as ``application/*``
#: counts through them), besides every XML type the client lists itself.
FEED_TYPES = (*(FORMATS[name].mimetype for name in FEEDS), "application/xml", "text/xml")
#: XHTML is a way of sending HTML, not a feed: browsers list it beside text/html.
_NOT_XML = frozenset({"application/xhtml+xml"})


def _is_xml(mimetype: str) -> bool:
    kind = mimetype.split(";", 1)[0].strip().lower()
    subtype = kind.partition("/")[2]
    return kind not in _NOT_XML and (subtype == "xml" or subtype.endswith("+xml"))


def prefers_html_accept(accept: MIMEAccept) -> bool:
    """True when ``accept`` rates text/html strictly above every XML/feed type it accepts."""
    html = accept.quality("text/html")
    if html <= 0:
        return False
    listed = (m for m, _ in accept if _is_xml(m))
    best_xml = max((accept.quality(t) for t in (*FEED_TYPES, *listed)), default=0)
    return html > best_xml


@lru_cache(maxsize=512)
def prefers_html(accept_header: str | None) -> bool:
    """``prefers_html_accept`` of a raw ``Accept`` header value (memoised: clients repeat theirs)."""
    if not accept_header:
        return False
    return prefers_html_accept(parse_accept_header(accept_header, MIMEAccept))


#: The types an ActivityPub client asks for (the ld+json profile is matched by its base type).
ACTIVITY_TYPES = ("application/activity+json", "application/ld+json")


@lru_cache(maxsize=512)
def prefers_activity(accept_header: str | None) -> bool:
    """True when the ``Accept`` header rates an ActivityStreams type strictly above text/html."""
    if not accept_header:
        return False
    accept = parse_accept_header(accept_header, MIMEAccept)
    # Listed types only (a range such as */* is a browser's or a feed reader's, not an ActivityPub client's);
    # the ld+json profile parameter is part of the listed value, so compare base types.
    best = max((q for m, q in accept if m.split(";", 1)[0].strip().lower() in ACTIVITY_TYPES), default=0)
    return best > 0 and best > accept.quality("text/html")
