"""While a large load's full text is being written, a search is a 503 that says so (with Retry-After and
no-store), /healthz names it, and everything else is served; once written, the search answers in full.
"""

from __future__ import annotations

from typing import Any

from feedsvc.content import loader as loader_module
from feedsvc.content.store import fulltext
from feedsvc.extensions import state


def test_a_search_waits_for_the_full_text_of_a_large_load(site: Any, make_app: Any, monkeypatch: Any, tmp_path: Any) -> None:
    monkeypatch.setattr(loader_module, "BATCH", 3)  # more than 3 files is a large load
    monkeypatch.setattr(fulltext, "FILL_STEP", 2)
    for i in range(7):
        site.post(f"p-{i}", "Naloxone saves lives.", date=f"2021-05-0{i + 1}")
    # Reloading on (the reload thread writes the full text), its first turn an hour away.
    app = make_app(RELOAD_INTERVAL=3600, INDEX_PATH=str(tmp_path / "index.db"))
    with app.test_client() as client:
        for url in (
            "/api/v1/posts?q=naloxone",
            "/api/v1/posts?q=naloxone&category=statements",
            "/feeds/feed.json?q=naloxone",
            "/feeds/atom.xml?q=naloxone",
        ):
            resp = client.get(url)
            assert resp.status_code == 503, url
            assert resp.get_json()["error"]["code"] == "search_not_ready"
            assert "full-text index is being built" in resp.get_json()["error"]["message"]
            assert resp.headers["Retry-After"] == "10" and resp.headers["Cache-Control"] == "no-store"
        assert client.get("/api/v1/posts").headers["X-Total-Count"] == "7"  # everything else is served
        assert client.get("/feeds/atom.xml").status_code == 200
        health = client.get("/healthz").get_json()
        assert health["status"] == "degraded"
        assert any("full-text index is being built" in r and "(7 posts to go)" in r for r in health["reasons"])

        loader = state(app).live.loader
        while loader.fill_search():  # what the reload thread does, a step per turn
            pass
        resp = client.get("/api/v1/posts?q=naloxone")
        assert resp.status_code == 200 and resp.headers["X-Total-Count"] == "7"
        assert client.get("/feeds/feed.json?q=naloxone").status_code == 200
        assert client.get("/healthz").get_json()["status"] == "ok"
