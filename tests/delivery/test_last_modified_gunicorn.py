"""Under real gunicorn (two workers reading the master's database): one ETag, one Last-Modified, after a no-op save."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
URLS = ["/feeds/categories/statements/atom.xml", "/feeds/categories/events/feed.json", "/api/v1/posts/a",
        "/posts/b", "/categories/statements"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Connection": "close"})  # a new connection: any worker may answer
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


@pytest.fixture
def server(site: Any, tmp_path: Path) -> Iterator[int]:
    site.post("a", "Statement.", title="Statement A", date="2021-04-01", categories=["statements"])
    site.post("b", "Event.", title="Event B", date="2021-05-01", categories=["events"],
              event={"start": "2021-07-01T10:00:00+02:00"})
    site.age()
    port = _free_port()
    env = {**os.environ, "FEEDSVC_CONTENT_DIR": str(site.root), "FEEDSVC_RELOAD_INTERVAL": "0.3",
           "FEEDSVC_INDEX_PATH": str(tmp_path / "index.sqlite3"), "WEB_CONCURRENCY": "2",
           "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_ACCESSLOG": ""}
    env.pop("PORT", None)
    with (tmp_path / "gunicorn.err").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if _get(port, "/healthz")[0] == 200:
                        break
                except OSError:
                    time.sleep(0.1)
            yield port
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


def _observe(port: int, seen: dict[tuple[str, str], set[str]], rounds: int = 10) -> None:
    for _ in range(rounds):
        for url in URLS:
            status, headers, _ = _get(port, url)
            assert status == 200, url
            seen.setdefault((url, headers["ETag"]), set()).add(headers["Last-Modified"])


def _wait_for(port: int, path: str, expect: bytes, times: int = 12, limit: float = 20) -> bool:
    """True once ``times`` consecutive requests (spread over the workers) all show ``expect``."""
    deadline = time.monotonic() + limit
    run = 0
    while time.monotonic() < deadline and run < times:
        run = run + 1 if expect in _get(port, path)[2] else 0
    return run >= times


def test_one_etag_one_last_modified_on_every_worker_after_a_noop_save(server: int, site: Any) -> None:
    port = server
    seen: dict[tuple[str, str], set[str]] = {}
    _observe(port, seen)
    path = site.root / "posts" / "a.md"
    tmp = path.with_name(".a.md.tmp")
    tmp.write_bytes(path.read_bytes())
    os.replace(tmp, path)  # sed -i: the same bytes saved by rename (a new inode, the directory's mtime moves)
    # An unrelated post after it: once every worker shows it, the reload that saw the save is served.
    site.post("c", "Report.", title="Sentinel report", date="2021-06-01", categories=["publications"])
    assert _wait_for(port, "/api/v1/posts?category=publications", b"Sentinel report")
    _observe(port, seen)
    flapping = {key: lms for key, lms in seen.items() if len(lms) > 1}
    assert not flapping, f"one ETag answered with several Last-Modified values: {flapping}"
    assert {url for url, _ in seen} == set(URLS) and len(seen) == len(URLS), "the save changed no document's bytes"
