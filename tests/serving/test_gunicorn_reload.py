"""Content reload under the shipped gunicorn config: the master writes the index database, workers only read it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.gunicorn_server import Server

pytestmark = pytest.mark.slow


def _children(pid: int) -> dict[int, int]:
    """Worker pid -> its thread count."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
            if fields.get("PPid", "").strip() == str(pid):
                out[int(entry.name)] = int(fields["Threads"].strip())
    return out


@pytest.fixture
def server(site, tmp_path) -> Iterator[Server]:
    site.post("first", date="2021-03-01")
    server = Server(site.root, tmp_path / "gunicorn.err", workers=3, FEEDSVC_RELOAD_INTERVAL="0.3", GUNICORN_ACCESSLOG="")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(_children(server.proc.pid)) != 3:
            time.sleep(0.1)
        yield server
    finally:
        server.stop()


def _wait_for(server: Server, expect: bytes, times: int = 12, limit: float = 15) -> bool:
    """True once ``times`` consecutive requests (spread over the workers) all show ``expect``."""
    deadline = time.monotonic() + limit
    seen = 0
    while time.monotonic() < deadline and seen < times:
        seen = seen + 1 if expect in server.get("/api/v1/posts")[2] else 0
        time.sleep(0.02)
    return seen >= times


def test_edit_reaches_every_worker_and_workers_never_scan(server, site):
    workers = _children(server.proc.pid)
    assert len(workers) == 3 and set(workers.values()) == {1}  # no reload thread in any worker
    site.post("second", date="2021-04-01", title="Second post")
    assert _wait_for(server, b"Second post")
    fresh = _children(server.proc.pid)
    assert fresh == workers, "workers read the new content from the database: never re-forked"
    site.touch_later(site.post("second", date="2021-04-01", title="Edited title"))
    assert _wait_for(server, b"Edited title")
    (site.root / "posts" / "second.md").unlink()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and b"Edited title" in server.get("/api/v1/posts")[2]:
        time.sleep(0.05)
    assert _wait_for(server, b'"total_items":1')
    assert _children(server.proc.pid) == workers
    log = server.out.read_text()
    assert "re-forking" not in log and "Traceback" not in log


def test_unchanged_content_never_restarts_workers(server):
    before = _children(server.proc.pid)
    time.sleep(1.5)  # five rescan intervals
    assert server.get("/healthz")[0] == 200
    assert _children(server.proc.pid) == before and "re-forking" not in server.out.read_text()
