"""Under real gunicorn (two workers reading the master's database): one ETag, one Last-Modified, after a no-op save."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.gunicorn_server import Server

pytestmark = pytest.mark.slow

URLS = [
    "/feeds/categories/statements/atom.xml",
    "/feeds/categories/events/feed.json",
    "/api/v1/posts/a",
    "/posts/b",
    "/categories/statements",
]


@pytest.fixture
def server(site: Any, tmp_path: Path) -> Iterator[Server]:
    site.post("a", "Statement.", title="Statement A", date="2021-04-01", categories=["statements"])
    site.post(
        "b", "Event.", title="Event B", date="2021-05-01", categories=["events"], event={"start": "2021-07-01T10:00:00+02:00"}
    )
    site.age()
    server = Server(
        site.root,
        tmp_path / "gunicorn.err",
        FEEDSVC_RELOAD_INTERVAL="0.3",
        FEEDSVC_INDEX_PATH=str(tmp_path / "index.sqlite3"),
        GUNICORN_ACCESSLOG="",
    )
    try:
        yield server
    finally:
        server.stop()


def _observe(server: Server, seen: dict[tuple[str, str], set[str]], rounds: int = 10) -> None:
    for _ in range(rounds):
        for url in URLS:
            status, headers, _ = server.get(url)
            assert status == 200, url
            seen.setdefault((url, headers["ETag"]), set()).add(headers["Last-Modified"])


def _wait_for(server: Server, path: str, expect: bytes, times: int = 12, limit: float = 20) -> bool:
    """True once ``times`` consecutive requests (spread over the workers) all show ``expect``."""
    deadline = time.monotonic() + limit
    run = 0
    while time.monotonic() < deadline and run < times:
        run = run + 1 if expect in server.get(path)[2] else 0
    return run >= times


def test_one_etag_one_last_modified_on_every_worker_after_a_noop_save(server: Server, site: Any) -> None:
    seen: dict[tuple[str, str], set[str]] = {}
    _observe(server, seen)
    path = site.root / "posts" / "a.md"
    tmp = path.with_name(".a.md.tmp")
    tmp.write_bytes(path.read_bytes())
    os.replace(tmp, path)  # sed -i: the same bytes saved by rename (a new inode, the directory's mtime moves)
    # An unrelated post after it: once every worker shows it, the reload that saw the save is served.
    site.post("c", "Report.", title="Sentinel report", date="2021-06-01", categories=["publications"])
    assert _wait_for(server, "/api/v1/posts?category=publications", b"Sentinel report")
    _observe(server, seen)
    flapping = {key: lms for key, lms in seen.items() if len(lms) > 1}
    assert not flapping, f"one ETag answered with several Last-Modified values: {flapping}"
    assert {url for url, _ in seen} == set(URLS) and len(seen) == len(URLS), "the save changed no document's bytes"
