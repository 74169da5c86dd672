"""The render cache: keys, backends (SimpleCache, FileSystemCache, NullCache), the local LRU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.http_kit import fill

from feedsvc import caching
from feedsvc.caching import render_cache
from feedsvc.extensions import state


def _rc(app: Any) -> Any:
    return render_cache(app)


def test_query_spellings_render_once(site: Any, make_app: Any) -> None:
    fill(site)
    app = make_app()
    client = app.test_client()
    spellings = [
        "/api/v1/posts?category=statements&tag=cnd",
        "/api/v1/posts?tag=cnd&category=statements",
        "/api/v1/posts?tag=cnd&category=statements&page=1",
        "/api/v1/posts?category=statements&tag=cnd&_=17",
        "/api/v1/posts?per_page=20&tag=cnd&category=statements",
    ]
    bodies = {client.get(u).data for u in spellings}
    assert len(bodies) == 1
    assert _rc(app).renders == 1


def test_content_version_is_in_the_key(site: Any, make_app: Any) -> None:
    fill(site)
    app = make_app()
    client = app.test_client()
    client.get("/feeds/atom.xml")
    client.get("/feeds/atom.xml")
    assert _rc(app).renders == 1
    site.post("2021-07-01-new", "New.", title="New", date="2021-07-01")
    state(app).live.refresh()
    assert b"New" in client.get("/feeds/atom.xml").data
    assert _rc(app).renders == 2


def test_filesystem_cache_is_shared_by_instances(site: Any, make_app: Any, tmp_path: Path) -> None:
    fill(site)
    cfg = {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(tmp_path / "fscache")}
    one, two = make_app(**cfg), make_app(**cfg)
    urls = ["/feeds/atom.xml", "/api/v1/posts", "/"]
    first = {u: one.test_client().get(u, headers={"Accept-Encoding": "gzip"}) for u in urls}
    assert _rc(one).renders == len(urls)
    assert any((tmp_path / "fscache").iterdir())
    second = {u: two.test_client().get(u, headers={"Accept-Encoding": "gzip"}) for u in urls}
    assert _rc(two).renders == 0  # the other instance's renders, read from disk
    for u in urls:
        assert second[u].data == first[u].data and second[u].headers["ETag"] == first[u].headers["ETag"]


def test_null_cache_renders_every_time_but_still_validates(site: Any, make_app: Any) -> None:
    fill(site)
    app = make_app(CACHE_TYPE="NullCache")  # and no warning: NullCache is a deliberate setting
    client = app.test_client()
    r = client.get("/api/v1/posts")
    assert client.get("/api/v1/posts", headers={"If-None-Match": r.headers["ETag"]}).status_code == 304
    assert _rc(app).renders == 2


@pytest.mark.parametrize("limit", [0, 20_000])
def test_local_lru_is_bounded(site: Any, make_app: Any, limit: int, tmp_path: Path) -> None:
    fill(site)
    app = make_app(CACHE_LOCAL_BYTES=limit, CACHE_TYPE="FileSystemCache", CACHE_DIR=str(tmp_path / "fs"))
    client = app.test_client()
    for url in ["/feeds/atom.xml", "/feeds/rss.xml", "/feeds/feed.json", "/api/v1/posts", "/", "/embed"]:
        assert client.get(url, headers={"Accept-Encoding": "br"}).status_code == 200
    rc = _rc(app)
    if limit == 0:
        assert len(rc.main.lru) == 0
    else:
        assert len(rc.main.lru) >= 1 and rc.main.size <= limit
        assert rc.main.size == sum(caching.weight(r) for r in rc.main.lru.values())
    # Whatever the local copy holds, the shared backend still answers: no second render.
    client.get("/feeds/atom.xml")
    assert rc.renders == 6


def test_simple_cache_is_the_local_spaces_only(site: Any, make_app: Any) -> None:
    """With SimpleCache there is no second in-process copy (flask-caching's is bounded in entries, not bytes)."""
    fill(site)
    app = make_app(CACHE_LOCAL_BYTES=20_000)
    client = app.test_client()
    urls = ["/feeds/atom.xml", "/feeds/rss.xml", "/feeds/feed.json", "/api/v1/posts", "/", "/embed"]
    for url in urls:
        client.get(url)
    rc = _rc(app)
    assert rc.backend is None and rc.main.size <= 20_000 and rc.renders == len(urls)
    client.get(urls[0])  # evicted: rendered again (bounded memory over a second render)
    assert rc.renders == len(urls) + 1


def test_odd_queries_cannot_evict_polled_documents(site: Any, make_app: Any) -> None:
    fill(site)
    app = make_app(CACHE_LOCAL_BYTES=200_000, CACHE_ODD_BYTES=20_000)
    client = app.test_client()
    polled = ["/feeds/atom.xml", "/api/v1/posts", "/api/v1/posts?tag=cnd&per_page=2", "/feeds/rss.xml?lang=en"]
    for url in polled:
        assert client.get(url).status_code == 200
    rc = _rc(app)
    renders = rc.renders
    for i in range(300):  # searches and date bounds: no link produces these
        url = f"/api/v1/posts?q=treaty+{'x' * (i % 7)}disarmament" if i % 2 else f"/feeds/atom.xml?q=w{i}"
        assert client.get(url).status_code in (200, 404)
        assert client.get(f"/api/v1/posts?since=2021-01-{1 + i % 28:02d}&q=a{i}").status_code == 200
    assert rc.odd.size <= 20_000 and len(rc.odd.lru) >= 1
    renders = rc.renders
    for url in polled:
        client.get(url)
    assert rc.renders == renders, "the polled documents are all still cached"
    assert all(not r.odd for r in rc.main.lru.values()) and all(r.odd for r in rc.odd.lru.values())


def test_filters_naming_nothing_cannot_evict_polled_documents(site: Any, make_app: Any) -> None:
    """A tag or language no post has gives a valid empty document no link produces: long tail too."""
    fill(site)
    app = make_app(CACHE_LOCAL_BYTES=200_000, CACHE_ODD_BYTES=20_000)
    client = app.test_client()
    polled = ["/feeds/atom.xml", "/api/v1/posts", "/api/v1/posts?tag=cnd&per_page=2", "/feeds/rss.xml?lang=en"]
    for url in polled:
        assert client.get(url).status_code == 200
    rc = _rc(app)
    for i in range(200):
        for url in (
            f"/api/v1/posts?tag=unused-{i}",
            f"/api/v1/categories/statements/posts?tag=none{i}&per_page=3",
            f"/api/v1/posts?lang=zz-x{i:03d}",
            f"/feeds/atom.xml?lang=zz-x{i:03d}",
            f"/feeds/calendar.ics?lang=qq-y{i:03d}",
        ):
            assert client.get(url).status_code == 200, url
    renders = rc.renders
    for url in polled:
        client.get(url)
    assert rc.renders == renders, "a polled document was evicted by filters that name nothing"
    assert all(not r.odd for r in rc.main.lru.values()) and rc.odd.size <= 20_000


def test_bad_cache_setting_is_refused(make_app: Any) -> None:
    from feedsvc.config import ConfigError

    with pytest.raises(ConfigError, match="FEEDSVC_CACHE_LOCAL_BYTES"):
        make_app(CACHE_LOCAL_BYTES=-1)


def test_reload_mid_request_never_files_old_content_under_the_new_version(site: Any, make_app: Any) -> None:
    from flask import Blueprint

    from feedsvc import caching, http
    from feedsvc.extensions import current_index

    fill(site)
    app = make_app()
    bp = Blueprint("race", __name__)
    calls = {"n": 0}

    @bp.get("/race")
    def race() -> Any:
        idx = current_index()  # the view reads the index...
        calls["n"] += 1
        if calls["n"] == 1:  # ...and a reload lands before it renders
            site.post("2021-08-01-late", "Late.", title="Late", date="2021-08-01")
            state(app).live.refresh()
        return http.send(
            caching.render(
                "race.view",
                {},
                lambda: caching.Representation(
                    str(len(idx.posts)).encode(), "text/plain; charset=utf-8", idx.last_modified(idx.posts)
                ),
            )
        )

    app.register_blueprint(bp)
    client = app.test_client()
    assert client.get("/race").data == b"4"  # built from the index the request started with
    assert client.get("/race").data == b"5", "the newer content version must not be served the older body"
