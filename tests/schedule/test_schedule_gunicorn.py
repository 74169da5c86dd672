"""The scheduled instant under the shipped gunicorn config (real clock): the master's reload thread wakes for it."""

from __future__ import annotations

import http.client
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
#: Far longer than any wait below: only the wake for the scheduled instant can publish the post in time.
INTERVAL = "60"


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@contextmanager
def gunicorn(site: Any, index: Path, log: Path) -> Iterator[int]:
    port = free_port()
    env = {**os.environ, "FEEDSVC_CONTENT_DIR": str(site.root), "FEEDSVC_RELOAD_INTERVAL": INTERVAL,
           "FEEDSVC_INDEX_PATH": str(index), "WEB_CONCURRENCY": "2", "GUNICORN_BIND": f"127.0.0.1:{port}",
           "GUNICORN_ACCESSLOG": ""}
    env.pop("PORT", None)
    with log.open("ab") as err:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield port
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def until(check: Any, seconds: float, what: str) -> None:
    """Wait for ``check()`` with a deadline (not a timed assertion: the deadline is far beyond the target)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_the_post_goes_live_at_its_instant_on_every_worker(site, tmp_path):
    site.post("old", title="Old", date="2021-01-01")
    when = math.ceil(time.time()) + 6
    site.post("launch", "Embargoed.", title="Launch", date=datetime.fromtimestamp(when, UTC).isoformat())
    with gunicorn(site, tmp_path / "index.db", tmp_path / "gunicorn.err") as port:
        assert get(port, "/posts/launch")[0] == 404
        health = json.loads(get(port, "/healthz")[1])
        assert health["next_change"] == datetime.fromtimestamp(when, UTC).isoformat()
        until(lambda: get(port, "/posts/launch")[0] == 200, 40, "never published")
        assert time.time() >= when, "published before its instant"
        # Every worker serves it from then on (each request may reach either).
        assert all(get(port, "/posts/launch")[0] == 200 for _ in range(20))
        assert b"Launch" in get(port, "/feeds/atom.xml")[1]
        health = json.loads(get(port, "/healthz")[1])  # next: its 48-hour mark (news sitemap)
        assert health["next_change"] == datetime.fromtimestamp(when + 48 * 3600, UTC).isoformat()


def test_a_server_down_at_the_instant_catches_up_when_it_starts(site, tmp_path):
    site.post("old", title="Old", date="2021-01-01")
    when = math.ceil(time.time()) + 12  # beyond a slow start: the first server is up before it
    site.post("launch", "Embargoed.", title="Launch", date=datetime.fromtimestamp(when, UTC).isoformat())
    index = tmp_path / "index.db"
    with gunicorn(site, index, tmp_path / "gunicorn.err") as port:
        assert get(port, "/posts/launch")[0] == 404
    until(lambda: time.time() > when, 30, "the clock")  # down at the instant
    with gunicorn(site, index, tmp_path / "gunicorn.err") as port:
        assert get(port, "/posts/launch")[0] == 200  # the first answer already has it
