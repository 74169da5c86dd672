"""The shipped gunicorn.conf.py replaces a worker that hangs while booting (real gunicorn)."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from support.gunicorn_server import Server
from support.polling import wait_for

pytestmark = pytest.mark.slow


def test_a_worker_stuck_before_its_first_heartbeat_is_replaced_after_the_timeout(site: Any, tmp_path: Path) -> None:
    """gunicorn counted a worker's timeout from its first heartbeat only (a new heartbeat file's
    wall-clock mtime read against the monotonic clock): one stuck in boot was never replaced."""
    site.post("one", title="One")
    marker = tmp_path / "hang"
    server = Server(
        site.root,
        tmp_path / "gunicorn.out",
        workers=2,
        config="tests/serving/hanging_boot.conf.py",
        GUNICORN_TIMEOUT="2",
        HANG_BOOT_MARKER=str(marker),
    )
    try:
        booted = set(server.workers())
        assert len(booted) == 2
        marker.touch()
        os.kill(min(booted), signal.SIGKILL)
        wait_for(lambda: set(server.workers()) - booted, what="a new worker forked")
        [stuck] = set(server.workers()) - booted
        wait_for(lambda: stuck not in server.workers(), timeout=60, what=f"the stuck worker {stuck} replaced")
        assert "WORKER TIMEOUT" in server.out.read_text()
        marker.unlink()
        wait_for(lambda: len(server.workers()) == 2, what="two workers again")
        assert server.get("/healthz")[0] == 200
    finally:
        server.stop()
