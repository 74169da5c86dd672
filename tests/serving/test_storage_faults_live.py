"""Storage faults the database fault run does not cover, under real gunicorn: the index's -wal/-shm files.

SQLite keeps a WAL database in three files. Deleting the ``-wal`` and ``-shm`` files beside
a database in use leaves the writer committing into files no one else can open: every new
reader connection fails, and the file at the path no longer shows what was published.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from support.http_kit import fill
from support.polling import wait_for

from .test_database_faults_live import Poller, _non_200, _published, _start

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("suffixes", [("-wal", "-shm"), ("-wal",)])
def test_the_index_s_wal_and_shm_deleted_while_serving_are_recovered(
    site: Any, tmp_path: Path, suffixes: tuple[str, ...]
) -> None:
    fill(site)
    db = tmp_path / "index.sqlite3"
    server = _start(site, tmp_path, db)
    poller = Poller(server.port)
    try:
        before = _published(db)
        time.sleep(0.5)  # steady polling: the feed is served and cached
        t0 = time.monotonic()
        for suffix in suffixes:
            Path(f"{db}{suffix}").unlink()
        site.post("2026-01-01-during", "Written after the WAL went.", title="During the fault", date="2026-01-01")
        poller.served("During the fault", t0)

        def everywhere() -> bool:  # new connections (Connection: close) reach every worker's pool
            return all(b"During the fault" in server.get("/feeds/atom.xml")[2] for _ in range(8))

        wait_for(everywhere, timeout=20, what="the edit served on fresh connections")
        statuses = [server.get("/api/v1/posts?page=1")[0] for _ in range(8)]
        answers = poller.since(t0)
    finally:
        poller.stop()
        server.stop()
    assert _non_200(answers) == []
    assert statuses == [200] * 8
    assert _published(db) == before + 1  # the file at the path holds what was published


def test_a_writer_that_stops_reloading_is_named_on_healthz_and_recovers(site: Any, tmp_path: Path) -> None:
    """A reload stuck for good (a hung network mount under the content directory; here the master
    stopped with SIGSTOP): workers went on answering /healthz ok while no edit was published again."""
    fill(site)
    server = _start(site, tmp_path, tmp_path / "index.sqlite3")
    try:
        assert b'"ok"' in server.get("/healthz")[2]
        os.kill(server.proc.pid, signal.SIGSTOP)
        try:
            wait_for(
                lambda: b"has not looked at the content" in server.get("/healthz")[2], timeout=120, what="/healthz naming it"
            )
            status, _, body = server.get("/healthz")
            assert status == 200 and b'"degraded"' in body
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)
        wait_for(lambda: b'"ok"' in server.get("/healthz")[2], timeout=60, what="/healthz ok again")
    finally:
        server.stop()
