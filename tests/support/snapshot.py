"""Snapshot of every document feedsvc serves for a fixed, varied content tree: a hash per URL.

A behaviour-preserving refactor must leave the snapshot unchanged (issue 19: "every URL,
byte and header stays the same"). Usage::

    python -m tests.support.snapshot OUT.json            # write the snapshot
    python -m tests.support.snapshot OUT.json --compare BEFORE.json

Each URL reached by crawling from the roots (feeds at every scope, paged and archived,
OPML, API pages, HTML pages, sitemaps, oEmbed, embeds, 404s) is recorded as the sha256 of
its status, selected headers and body. Two hashes are kept: ``full`` includes
Last-Modified, ``stable`` leaves it out. The content files get fixed mtimes, but the index
dates content changes by the clock of the load, so Last-Modified (and only it) may differ
between runs: compare ``stable`` across runs, ``full`` within one.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.feeds_checks import populate  # noqa: E402
from tests.support.site import SiteTree  # noqa: E402

HEADERS = (
    "Content-Type",
    "ETag",
    "Cache-Control",
    "Vary",
    "Link",
    "Location",
    "Content-Language",
    "Access-Control-Allow-Origin",
    "X-Total-Count",
)
#: Documents that change by themselves (counters, health): not part of the contract checked here.
SKIP = ("/metrics", "/healthz")
FIXED_MTIME = 1_600_000_000
LIMIT = 5000


def build_site(root: Path) -> SiteTree:
    """The content tree: tests' populate() plus enough posts to page every scope."""
    site = SiteTree(root)
    populate(site)
    for i in range(1, 26):
        cat = ("statements", "publications", "events")[i % 3]
        site.post(
            f"2022-01-{i:02d}-item-{i}",
            f"Item {i} body with *markdown* and a [link](https://example.org/{i}).",
            title=f"Item {i}",
            date=f"2022-01-{i:02d}",
            categories=[cat],
            tags=["Bulk", f"T{i % 4}"],
            lang=("en", "fr", "ru")[i % 3],
        )
    for path in [root, *root.rglob("*")]:
        os.utime(path, (FIXED_MTIME, FIXED_MTIME))
    return site


def _links(base: str, body: bytes, mimetype: str, link_headers: list[str]) -> set[str]:
    """Same-site URLs a document names (absolute, root-relative in HTML, Link headers)."""
    text = body.decode("utf-8", "replace") + "\n" + "\n".join(link_headers)
    pattern = r"(/[^\s\"'<>\\]*)"
    found = set(re.findall(re.escape(base) + pattern, text))
    if mimetype == "text/html":
        found.update(m for m in re.findall(r'(?:href|src)="' + pattern, text) if not m.startswith("//"))
    found = {html.unescape(u) for u in found}
    return {u.split("#")[0] or "/" for u in found}


def crawl(app: Any, base: str) -> dict[str, dict[str, str]]:
    """Every reachable document's hashes, by URL."""
    roots = [
        "/",
        "/feeds/opml.xml",
        "/robots.txt",
        "/sitemap.xml",
        "/api/v1/posts",
        "/api/v1/categories",
        "/api/v1/tags",
        "/api/v1/openapi.json",
        "/api/docs",
        "/api/v1/posts?q=item&per_page=2",
        "/api/v1/posts?category=events&lang=fr",
        "/api/v1/posts?page=abc",
        "/api/v1/posts/no-such",
        "/embed",
        "/embed.js",
        "/no/such/page",
        "/api/no-such",
        "/api/v1/posts?page=0",
        "/feeds/atom.xml?page=99",
        "/posts/no-such",
        "/feeds/categories/no-such/atom.xml",
        f"/oembed?url={quote(base + '/posts/item-3', safe='')}",
        "/oembed?url=https%3A%2F%2Fevil.example%2F",
        "/feeds/atom.xml?browser=1",
        "/feeds/rss.xml?browser=1",
    ]
    seen = set(roots)
    frontier = list(roots)
    out: dict[str, dict[str, str]] = {}
    with app.test_client() as client:
        while frontier and len(out) < LIMIT:
            url = frontier.pop(0)
            resp = client.get(url, headers={"Accept-Encoding": "identity", "Accept-Language": "en"})
            body = resp.get_data()
            resp.close()
            head = [(name, resp.headers.get(name, "")) for name in HEADERS]
            stable = hashlib.sha256(repr((resp.status_code, head)).encode() + b"\0" + body).hexdigest()
            full = hashlib.sha256(stable.encode() + resp.headers.get("Last-Modified", "").encode()).hexdigest()
            out[url] = {"status": str(resp.status_code), "stable": stable, "full": full}
            if resp.status_code != 200 and resp.status_code // 100 != 3:
                continue
            links = _links(base, body, resp.mimetype or "", resp.headers.getlist("Link"))
            if 300 <= resp.status_code < 400:
                loc = resp.headers.get("Location", "")
                links = {loc[len(base) :]} if loc.startswith(base) else ({loc} if loc.startswith("/") else set())
            for link in sorted(links):
                if link not in seen and not link.startswith(SKIP):
                    seen.add(link)
                    frontier.append(link)
    return out


def snapshot() -> dict[str, dict[str, str]]:
    """Build the app over the fixed tree and crawl it."""
    work = Path(tempfile.mkdtemp(prefix="feedsvc-snapshot-"))
    os.environ["XDG_CACHE_HOME"] = str(work / "cache")
    site = build_site(work / "content")
    from feedsvc import create_app

    app = create_app(
        {
            "CONTENT_DIR": str(site.root),
            "RELOAD_INTERVAL": 0,
            "CACHE_TYPE": "SimpleCache",
            "RENDER_BUDGET": "off",
            "FEED_SIZE": 4,
            "PER_PAGE": 3,
            "INDEX_PATH": str(work / "index.sqlite3"),
            "OUTBOX_PATH": str(work / "outbox.sqlite3"),
        }
    )
    app.testing = True
    return crawl(app, "https://news.example.org")


def compare(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]], key: str) -> list[str]:
    """Lines naming each URL whose ``key`` hash differs, or which only one side has."""
    diffs = [f"only before: {u}" for u in sorted(before.keys() - after.keys())]
    diffs += [f"only after: {u}" for u in sorted(after.keys() - before.keys())]
    diffs += [
        f"differs: {u} ({before[u]['status']} -> {after[u]['status']})"
        for u in sorted(before.keys() & after.keys())
        if before[u][key] != after[u][key]
    ]
    return diffs


def main(argv: list[str]) -> int:
    """Write the snapshot to argv[0]; with ``--compare BEFORE``, report the differences."""
    snap = snapshot()
    Path(argv[0]).write_text(json.dumps(snap, indent=1, sort_keys=True), encoding="utf-8")
    statuses: dict[str, int] = {}
    for item in snap.values():
        statuses[item["status"]] = statuses.get(item["status"], 0) + 1
    print(f"{len(snap)} documents, statuses {dict(sorted(statuses.items()))}")
    if "--compare" in argv:
        before = json.loads(Path(argv[argv.index("--compare") + 1]).read_text(encoding="utf-8"))
        key = "full" if "--full" in argv else "stable"
        diffs = compare(before, snap, key)
        print("\n".join(diffs) or f"identical ({key}: {len(snap)} documents)")
        return 1 if diffs else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
