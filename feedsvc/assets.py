"""The static files the pages and partners load: served from memory with content-hash ETags, and embed.js.

The set is fixed and shipped with the code (``static/``): a file is found by name in that set,
never by path lookup; a URL naming the file's content hash (``?v=``, ``urls.asset_url``) is
immutable. embed.js gets the widget's words in every language filled in before it is cached.
The routes are the web blueprint's (``web.static``, ``web.embed_js``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

from flask import Response, abort, request

from . import caching, http, i18n, urls
from .content import Site

JS = "text/javascript; charset=utf-8"
STATIC = urls.STATIC
asset_url = urls.asset_url

#: Static files the pages link to (an export must copy them with the pages).
ASSETS = ("site.css", "site.js", "embed-builder.js", "icon.svg", "embed-card.css")


def asset_urls(site: Site) -> list[str]:
    """Absolute URLs of every static file the HTML pages reference (with their ?v= hash)."""
    # The shipped icon stands in only for a site that declares none (base.html).
    names = [name for name in ASSETS if not (name == "icon.svg" and site.icon)]
    return [urls.absolute(site, asset_url(name)) for name in names]


def _static_rep(name: str, mimetype: str, headers: tuple[tuple[str, str], ...] = ()) -> Callable[[], caching.Representation]:
    def produce() -> caching.Representation:
        path = STATIC / name
        mtime = datetime.fromtimestamp(int(path.stat().st_mtime), UTC)
        return caching.Representation(path.read_bytes(), mimetype, mtime, headers=headers)

    return produce


#: Static files are a fixed set shipped with the code: served from memory, never by path lookup.
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": JS, ".xsl": "text/xsl; charset=utf-8", ".svg": "image/svg+xml"}
#: A URL naming the file's content hash (?v=) never changes meaning (RFC 8246 immutable).
IMMUTABLE = "public, max-age=31536000, immutable"


@lru_cache(maxsize=1)
def _static_files() -> dict[str, str]:
    """File name -> media type of every file under static/ (no directories, no dotfiles)."""
    return {
        p.name: STATIC_TYPES[p.suffix]
        for p in STATIC.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix in STATIC_TYPES
    }


def static_file(name: str) -> Response:
    """A static file, with a content-hash ETag (the same on every host) and long caching when versioned."""
    mimetype = _static_files().get(name)
    if mimetype is None:
        abort(404)
    version = request.args.get("v")
    immutable = version is not None and asset_url(name).endswith(f"?v={version}")
    produce = _static_rep(name, mimetype, (("Cache-Control", IMMUTABLE),) if immutable else ())
    return http.send(caching.render("web.static", {"name": name, "immutable": immutable}, produce))


#: Where embed.js receives its words and the right-to-left languages (``i18n.widget_words``).
WIDGET_I18N = "/*@i18n@*/{}"


def embed_script() -> Response:
    """The partner widget script (dependency-free, cached with ETag and max-age), its strings filled in."""
    script = _static_rep("embed.js", JS)

    def produce() -> caching.Representation:
        rep = script()
        data = json.dumps(i18n.widget_words(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return caching.Representation(rep.body.replace(WIDGET_I18N.encode(), data.encode("utf-8"), 1), JS, rep.last_modified)

    return http.send(caching.render("web.embed_js", {}, produce))
