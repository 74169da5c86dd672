"""The outbox queue's file damaged or deleted while deliveries are pending, under real gunicorn.

The queue is not a cache: what it holds (pending deliveries, followers) exists nowhere
else. A deleted file is put back from the connection the sender still has open, so a
restart loses nothing; a damaged one is set aside for the operator, named on /healthz, and
the sender goes on with a new, empty queue (it never stops sending).
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from support.gunicorn_server import Server
from support.net import free_port
from support.polling import wait_for

from .support import Receiver, depth, endpoint, webhooks_file
from .test_gunicorn_outbox import env

pytestmark = pytest.mark.slow


def _health(server: Server) -> dict[str, Any]:
    status, _, body = server.get("/healthz")
    assert status == 200
    answer: dict[str, Any] = orjson.loads(body)
    return answer


def test_a_queue_deleted_with_deliveries_pending_loses_none_over_a_restart(site: Any, tmp_path: Path) -> None:
    site.post("old", title="Old")
    port = free_port()
    hooks = webhooks_file(tmp_path / "hooks.yaml", endpoint(f"http://127.0.0.1:{port}/hook"))  # nobody there yet
    queue = tmp_path / "outbox.sqlite3"
    server = Server(site.root, tmp_path / "g1.out", **env(tmp_path, hooks))
    receiver = None
    try:
        time.sleep(0.5)  # the outbox records the state it starts from
        site.post("before", title="Before")
        wait_for(lambda: depth(tmp_path) == 1, what="the first event queued")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{queue}{suffix}").unlink(missing_ok=True)
        site.post("after", title="After")
        wait_for(lambda: queue.exists() and depth(tmp_path) == 2, timeout=30, what="the queue back at its path")
        server.stop()
        receiver = Receiver(tmp_path / "received.jsonl", port=port)
        server = Server(site.root, tmp_path / "g2.out", **env(tmp_path, hooks))
        wait_for(lambda: len(receiver.taken()) >= 2, timeout=60, what="both deliveries after the restart")
        assert [e["slug"] for e in receiver.taken()] == ["before", "after"]
    finally:
        server.stop()
        if receiver is not None:
            receiver.stop()


def test_a_damaged_queue_is_set_aside_named_on_healthz_and_sending_goes_on(site: Any, tmp_path: Path) -> None:
    site.post("old", title="Old")
    port = free_port()
    hooks = webhooks_file(tmp_path / "hooks.yaml", endpoint(f"http://127.0.0.1:{port}/hook"))
    queue = tmp_path / "outbox.sqlite3"
    server = Server(site.root, tmp_path / "g1.out", **env(tmp_path, hooks))
    receiver = None
    try:
        time.sleep(0.5)
        site.post("before", title="Before")
        wait_for(lambda: depth(tmp_path) == 1, what="the first event queued")
        conn = sqlite3.connect(queue)  # the pages into the file itself, so that damaging it damages them
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        with queue.open("r+b") as fh:  # in place: the same file, other bytes
            fh.write(os.urandom(queue.stat().st_size))
        wait_for(lambda: Path(f"{queue}.damaged").exists(), timeout=30, what="the damaged file set aside")
        said = _health(server)
        assert said["status"] == "degraded"
        assert any("outbox queue" in r and "damaged" in r for r in said["reasons"]), said
        receiver = Receiver(tmp_path / "received.jsonl", port=port)
        time.sleep(1.0)  # the new queue records the state it starts from
        site.post("later", title="Later")
        wait_for(lambda: [e["slug"] for e in receiver.taken()] == ["later"], timeout=30, what="a later event delivered")
        Path(f"{queue}.damaged").unlink()  # the operator looked at it
        wait_for(lambda: _health(server)["status"] == "ok", timeout=30, what="/healthz ok again")
    finally:
        server.stop()
        if receiver is not None:
            receiver.stop()
