"""The readable page a browser gets for an Atom or RSS feed: ``static/feed.xsl`` run by lxml.

The stylesheet's words are parameters in the feed's language (``i18n.feed_page_strings``);
dates come from one XSLT extension function, ``f:human-date``, that writes an entry's date
the way the HTML pages do (Babel, the page's language). A client running feed.xsl itself
has no such function and prints the date as the feed carries it (``function-available``).
"""

from __future__ import annotations

import threading
from datetime import datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from .. import i18n

XSL = Path(__file__).resolve().parent.parent / "static" / "feed.xsl"
#: Namespace of feedsvc's XSLT extension functions (declared in feed.xsl).
FUNCTIONS = "urn:x-feedsvc:xslt"
_local = threading.local()


def _parse_date(text: str) -> datetime | None:
    """An Atom (RFC 3339) or RSS (RFC 822) date, in its own offset; None when unreadable."""
    text = text.strip()
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def human_date(_context: Any, value: Any, lang: Any) -> str:
    """feed.xsl's ``f:human-date(date, lang)``: the long date in ``lang``, or the text unchanged."""
    parsed = _parse_date(str(value))
    return i18n.human_date(parsed, str(lang) or None) if parsed else str(value)


@lru_cache(maxsize=1)
def _stylesheet_doc() -> etree._ElementTree:
    return etree.parse(str(XSL))


def _stylesheet() -> etree.XSLT:
    # One compiled stylesheet per thread: lxml does not promise concurrent use of one XSLT.
    xslt = getattr(_local, "xslt", None)
    if xslt is None:
        xslt = _local.xslt = etree.XSLT(_stylesheet_doc(), extensions={(FUNCTIONS, "human-date"): human_date})
    return xslt


def preview(xml: bytes) -> bytes:
    """The readable HTML page of an Atom/RSS document, by the same XSLT browsers would run."""
    doc = etree.fromstring(xml, etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True))
    # The page speaks the feed's language (Atom xml:lang, RSS channel/language); its words
    # are that language's catalog, else English, marked as such (``ui-lang``).
    lang = doc.get("{http://www.w3.org/XML/1998/namespace}lang") or doc.findtext("channel/language")
    words = {name: etree.XSLT.strparam(text) for name, text in i18n.feed_page_strings(lang).items()}
    words["ui-lang"] = etree.XSLT.strparam(i18n.page_language(lang or i18n.DEFAULT))
    return bytes(_stylesheet()(doc.getroottree(), **words)).lstrip()
