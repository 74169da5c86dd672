"""Export file names: which file holds a document, from its URL and Content-Type."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

#: File extension per media type; nginx's `types` maps them back (see nginx.py).
EXTENSIONS = {
    "application/atom+xml": "atom",
    "application/rss+xml": "rss",
    "application/feed+json": "jsonfeed",
    "application/json": "json",
    "text/calendar": "ics",
    "text/x-opml": "opml",
    "text/html": "html",
    "text/javascript": "js",
    "application/javascript": "js",
    "text/css": "css",
    "application/xml": "xml",
    "text/xml": "xml",
    "text/xsl": "xsl",
    "application/xslt+xml": "xsl",
    "image/svg+xml": "svg",
    "image/png": "png",
    "image/x-icon": "ico",
    "text/plain": "txt",
    "application/vnd.oai.openapi+json": "openapi",
}
#: Exact Content-Types that share a media type with another document's (the API's JSON has no
#: charset, the oEmbed answers' has; the sitemaps are application/xml): each its own extension,
#: since nginx gives every extension one Content-Type.
TYPE_EXTENSIONS = {"application/json; charset=utf-8": "u8json", "text/xml; charset=utf-8": "u8xml"}


def file_for(url: str, ext: str) -> str:
    """The export file of ``url`` (path and query): decoded path, '@query', '.ext'.

    nginx finds it from $uri (decoded) and $args (raw), as in nginx.conf.j2.
    """
    parts = urlsplit(url)
    path = unquote(parts.path)
    if path.endswith("/"):
        path += "index"
    segments = path.strip("/").split("/")
    if any(s in ("", ".", "..") or "\0" in s for s in segments):
        raise ValueError(f"unsafe path {url!r}")
    return "/".join(segments) + (f"@{parts.query}" if parts.query else "") + f".{ext}"


def extension(content_type: str, mimetype: str) -> str:
    """The export file extension of a document sent with ``content_type`` (its media type ``mimetype``)."""
    return TYPE_EXTENSIONS.get(content_type) or EXTENSIONS.get(mimetype) or re.sub(r"[^a-z0-9]+", "-", mimetype.split("/")[-1])
