"""Many hosts, one content: two servers with their own databases send the same bytes and ETags (issue 23).

Two app factories on the same content directory, each with its own index database
(FEEDSVC_INDEX_PATH), as two hosts behind one load balancer would run. The export's crawl
(feedsvc/export/crawl.py) lists every document: feeds at every scope, their pages and yearly
archives, OPML, API pages, HTML pages. Each must have the same bytes and ETag on both hosts,
identity and gzip; after the same edit both move to the same new ETags.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.http_kit import LONG, fill

from feedsvc.export import run_export
from feedsvc.extensions import state

pytestmark = pytest.mark.slow


def _host(make_app: Any, tmp_path: Path, name: str) -> Any:
    # Pages of two entries and two posts: every feed and API list has more than one page.
    return make_app(INDEX_PATH=str(tmp_path / f"{name}.db"), FEED_SIZE=2, PER_PAGE=2)


def _crawl(app: Any, out: Path) -> dict[str, dict[str, Any]]:
    """Every document the export reaches: URL -> {etag, bytes}."""
    with app.app_context():  # as `flask export` runs it
        docs = run_export(app, out, jobs=1, precompress=False)["documents"]
    return {url: {"etag": d["etag"], "body": (out / d["file"]).read_bytes()} for url, d in docs.items()}


def _same_on_both(a: Any, b: Any, tmp_path: Path, round_: str) -> dict[str, dict[str, Any]]:
    one, two = _crawl(a, tmp_path / f"{round_}-a"), _crawl(b, tmp_path / f"{round_}-b")
    assert sorted(one) == sorted(two)
    differ = [url for url in one if one[url] != two[url]]
    assert not differ, differ[:10]
    ca, cb = a.test_client(), b.test_client()
    for url in one:  # the compressed bytes too
        ra, rb = (c.get(url, headers={"Accept-Encoding": "gzip"}) for c in (ca, cb))
        assert ra.headers.get("Content-Encoding") == rb.headers.get("Content-Encoding")
        assert (ra.status_code, ra.headers.get("ETag"), ra.get_data()) == (
            rb.status_code,
            rb.headers.get("ETag"),
            rb.get_data(),
        ), url
    return one


def test_two_hosts_serve_the_same_documents_and_move_together(site: Any, make_app: Any, tmp_path: Path) -> None:
    fill(site)
    a, b = _host(make_app, tmp_path, "a"), _host(make_app, tmp_path, "b")
    assert state(a).live.current.site.base_url == state(b).live.current.site.base_url
    before = _same_on_both(a, b, tmp_path, "before")
    paths = " ".join(sorted(before))
    for needle in (
        "/feeds/atom.xml?page=2",
        "/feeds/categories/statements/rss.xml",
        "/feeds/tags/cnd/feed.json",
        "/feeds/archive/2021/atom.xml",
        "/feeds/calendar.ics",
        "/feeds/opml.xml",
        "/api/v1/posts?page=2",
        "/api/v1/posts/summit",
        "/api/v1/tags",
        "/posts/summit",
        "/tags/cnd",
    ):
        assert needle in paths, (needle, paths)
    json.loads(before["/api/v1/posts"]["body"])  # an API page, not an error page

    site.post(
        "2021-06-10-report",
        LONG + "\n\nAn added paragraph.",
        title="Report, revised",
        date="2021-06-10",
        categories=["publications"],
        tags=["Treaty"],
    )
    for app in (a, b):
        state(app).live.refresh()
    after = _same_on_both(a, b, tmp_path, "after")
    moved = [url for url in before if url in after and before[url]["etag"] != after[url]["etag"]]
    for url in ("/feeds/atom.xml", "/feeds/categories/publications/rss.xml", "/api/v1/posts", "/posts/report"):
        assert url in moved, (url, moved)
