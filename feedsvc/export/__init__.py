"""`flask --app feedsvc export OUTDIR`: every document as a file, for any static server or CDN.

Documents are fetched through the app's own test client, so each file holds exactly the
bytes the server sends. The URL list starts from the public URL builders (every feed,
archive, API, OPML, ICS and HTML document of the current index) and follows every
same-site link the documents carry (feed and API pages, archives, assets) that the URL
map routes, plus robots.txt, the sitemaps, each post's embed card, event.ics and oEmbed
answers (``oembed.py``). Also writes ``nginx.conf`` (``nginx.py``), serving the tree with the
same Content-Types and caching headers, and ``export-manifest.json`` (URL -> file, type, ETag).
"""

from __future__ import annotations

import html
import json
import multiprocessing
import os
import re
import sys
import time
from collections.abc import Iterable
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from .. import caching, http, ratelimit, urls
from ..discover import OEMBED_TYPES
from ..extensions import current_index, state
from ..http import compress_body
from .nginx import HEADERS, nginx_config
from .oembed import answer_files, nginx_oembed

#: File extension per media type; nginx's `types` maps them back (see nginx_config).
EXTENSIONS = {
    "application/atom+xml": "atom", "application/rss+xml": "rss", "application/feed+json": "jsonfeed",
    "application/json": "json", "text/calendar": "ics", "text/x-opml": "opml", "text/html": "html",
    "text/javascript": "js", "application/javascript": "js", "text/css": "css", "application/xml": "xml",
    "text/xml": "xml", "text/xsl": "xsl", "application/xslt+xml": "xsl", "image/svg+xml": "svg",
    "image/png": "png", "image/x-icon": "ico", "text/plain": "txt", "application/vnd.oai.openapi+json": "openapi",
}
#: Exact Content-Types that share a media type with another document's (the API's JSON has no
#: charset, the oEmbed answers' has; the sitemaps are application/xml): each its own extension,
#: since nginx gives every extension one Content-Type.
TYPE_EXTENSIONS = {"application/json; charset=utf-8": "u8json", "text/xml; charset=utf-8": "u8xml"}
_ABS = r"(/[^\s\"'<>\\]*)"
_APP: Flask | None = None
_MADE: set[Path] = set()  # directories this process created (one mkdir each, not one per file)


def file_for(url: str, ext: str) -> str:
    """The export file of ``url`` (path and query): decoded path, '@query', '.ext'.

    nginx finds it from $uri (decoded) and $args (raw), as in nginx_config().
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
    return TYPE_EXTENSIONS.get(content_type) or EXTENSIONS.get(mimetype) or re.sub(r"[^a-z0-9]+", "-",
                                                                                  mimetype.split("/")[-1])


def seed_urls(app: Flask) -> list[str]:
    """Every document the URL builders name for the current index (path + query)."""
    idx = current_index()
    site = idx.site
    found: list[str] = [urls.home(site), urls.opml(site), urls.absolute(site, "/robots.txt"),
                        urls.sitemap_index(site), urls.absolute(site, "/embed"),
                        urls.absolute(site, "/embed.js"), urls.absolute(site, "/api/docs"),
                        urls.api(site, "/openapi.json"), urls.api(site, "/posts"), urls.api(site, "/categories"),
                        urls.api(site, "/tags")]
    scopes: list[tuple[str, str | None, Iterable[Any]]] = [("all", None, idx.posts)]
    scopes += [("category", c.category.slug, idx.query(category=c.category.slug)) for c in idx.categories]
    scopes += [("tag", slug, idx.query(tag=slug)) for slug in idx.tags]
    for kind, slug, posts in scopes:
        years = sorted({p.date.year for p in posts})
        for fmt in urls.FEED_FILES:
            found.append(urls.feed(site, fmt, kind, slug))
            found.extend(urls.archive(site, fmt, y, kind, slug) for y in years)
    for c in idx.categories:
        found += [urls.category_page(site, c.category.slug), urls.api(site, f"/categories/{urls.seg(c.category.slug)}"),
                  urls.api(site, f"/categories/{urls.seg(c.category.slug)}/posts")]
    found += [urls.tag_page(site, slug) for slug in idx.tags]
    found += [urls.language_page(site, lang) for lang in idx.languages]
    for p in idx.posts:
        found += [urls.post_page(site, p), urls.api(site, f"/posts/{urls.seg(p.slug)}"), urls.embed_page(site, p),
                  *answer_files(idx, p)]
        if p.event is not None:
            found.append(urls.event_calendar(site, p))
        for alias in p.aliases:  # retired slugs: their redirects go into nginx.conf
            found += [urls.absolute(site, f"/posts/{urls.seg(alias)}")]
    found += [urls.absolute(site, old) for old, _ in site.redirects if old.startswith("/")]
    base = len(site.base_url)
    return [u[base:] or "/" for u in found if u.startswith(site.base_url)]


def _links(base: str, body: bytes, mimetype: str, link_headers: list[str]) -> set[str]:
    """Same-site URLs named by a document (absolute ones, root-relative ones in HTML, Link headers)."""
    text = body.decode("utf-8", "replace")
    found = set(re.findall(re.escape(base) + _ABS, text + "\n" + "\n".join(link_headers)))
    if mimetype == "text/html":
        found.update(m for m in re.findall(r'(?:href|src)="' + _ABS, text) if not m.startswith("//"))
    if "xml" in mimetype or mimetype == "text/html":
        found = {html.unescape(u) for u in found}
    return {u.split("#")[0] or "/" for u in found}


_PAGE = re.compile(r"(?<=[?&])page=(\d+)(?=&|$)")


def expand_pages(links: Iterable[str]) -> set[str]:
    """``links`` plus every page between 2 and the highest page a link names, in the links' spelling.

    A feed or API page links to its last page (RFC 5005 / RFC 8288 rel="last"): naming all
    pages at once lets them render in parallel instead of one rel="next" hop per round.
    """
    out = set(links)
    highest: dict[str, tuple[int, str]] = {}
    for link in out:
        m = _PAGE.search(link)
        if m:
            shape = link[:m.start()] + "page={}" + link[m.end():]
            n = int(m.group(1))
            if n > highest.get(shape, (0, ""))[0]:
                highest[shape] = (n, link)
    for shape, (n, _) in highest.items():
        out.update(shape.format(i) for i in range(2, min(n, 100_000) + 1))
    return out


def _routed(adapter: Any, url: str) -> bool:
    """Whether the app routes ``url`` (a link to follow), by one URL-map adapter bound per export."""
    parts = urlsplit(url)
    try:
        adapter.match(parts.path, method="GET")
    except RequestRedirect:
        return True
    except HTTPException:
        return False
    return True


def _fetch(batch: list[str]) -> list[dict[str, Any]]:
    """Fetch and write each URL of ``batch``; report what it was and which links it holds."""
    app = _APP
    assert app is not None
    out_dir = Path(app.config["EXPORT_DIR"])
    precompress = app.config["EXPORT_PRECOMPRESS"]
    base = state(app).live.current.site.base_url
    results = []
    with app.test_client() as client:
        for url in batch:
            resp = client.get(url, headers={"Accept-Encoding": "identity"})
            data = resp.get_data()
            resp.close()  # static files stream from an open file
            item: dict[str, Any] = {"url": url, "status": resp.status_code}
            if 300 <= resp.status_code < 400:
                item["location"] = resp.headers.get("Location", "")
            elif resp.status_code == 200 and "no-store" not in resp.headers.get("Cache-Control", ""):
                ctype = resp.headers.get("Content-Type", "application/octet-stream")
                mimetype = resp.mimetype or "application/octet-stream"
                ext = extension(ctype, mimetype)
                stem = app.config["EXPORT_NAMES"].get(url)
                rel = f"{stem}.{ext}" if stem else file_for(url, ext)
                target = out_dir / rel
                if target.parent not in _MADE:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    _MADE.add(target.parent)
                target.write_bytes(data)
                files = [target]
                if precompress and "Accept-Encoding" in resp.headers.get("Vary", ""):
                    # The server's own deterministic compression of these very bytes: the
                    # same files it would send, without rendering the document twice more.
                    with _APP.app_context():  # type: ignore[union-attr]
                        for coding, suffix in (("gzip", ".gz"), ("br", ".br")):
                            (out_dir / (rel + suffix)).write_bytes(compress_body(data, coding))
                            files.append(out_dir / (rel + suffix))
                lm = resp.headers.get("Last-Modified")
                if lm:  # nginx sends the file's mtime as Last-Modified: make it the app's
                    ts = parsedate_to_datetime(lm).timestamp()
                    for f in files:
                        os.utime(f, (ts, ts))
                item.update(file=rel, content_type=ctype, etag=resp.headers.get("ETag", ""),
                            cache_control=resp.headers.get("Cache-Control", ""),
                            links=sorted(_links(base, data, mimetype, resp.headers.getlist("Link"))))
            results.append(item)
    return results


def _progress(done: int, queued: int, t0: float) -> float:
    now = time.monotonic()
    click.echo(f"export: {done} documents written, {queued} more found so far "
               f"({done / max(now - t0, 1e-6):.0f}/s)", err=True)
    return now


def run_export(app: Flask, out_dir: Path, jobs: int, precompress: bool) -> dict[str, Any]:
    """Export every document of ``app`` into ``out_dir``; return the manifest."""
    global _APP
    live = state(app).live
    live.interval = 0  # one consistent snapshot: no reloads swapping the index mid-export
    live.current  # noqa: B018  (the database up to date before forking: each job process then reads it)
    limiter = ratelimit.limiter(app)
    if limiter is not None:
        limiter.enabled = False  # our own requests are not clients to rate-limit
    caching.render_cache(app).enabled = False  # each document once: filling (or reading) a shared cache buys nothing
    app.config["EXPORT_DIR"], app.config["EXPORT_PRECOMPRESS"] = str(out_dir), precompress
    with app.app_context():
        idx = current_index()
        base = len(idx.site.base_url)
        # Documents named otherwise than by their URL (file_for): the oEmbed answers.
        app.config["EXPORT_NAMES"] = {u[base:]: stem for p in idx.posts for u, stem in answer_files(idx, p).items()}
    _APP = app
    out_dir.mkdir(parents=True, exist_ok=True)
    with app.app_context():
        frontier = list(dict.fromkeys(seed_urls(app)))
    seen = set(frontier)
    adapter = app.url_map.bind("export.invalid")
    manifest: dict[str, Any] = {}
    redirects: dict[str, tuple[int, str]] = {}
    types: dict[str, str] = {}
    t0 = shown = time.monotonic()
    pool = multiprocessing.get_context("fork").Pool(jobs) if jobs > 1 else None
    try:
        while frontier:
            size = max(1, min(200, len(frontier) // (jobs * 4) or 1))
            batches = [frontier[i:i + size] for i in range(0, len(frontier), size)]
            frontier = []
            results = pool.imap_unordered(_fetch, batches) if pool else map(_fetch, batches)
            for batch in results:
                for item in batch:
                    if "file" in item:
                        manifest[item["url"]] = {k: item[k] for k in ("file", "content_type", "etag", "cache_control")}
                        ext = item["file"].rsplit(".", 1)[1]
                        clash = next((t for t, e in types.items() if e == ext and t != item["content_type"]), None)
                        if clash:  # nginx would send one of the two types for both
                            raise click.ClickException(f"{item['url']}: {item['content_type']!r} and {clash!r} "
                                                       f"would share the file extension .{ext}")
                        types[item["content_type"]] = ext
                        for link in expand_pages(item["links"]):
                            if link not in seen and _routed(adapter, link):
                                seen.add(link)
                                frontier.append(link)
                    elif "location" in item:
                        redirects[item["url"]] = (item["status"], item["location"])
                if time.monotonic() - shown >= 1.0:  # progress about once a second
                    shown = _progress(len(manifest), len(frontier), t0)
            shown = _progress(len(manifest), len(frontier), t0)  # and after each round of links
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    cc = http.settings(app).cache_control
    exceptions = {urlsplit(u).path: d["cache_control"] for u, d in manifest.items() if d["cache_control"] != cc}
    by_format = {fmt: extension(ct, ct.split(";")[0]) for fmt, ct in OEMBED_TYPES.items()}
    with app.app_context():
        oembed = nginx_oembed(current_index(), by_format, HEADERS)
    (out_dir / "nginx.conf").write_text(nginx_config(str(out_dir.resolve()), types, redirects, cc, exceptions,
                                                     oembed.maps, oembed.location, oembed.keys, oembed.longest),
                                        encoding="utf-8")
    doc = {"documents": dict(sorted(manifest.items())), "redirects": {k: list(v) for k, v in sorted(redirects.items())}}
    (out_dir / "export-manifest.json").write_text(json.dumps(doc, indent=1, sort_keys=True), encoding="utf-8")
    return doc


@click.command("export")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=None, help="Processes (default: CPU count).")
@click.option("--precompress", is_flag=True, help="Also write feedsvc's gzip (.gz) and Brotli (.br) bytes.")
@with_appcontext
def export_cmd(outdir: Path, jobs: int | None, precompress: bool) -> None:
    """Write every feed, archive, API page, OPML, ICS, HTML page, sitemap and oEmbed answer into OUTDIR, plus nginx.conf."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    t0 = time.monotonic()
    doc = run_export(app, outdir, jobs or os.cpu_count() or 1, precompress)
    wall = time.monotonic() - t0
    n = len(doc["documents"])
    click.echo(f"exported {n} documents and {len(doc['redirects'])} redirects to {outdir} in {wall:.1f}s "
               f"({n / max(wall, 1e-6):.0f} files/s); nginx config: {outdir / 'nginx.conf'}", err=True)
    sys.stdout.flush()


def init_app(app: Flask) -> None:
    """Register the `export` command."""
    app.cli.add_command(export_cmd)
