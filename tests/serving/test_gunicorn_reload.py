"""Content reload under the shipped gunicorn config: the master writes the index database, workers only read it."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


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
def server(site, tmp_path):
    site.post("first", date="2021-03-01")
    port = _free_port()
    env = {**os.environ, "FEEDSVC_CONTENT_DIR": str(site.root), "FEEDSVC_RELOAD_INTERVAL": "0.3",
           "WEB_CONCURRENCY": "3", "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_ACCESSLOG": ""}
    env.pop("PORT", None)
    log = (tmp_path / "gunicorn.err").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if _get(port, "/healthz")[0] == 200 and len(_children(proc.pid)) == 3:
                    break
            except OSError:
                time.sleep(0.1)
        yield proc, port, tmp_path / "gunicorn.err"
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _wait_for(port: int, expect: bytes, times: int = 12, limit: float = 15) -> bool:
    """True once ``times`` consecutive requests (spread over the workers) all show ``expect``."""
    deadline = time.monotonic() + limit
    seen = 0
    while time.monotonic() < deadline and seen < times:
        seen = seen + 1 if expect in _get(port, "/api/v1/posts")[1] else 0
        time.sleep(0.02)
    return seen >= times


def test_edit_reaches_every_worker_and_workers_never_scan(server, site):
    proc, port, errlog = server
    workers = _children(proc.pid)
    assert len(workers) == 3 and set(workers.values()) == {1}  # no reload thread in any worker
    site.post("second", date="2021-04-01", title="Second post")
    assert _wait_for(port, b"Second post")
    fresh = _children(proc.pid)
    assert fresh == workers, "workers read the new content from the database: never re-forked"
    site.touch_later(site.post("second", date="2021-04-01", title="Edited title"))
    assert _wait_for(port, b"Edited title")
    (site.root / "posts" / "second.md").unlink()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and b"Edited title" in _get(port, "/api/v1/posts")[1]:
        time.sleep(0.05)
    assert _wait_for(port, b'"total_items":1')
    assert _children(proc.pid) == workers
    log = errlog.read_text()
    assert "re-forking" not in log and "Traceback" not in log


def test_unchanged_content_never_restarts_workers(server):
    proc, port, errlog = server
    before = _children(proc.pid)
    time.sleep(1.5)  # five rescan intervals
    assert _get(port, "/healthz")[0] == 200
    assert _children(proc.pid) == before and "re-forking" not in errlog.read_text()
