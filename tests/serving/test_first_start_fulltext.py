"""A first start of a large archive under real gunicorn: the posts are served once written, and the master's
reload thread then writes the full text; a search meanwhile is a 503 that says so, never a partial answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.gunicorn_server import Server
from support.polling import wait_for

pytestmark = pytest.mark.slow


def test_the_master_writes_the_full_text_after_the_first_start(site: Any, tmp_path: Path) -> None:
    n = 2100  # more than one batch of a first load (loader.BATCH): its full text is written afterwards
    for i in range(n):
        word = "naloxone" if i % 3 == 0 else "rights"
        site.post(f"p{i:04d}", f"Post {i} about {word}.", title=f"Post {i}", date=f"2021-{1 + i % 12:02d}-{1 + i % 28:02d}")
    server = Server(
        site.root, tmp_path / "gunicorn.out", workers=2, FEEDSVC_RELOAD_INTERVAL="0.5", FEEDSVC_INDEX_PATH=str(tmp_path / "i.db")
    )
    seen: set[int] = set()
    try:
        status, headers, _ = server.get("/api/v1/posts")
        assert status == 200 and headers["X-Total-Count"] == str(n)

        def answered() -> bool:
            status, headers, body = server.get("/api/v1/posts?q=naloxone")
            seen.add(status)
            if status == 503:
                assert json.loads(body)["error"]["code"] == "search_not_ready" and headers["Retry-After"]
                return False
            assert status == 200, body[:500]
            assert headers["X-Total-Count"] == str(len(range(0, n, 3)))
            return True

        wait_for(answered, timeout=120, what="searches answered in full")
        assert json.loads(server.get("/healthz")[2])["status"] == "ok"
    finally:
        server.stop()
    log = (tmp_path / "gunicorn.out").read_text()
    assert "full-text index: complete" in log
    assert "Traceback" not in log
