"""The scheduled instant under the shipped gunicorn config (real clock): the master's reload thread wakes for it."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support.gunicorn_server import Server
from support.polling import wait_for

pytestmark = pytest.mark.slow

#: Far longer than any wait below: only the wake for the scheduled instant can publish the post in time.
INTERVAL = "60"


@contextmanager
def gunicorn(site: Any, index: Path, log: Path) -> Iterator[Server]:
    server = Server(site.root, log, FEEDSVC_RELOAD_INTERVAL=INTERVAL, FEEDSVC_INDEX_PATH=str(index), GUNICORN_ACCESSLOG="")
    try:
        yield server
    finally:
        server.stop()


def test_the_post_goes_live_at_its_instant_on_every_worker(site, tmp_path):
    site.post("old", title="Old", date="2021-01-01")
    when = math.ceil(time.time()) + 6
    site.post("launch", "Embargoed.", title="Launch", date=datetime.fromtimestamp(when, UTC).isoformat())
    with gunicorn(site, tmp_path / "index.db", tmp_path / "gunicorn.err") as server:
        assert server.get("/posts/launch")[0] == 404
        health = json.loads(server.get("/healthz")[2])
        assert health["next_change"] == datetime.fromtimestamp(when, UTC).isoformat()
        wait_for(lambda: server.get("/posts/launch")[0] == 200, 40, "the post published")
        assert time.time() >= when, "published before its instant"
        # Every worker serves it from then on (each request may reach either).
        assert all(server.get("/posts/launch")[0] == 200 for _ in range(20))
        assert b"Launch" in server.get("/feeds/atom.xml")[2]
        health = json.loads(server.get("/healthz")[2])  # next: its 48-hour mark (news sitemap)
        assert health["next_change"] == datetime.fromtimestamp(when + 48 * 3600, UTC).isoformat()


def test_a_server_down_at_the_instant_catches_up_when_it_starts(site, tmp_path):
    site.post("old", title="Old", date="2021-01-01")
    when = math.ceil(time.time()) + 12  # beyond a slow start: the first server is up before it
    site.post("launch", "Embargoed.", title="Launch", date=datetime.fromtimestamp(when, UTC).isoformat())
    index = tmp_path / "index.db"
    with gunicorn(site, index, tmp_path / "gunicorn.err") as server:
        assert server.get("/posts/launch")[0] == 404
    wait_for(lambda: time.time() > when, 30, "the instant")  # down at the instant
    with gunicorn(site, index, tmp_path / "gunicorn.err") as server:
        assert server.get("/posts/launch")[0] == 200  # the first answer already has it
