"""The feed formats feedsvc serves: one table of their facts (file name, media type, label, roles).

Whatever names a format's file, media type or label reads it here: the URL builders
(urls.py), the feed library and views (feeds/), the pages' feed lists and autodiscovery
(pages.py, web.py), the API's feed links. It imports no feedsvc module, so every layer may
use it. Each format's writer is the feed library's (``feeds.WRITERS``, keyed by ``name``).
"""

from __future__ import annotations

from dataclasses import dataclass


def N_(message: str) -> str:
    """Marks a label for the message catalogs (Babel's ``N_``); pages translate it when shown."""
    return message


@dataclass(frozen=True, slots=True)
class Format:
    """One feed format and what the rest of feedsvc needs to know about it."""

    #: The format's name in URL builders, arguments and cache keys: atom, rss, json, ics.
    name: str
    #: The document's file name under a feed scope (``/feeds/<scope>/<file>``).
    file: str
    #: Media type sent with the document (with charset: the contract names them).
    media_type: str
    #: Name shown to people (a translatable message when it is words, not a name).
    label: str
    #: A syndication feed (entries for feed readers: OPML, autodiscovery), not a calendar.
    syndication: bool
    #: RFC 5005 §4 yearly archives are served.
    archived: bool
    #: A browser gets the readable page of ``static/feed.xsl`` instead of the XML.
    browser: bool
    #: OPML 2.0 ``version`` attribute of an outline of this format ("" when not listed there).
    opml_version: str = ""

    @property
    def mimetype(self) -> str:
        """The media type without parameters (``application/atom+xml``)."""
        return self.media_type.split(";", 1)[0]


ATOM = Format(
    "atom",
    "atom.xml",
    "application/atom+xml; charset=utf-8",
    "Atom",
    syndication=True,
    archived=True,
    browser=True,
    opml_version="Atom",
)
RSS = Format(
    "rss",
    "rss.xml",
    "application/rss+xml; charset=utf-8",
    "RSS",
    syndication=True,
    archived=True,
    browser=True,
    opml_version="RSS2",
)
JSON_FEED = Format(
    "json",
    "feed.json",
    "application/feed+json; charset=utf-8",
    "JSON Feed",
    syndication=True,
    archived=True,
    browser=False,
    opml_version="JSON Feed",
)
CALENDAR = Format(
    "ics",
    "calendar.ics",
    "text/calendar; charset=utf-8",
    N_("Calendar (iCalendar)"),
    syndication=False,
    archived=False,
    browser=False,
)

#: Every format by name, in the order pages and the API list them.
FORMATS = {f.name: f for f in (ATOM, RSS, JSON_FEED, CALENDAR)}
#: Names of every format.
ALL = tuple(FORMATS)
#: Names of the syndication feeds (the contract's tag feeds, OPML's formats, autodiscovery).
FEEDS = tuple(f.name for f in FORMATS.values() if f.syndication)
#: Media type of the OPML list of every feed.
OPML_TYPE = "text/x-opml; charset=utf-8"
