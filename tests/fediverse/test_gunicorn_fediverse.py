"""Fediverse deliveries under real gunicorn (the shipped gunicorn.conf.py): kill -9 of the master loses nothing."""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path
from typing import Any

import pytest
from outbox.support import depth, kill_master
from support.gunicorn_server import Server
from support.polling import wait_for

from .remote import Remote
from .support import ACTOR

pytestmark = pytest.mark.slow


def env(tmp: Path) -> dict[str, str]:
    """Its own index, queue and key (kept over restarts), live reload, quick retries, loopback allowed."""
    return {
        "FEEDSVC_RELOAD_INTERVAL": "0.2",
        "FEEDSVC_INDEX_PATH": str(tmp / "index.sqlite3"),
        "FEEDSVC_OUTBOX_PATH": str(tmp / "outbox.sqlite3"),
        "FEEDSVC_ACTIVITYPUB_KEY": str(tmp / "ap.pem"),
        "FEEDSVC_FEDIVERSE_ALLOW_PRIVATE": "1",
        "FEEDSVC_FEDIVERSE_BACKOFF": "0.2",
        "FEEDSVC_OUTBOX_MAX_BACKOFF": "1",
        "GUNICORN_ACCESSLOG": "",
    }


def first_answer(server: Server, path: str) -> tuple[int, dict[str, str], bytes]:
    """The first answer of a server just started (workers still booting on a loaded machine may miss
    one 10 s read: asked again within a deadline, never a timed assertion)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return server.get(path)
        except TimeoutError:
            if time.monotonic() > deadline:
                raise


def post_signed(server: Server, remote: Remote, activity: dict[str, Any]) -> int:
    body, headers = remote.signed("/ap/inbox", activity)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("POST", "/ap/inbox", body=body, headers={**headers, "Connection": "close"})
        return conn.getresponse().status
    finally:
        conn.close()


def test_kill_9_with_deliveries_pending_delivers_them_after_restart_with_valid_signatures(site: Any, tmp_path: Path) -> None:
    site.write_site(fediverse={"username": "news"})
    site.post("old", title="Old")
    server = Server(site.root, tmp_path / "g1.out", **env(tmp_path))
    remote = None
    try:
        status, _, body = first_answer(server, "/ap/actors/news")
        assert status == 200
        remote = Remote((json.loads(body)["publicKey"]["publicKeyPem"], ACTOR))
        assert post_signed(server, remote, remote.follow(ACTOR)) == 202
        wait_for(lambda: remote.received, what="the Accept")
        remote.fail = True  # the follower's server goes down
        for i in range(5):
            site.post(f"p{i}", title=f"P{i}", date=f"2021-03-0{i + 1}")
        wait_for(lambda: depth(tmp_path) >= 5 and remote.refused, what="5 Creates queued and one refused")
        kill_master(server)
        remote.fail = False
        server = Server(site.root, tmp_path / "g2.out", **env(tmp_path))
        wait_for(lambda: len(remote.received) >= 6, what="every Create after the restart")
        creates = remote.received[1:]
        assert [c["activity"]["type"] for c in creates] == ["Create"] * 5
        assert [c["activity"]["object"]["name"] for c in creates] == [f"P{i}" for i in range(5)]
        assert all(g["verified_by"] == ACTOR for g in remote.received), "bovine verifies every signature"
        first = remote.refused[0]
        [same] = [c for c in creates if c["body"] == first["body"]]
        assert same["headers"]["signature"] == first["headers"]["signature"], "the same bytes, the same signature"
        assert depth(tmp_path) == 0
        assert server.get("/ap/actors/news/followers")[2].count(b'"totalItems":1') == 1
    finally:
        server.stop()
        if remote is not None:
            remote.stop()
