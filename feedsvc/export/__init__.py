"""`flask --app feedsvc export OUTDIR`: every document as a file, for any static server or CDN.

Documents are fetched through an app of the export's own (exporter.py: the app's settings,
reloads, rate limits, render budget and caches off), so each file holds exactly the bytes
the server sends. The URL list (crawl.py) starts from the public URL builders (every feed,
archive, API, OPML, ICS and HTML document of the current index) and follows every
same-site link the documents carry (feed and API pages, archives, assets) that the URL
map routes, plus robots.txt, the sitemaps, each post's embed card, event.ics and oEmbed
answers (``oembed.py``). Each document's file is named by files.py. Also writes
``nginx.conf`` (``nginx.py``, from ``nginx.conf.j2``), serving the tree with the same
Content-Types and caching headers, and ``export-manifest.json`` (URL -> file, type, ETag).
The command itself is cli.py.
"""

from __future__ import annotations

from .cli import export_cmd, init_app
from .crawl import expand_pages, seed_urls
from .exporter import OVERRIDES, Exporter, export_app, run_export
from .files import extension, file_for

__all__ = [
    "OVERRIDES",
    "Exporter",
    "expand_pages",
    "export_app",
    "export_cmd",
    "extension",
    "file_for",
    "init_app",
    "run_export",
    "seed_urls",
]
