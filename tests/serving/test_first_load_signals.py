"""A SIGHUP to the gunicorn master while it preloads the app (the first load of a large archive).

gunicorn installs its signal handlers only once the app is preloaded: until then a SIGHUP
(systemd's ExecReload, a log rotation) took its default action and killed the master in
the middle of the first load, so the service never came up.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.gunicorn_server import ROOT, Server
from support.net import free_port
from support.polling import wait_for

pytestmark = pytest.mark.slow


def _refused(port: int) -> bool:
    try:
        conn = socket.create_connection(("127.0.0.1", port), timeout=1)
    except OSError:
        return True
    conn.close()
    return False


def test_a_sighup_during_the_first_load_does_not_kill_the_master(site: Any, tmp_path: Path) -> None:
    for i in range(3000):  # a first load of some seconds
        site.post(f"p{i:04d}", f"Post {i}. " + "words " * 50, title=f"Post {i}", date=f"2021-{1 + i % 12:02d}-{1 + i % 28:02d}")
    db = tmp_path / "index.sqlite3"
    probe = Server.__new__(Server)
    probe.port = free_port()
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if k not in ("PROMETHEUS_MULTIPROC_DIR", "FEEDSVC_OWN_METRICS_DIR", "FEEDSVC_METRICS_DIR_STARTED", "PORT")
        },
        "FEEDSVC_CONTENT_DIR": str(site.root),
        "FEEDSVC_INDEX_PATH": str(db),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_BIND": f"127.0.0.1:{probe.port}",
    }
    with (tmp_path / "gunicorn.out").open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: db.exists() or proc.poll() is not None, what="the first load started")
            assert _refused(probe.port), "the first load was over before the signal: nothing tested"
            os.kill(proc.pid, signal.SIGHUP)

            def answered() -> bool:
                assert proc.poll() is None, f"the master died: {(tmp_path / 'gunicorn.out').read_text()[-2000:]}"
                try:
                    return probe.get("/healthz")[0] == 200
                except OSError:
                    return False

            wait_for(answered, timeout=120, what="the server up after the first load")
            assert probe.get("/posts/p2999", Accept="text/html")[0] == 200
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            proc.wait(60)
