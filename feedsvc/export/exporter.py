"""One export run: an app of its own, the crawl's rounds, each document's file, the manifest and nginx.conf.

Documents are fetched through the app's own test client, so each file holds exactly the
bytes the server sends. The run's state (its app, output directory, the directories it
made) belongs to its ``Exporter``: a second run in the same process starts afresh.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from flask import Flask

from .. import http
from ..discover import OEMBED_TYPES
from ..extensions import current_index
from ..http import compress_body
from .crawl import expand_pages, links, routed, seed_urls
from .files import extension, file_for
from .nginx import HEADERS, nginx_config
from .oembed import answer_files, nginx_oembed

#: The settings of the export's own app, over those of the app it exports: one consistent
#: snapshot (no reloads swapping the index mid-export), our own requests are no clients to
#: rate-limit or to hold to a render budget, and each document is fetched once (filling or
#: reading a shared cache buys nothing).
OVERRIDES: Mapping[str, Any] = {"RELOAD_INTERVAL": 0, "RATELIMIT": None, "RENDER_BUDGET": "off", "CACHE_TYPE": "NullCache"}

#: The run a forked job process serves (set by the pool's initializer, in that process only).
_JOB: Exporter | None = None


def export_app(app: Flask) -> Flask:
    """An app like ``app`` (its configuration) with OVERRIDES: the one the export fetches from."""
    from .. import create_app

    return create_app({**app.config, **OVERRIDES})


class Exporter:
    """One export of an app's documents into ``out_dir``; ``run`` returns the manifest."""

    def __init__(self, app: Flask, out_dir: Path, precompress: bool = False) -> None:
        self.app = app
        self.out_dir = out_dir
        self.precompress = precompress
        self.made: set[Path] = set()  # directories made by this run (one mkdir each, not one per file)
        with app.app_context():
            idx = current_index()  # the database up to date before forking: each job process then reads it
            self.base_url = idx.site.base_url
            base = len(self.base_url)
            # Documents named otherwise than by their URL (file_for): the oEmbed answers.
            self.names = {u[base:]: stem for p in idx.posts for u, stem in answer_files(idx, p).items()}

    def fetch(self, batch: list[str]) -> list[dict[str, Any]]:
        """Fetch and write each URL of ``batch``; report what it was and which links it holds."""
        results = []
        with self.app.test_client() as client:
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
                    stem = self.names.get(url)
                    rel = f"{stem}.{ext}" if stem else file_for(url, ext)
                    files = self._write(rel, data, "Accept-Encoding" in resp.headers.get("Vary", ""))
                    lm = resp.headers.get("Last-Modified")
                    if lm:  # nginx sends the file's mtime as Last-Modified: make it the app's
                        ts = parsedate_to_datetime(lm).timestamp()
                        for f in files:
                            os.utime(f, (ts, ts))
                    item.update(
                        file=rel,
                        content_type=ctype,
                        etag=resp.headers.get("ETag", ""),
                        cache_control=resp.headers.get("Cache-Control", ""),
                        links=sorted(links(self.base_url, data, mimetype, resp.headers.getlist("Link"))),
                    )
                results.append(item)
        return results

    def _write(self, rel: str, data: bytes, varies: bool) -> list[Path]:
        """Write one document (and, with precompress, its encodings when the server varies them)."""
        target = self.out_dir / rel
        if target.parent not in self.made:
            target.parent.mkdir(parents=True, exist_ok=True)
            self.made.add(target.parent)
        target.write_bytes(data)
        files = [target]
        if self.precompress and varies:
            # The server's own deterministic compression of these very bytes: the
            # same files it would send, without rendering the document twice more.
            with self.app.app_context():
                for coding, suffix in (("gzip", ".gz"), ("br", ".br")):
                    (self.out_dir / (rel + suffix)).write_bytes(compress_body(data, coding))
                    files.append(self.out_dir / (rel + suffix))
        return files

    def run(self, jobs: int) -> dict[str, Any]:
        """Export every document in rounds of links, in ``jobs`` processes; write nginx.conf and the manifest."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with self.app.app_context():
            frontier = list(dict.fromkeys(seed_urls()))
        seen = set(frontier)
        adapter = self.app.url_map.bind("export.invalid")
        manifest: dict[str, Any] = {}
        redirects: dict[str, tuple[int, str]] = {}
        types: dict[str, str] = {}
        t0 = shown = time.monotonic()
        pool = multiprocessing.get_context("fork").Pool(jobs, _adopt, (self,)) if jobs > 1 else None
        try:
            while frontier:
                size = max(1, min(200, len(frontier) // (jobs * 4) or 1))
                batches = [frontier[i : i + size] for i in range(0, len(frontier), size)]
                frontier = []
                results = pool.imap_unordered(_fetch, batches) if pool else map(self.fetch, batches)
                for batch in results:
                    for item in batch:
                        if "file" in item:
                            manifest[item["url"]] = {k: item[k] for k in ("file", "content_type", "etag", "cache_control")}
                            ext = item["file"].rsplit(".", 1)[1]
                            clash = next((t for t, e in types.items() if e == ext and t != item["content_type"]), None)
                            if clash:  # nginx would send one of the two types for both
                                raise click.ClickException(
                                    f"{item['url']}: {item['content_type']!r} and {clash!r} would share the file extension .{ext}"
                                )
                            types[item["content_type"]] = ext
                            for link in expand_pages(item["links"]):
                                if link not in seen and routed(adapter, link):
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
        self._write_nginx(manifest, redirects, types)
        doc = {"documents": dict(sorted(manifest.items())), "redirects": {k: list(v) for k, v in sorted(redirects.items())}}
        (self.out_dir / "export-manifest.json").write_text(json.dumps(doc, indent=1, sort_keys=True), encoding="utf-8")
        return doc

    def _write_nginx(self, manifest: dict[str, Any], redirects: dict[str, tuple[int, str]], types: dict[str, str]) -> None:
        cc = http.settings(self.app).cache_control
        exceptions = {urlsplit(u).path: d["cache_control"] for u, d in manifest.items() if d["cache_control"] != cc}
        by_format = {fmt: extension(ct, ct.split(";")[0]) for fmt, ct in OEMBED_TYPES.items()}
        with self.app.app_context():
            oembed = nginx_oembed(current_index(), by_format, HEADERS)
        conf = nginx_config(
            str(self.out_dir.resolve()),
            types,
            redirects,
            cc,
            exceptions,
            oembed.maps,
            oembed.location,
            oembed.keys,
            oembed.longest,
        )
        (self.out_dir / "nginx.conf").write_text(conf, encoding="utf-8")


def _adopt(exporter: Exporter) -> None:
    """Pool initializer: the forked job process serves ``exporter`` (inherited through the fork, not pickled)."""
    global _JOB
    _JOB = exporter


def _fetch(batch: list[str]) -> list[dict[str, Any]]:
    """A job process's task: its run's ``fetch``."""
    assert _JOB is not None
    return _JOB.fetch(batch)


def _progress(done: int, queued: int, t0: float) -> float:
    now = time.monotonic()
    click.echo(f"export: {done} documents written, {queued} more found so far ({done / max(now - t0, 1e-6):.0f}/s)", err=True)
    return now


def run_export(app: Flask, out_dir: Path, jobs: int, precompress: bool) -> dict[str, Any]:
    """Export every document of ``app`` (through an app of its own, OVERRIDES) into ``out_dir``; return the manifest."""
    return Exporter(export_app(app), out_dir, precompress).run(jobs)
