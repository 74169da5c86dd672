"""A reload that fails keeps the changes inotify reported and applies them as soon as it can (not at the next rescan)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from feedsvc.content import reloader as live_mod
from feedsvc.extensions import state


def _health(app: Any) -> dict[str, Any]:
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200
    return resp.json  # type: ignore[no-any-return]


def _wait(app: Any, check: Any, seconds: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    body = _health(app)
    while not check(body) and time.monotonic() < deadline:
        time.sleep(0.05)
        body = _health(app)
    return body


def test_edits_reported_during_a_full_disk_are_applied_once_there_is_room(
    site: Any, make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_mod, "FULL_SCAN_EVERY", 3600.0)  # only inotify's reports can bring the edits
    site.post("a", title="A")
    app = make_app(RELOAD_INTERVAL=0.05)
    live = state(app).live
    try:
        conn = live.loader.conn
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite now answers as on a full disk
        for i in range(5):
            site.post(f"new{i}", "words " * 3000, title=f"New {i}")
        body = _wait(app, lambda b: b["status"] == "degraded")
        assert any("full" in r for r in body["reasons"]) and body["posts"] == 1, body
        conn.execute("PRAGMA max_page_count = 1073741823")  # room again; no file changes from here on
        body = _wait(app, lambda b: b["posts"] == 6)
        assert body["posts"] == 6 and body["status"] == "ok", body
        assert app.test_client().get("/posts/new4").status_code == 200
    finally:
        live.stop()
