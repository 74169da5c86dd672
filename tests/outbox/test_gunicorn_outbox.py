"""The outbox under real gunicorn (the shipped gunicorn.conf.py): kill -9, durability, hanging receivers, no preload."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from support.gunicorn_server import ROOT, Server
from support.net import free_port
from support.polling import wait_for

from .support import Receiver, depth, endpoint, kill_master, webhooks_file

pytestmark = pytest.mark.slow


def env(tmp: Path, hooks: str, **extra: str) -> dict[str, str]:
    """A server's outbox settings: its own index and queue (kept over restarts), live reload, quick retries."""
    return {
        "FEEDSVC_RELOAD_INTERVAL": "0.2",
        "FEEDSVC_WEBHOOKS_FILE": hooks,
        "FEEDSVC_INDEX_PATH": str(tmp / "index.sqlite3"),
        "FEEDSVC_OUTBOX_PATH": str(tmp / "outbox.sqlite3"),
        "FEEDSVC_WEBHOOK_BACKOFF": "0.2",
        "FEEDSVC_OUTBOX_MAX_BACKOFF": "1",
        "GUNICORN_ACCESSLOG": "",
        **extra,
    }


def test_kill_9_during_a_hanging_delivery_delivers_after_restart_and_requests_keep_answering(site: Any, tmp_path: Path) -> None:
    site.post("old", title="Old")
    receiver = Receiver(tmp_path / "received.jsonl", fail_first=1, status=0)  # the first delivery hangs
    hooks = webhooks_file(tmp_path / "hooks.yaml", endpoint(receiver.url))
    server = Server(site.root, tmp_path / "g1.out", **env(tmp_path, hooks, FEEDSVC_OUTBOX_TIMEOUT="60"))
    try:
        time.sleep(0.5)  # the outbox records the state it starts from (the existing corpus sends nothing)
        site.post("news", title="News")
        wait_for(lambda: receiver.entries(), what="the delivery reaching the receiver")
        # The receiver hangs on it: request workers answer as before.
        with ThreadPoolExecutor(4) as pool:
            statuses = list(
                pool.map(lambda i: server.get(["/feeds/atom.xml", "/api/v1/posts", "/posts/news"][i % 3])[0], range(60))
            )
        assert statuses == [200] * 60
        assert [e["status"] for e in receiver.entries()] == [0], "still hanging"
        kill_master(server)
        server = Server(site.root, tmp_path / "g2.out", **env(tmp_path, hooks))
        wait_for(lambda: receiver.taken(), what="the delivery after the restart")
        [hung] = receiver.entries()[:1]
        [taken] = receiver.taken()
        assert (taken["type"], taken["slug"], taken["ok"]) == ("post.published", "news", True)
        assert taken["id"] == hung["id"], "the same delivery, at least once"
    finally:
        server.stop()
        receiver.stop()


def test_100_events_survive_a_stopped_receiver_and_a_killed_master(site: Any, tmp_path: Path) -> None:
    site.post("old", title="Old")
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    hooks = webhooks_file(tmp_path / "hooks.yaml", endpoint(url))
    server = Server(site.root, tmp_path / "g1.out", **env(tmp_path, hooks))
    receiver = None
    try:
        time.sleep(0.5)
        slugs = [f"p{i:02d}" for i in range(50)]
        for s in slugs:
            site.post(s, "First text.", title=s.upper())
        wait_for(lambda: depth(tmp_path) >= 50, what="50 published events queued")
        for s in slugs:
            site.post(s, "Corrected text.", title=s.upper())
        wait_for(lambda: depth(tmp_path) >= 100, what="100 events queued")
        assert depth(tmp_path) == 100
        kill_master(server)
        receiver = Receiver(tmp_path / "received.jsonl", port=port)
        server = Server(site.root, tmp_path / "g2.out", **env(tmp_path, hooks))
        wait_for(lambda: len(receiver.taken()) >= 100, timeout=120, what="every event delivered")
        got = receiver.taken()
        assert all(e["ok"] for e in receiver.entries()), "no signature failure"
        per_post: dict[str, list[str]] = defaultdict(list)
        for e in got:
            per_post[e["slug"]].append(e["type"])
        assert per_post == {s: ["post.published", "post.updated"] for s in slugs}, "every event, in order per post"
        assert all("Corrected" in e["data"]["content_html"] for e in got if e["type"] == "post.updated")
        assert depth(tmp_path) == 0
    finally:
        server.stop()
        if receiver is not None:
            receiver.stop()


def test_without_preload_no_request_worker_sends(site: Any, tmp_path: Path) -> None:
    site.post("old", title="Old")
    receiver = Receiver(tmp_path / "received.jsonl")
    hooks = webhooks_file(tmp_path / "hooks.yaml", endpoint(receiver.url))
    conf = tmp_path / "nopreload.conf.py"
    conf.write_text(f"exec(open({str(ROOT / 'gunicorn.conf.py')!r}).read())\npreload_app = False\n")
    port = free_port()
    full = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PROMETHEUS_MULTIPROC_DIR", "FEEDSVC_OWN_METRICS_DIR", "FEEDSVC_METRICS_DIR_STARTED", "PORT")
    }
    # sync workers: a gevent worker loading the app itself (no preload) never answered here (left for its owner).
    full.update(
        env(tmp_path, hooks),
        FEEDSVC_CONTENT_DIR=str(site.root),
        WEB_CONCURRENCY="1",
        GUNICORN_WORKER_CLASS="sync",
        GUNICORN_BIND=f"127.0.0.1:{port}",
    )
    out = (tmp_path / "nopreload.out").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(conf), "wsgi:app"], cwd=ROOT, env=full, stdout=out, stderr=subprocess.STDOUT
    )
    probe = Server.__new__(Server)
    probe.port = port
    try:

        def health() -> Any:
            try:
                return probe.get("/healthz")
            except OSError:
                return None

        wait_for(lambda: health() is not None, what="gunicorn without preload serving")
        site.post("news", title="News")
        wait_for(lambda: probe.get("/posts/news")[0] == 200, what="the worker publishing the post")
        status, _, body = probe.get("/healthz")
        assert status == 200 and b"webhooks are not sent" in body and b"preload_app" in body
        time.sleep(1.0)  # generous: a sender would have sent by now
        assert receiver.entries() == []
        assert b"not sending from a request worker" in (tmp_path / "nopreload.out").read_bytes()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        out.close()
        receiver.stop()
