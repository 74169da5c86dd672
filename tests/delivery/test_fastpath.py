"""The repeat-request fast path answers exactly what the full Flask path answers."""

from __future__ import annotations

import itertools

import pytest

from feedsvc.caching import render_cache
from feedsvc.extensions import state
from feedsvc.fastpath import fast_path

URLS = [
    "/feeds/atom.xml",
    "/feeds/rss.xml",
    "/feeds/feed.json",
    "/feeds/calendar.ics",
    "/feeds/categories/events/atom.xml",
    "/feeds/tags/cnd/feed.json",
    "/feeds/archive/2021/atom.xml",
    "/feeds/opml.xml",
    "/api/v1/posts?per_page=1",
    "/api/v1/posts/first",
    "/api/v1/categories",
    "/api/v1/tags",
    "/api/v1/openapi.json",
    "/",
    "/posts/first",
    "/categories/events",
    "/tags/cnd",
    "/embed",
    "/embed.js",
]
HEADERS = [
    {},
    {"Accept-Encoding": "gzip"},
    {"Accept-Encoding": "br;q=1, gzip;q=0.5"},
    {"Accept-Encoding": "gzip;q=0"},
    {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
]


@pytest.fixture
def filled(site):
    site.post(
        "first",
        "First *body*.",
        date="2021-03-02",
        categories=["events"],
        tags=["CND"],
        event={"start": "2021-04-12T14:00:00+02:00"},
    )
    site.post("second", "Second.", date="2021-03-01", categories=["statements"], tags=["CND"])
    return site


def _view(resp):
    return resp.status_code, sorted(resp.headers.items()), resp.get_data()


@pytest.mark.parametrize("url", URLS)
def test_replays_equal_the_full_path(filled, make_app, url):
    full = make_app(CACHE_LOCAL_BYTES=0).test_client()  # no fast path: every request through Flask
    fast_app = make_app()
    fast = fast_app.test_client()
    for headers, method in itertools.product(HEADERS, ("GET", "HEAD")):
        expected = _view(full.open(url, method=method, headers=headers))
        assert expected[0] == 200, (url, headers)
        for _ in range(2):  # the first records, the second replays
            assert _view(fast.open(url, method=method, headers=headers)) == expected, (url, headers, method)
        etag = dict(expected[1])["ETag"]
        lm = dict(expected[1])["Last-Modified"]
        for cond in (
            {"If-None-Match": etag},
            {"If-Modified-Since": lm},
            {"If-None-Match": '"other"'},
            {"If-None-Match": '"other"', "If-Modified-Since": lm},
        ):
            want = _view(full.open(url, method=method, headers={**headers, **cond}))
            for _ in range(2):
                assert _view(fast.open(url, method=method, headers={**headers, **cond})) == want, (url, cond)
    assert fast_path(fast_app).hits > 0


def test_a_content_change_is_never_replayed_stale(filled, make_app):
    app = make_app()
    client = app.test_client()
    before = [client.get("/api/v1/posts/first") for _ in range(3)]
    assert b"First body" in before[-1].data and fast_path(app).hits >= 2
    filled.touch_later(filled.post("first", "Edited body.", date="2021-03-02", categories=["events"], tags=["CND"]))
    state(app).live.refresh()
    after = client.get("/api/v1/posts/first")
    assert b"Edited body" in after.data and after.headers["ETag"] != before[-1].headers["ETag"]
    # The old ETag is no longer current: a 200 with the new body, not a 304.
    assert client.get("/api/v1/posts/first", headers={"If-None-Match": before[-1].headers["ETag"]}).status_code == 200


def test_errors_redirects_and_other_methods_always_go_through_flask(filled, make_app):
    app = make_app()
    client = app.test_client()
    fast = fast_path(app)
    for _ in range(3):
        assert client.get("/api/v1/posts/nope").status_code == 404
        assert client.get("/api/v1/posts?page=0").status_code == 400
        assert client.post("/feeds/atom.xml").status_code == 405
        assert client.options("/api/v1/posts").status_code == 204
    assert fast.hits == 0


@pytest.mark.parametrize("config", [{"RATELIMIT": "1000/minute"}, {"CACHE_TYPE": "NullCache"}, {"CACHE_LOCAL_BYTES": 0}])
def test_off_when_every_request_must_reach_flask(filled, make_app, config):
    app = make_app(**config)
    assert fast_path(app) is None
    client = app.test_client()
    assert client.get("/feeds/atom.xml").status_code == client.get("/feeds/atom.xml").status_code == 200


def test_memory_is_bounded(filled, make_app):
    sizes = [len(make_app().test_client().get(url, headers={"Accept-Encoding": "identity"}).data) for url in URLS]
    limit = sum(sizes) // 2  # room for some documents, not all
    assert limit > max(sizes)
    app = make_app(CACHE_LOCAL_BYTES=limit)
    client = app.test_client()
    fast = fast_path(app)
    for url in URLS:
        client.get(url, headers={"Accept-Encoding": "identity"})
    rc = render_cache(app)
    assert 0 < len(rc.main.lru) < len(URLS) and rc.main.size <= limit
    hits = fast.hits
    assert client.get(URLS[-1], headers={"Accept-Encoding": "identity"}).status_code == 200
    assert fast.hits == hits + 1  # the newest is held: replayed
    # The first ones left the render cache: answered in full (and re-rendered), not replayed.
    assert client.get(URLS[0], headers={"Accept-Encoding": "identity"}).status_code == 200
    assert fast.hits == hits + 1
    import gc

    gc.collect()
    alive = [rep for rep in (e[0]() for e in fast._table.values()) if rep is not None]
    assert alive and all(rc.holds(rep) for rep in alive)  # nothing evicted is kept alive by the table
    assert sum(len(rep.body) for rep in alive) <= limit


def test_odd_queries_are_not_recorded(filled, make_app):
    app = make_app()
    client = app.test_client()
    for _ in range(3):
        assert client.get("/api/v1/posts?q=first").status_code == 200
    assert fast_path(app).hits == 0 and not fast_path(app)._table


def test_the_fast_path_keeps_no_document_the_render_cache_evicted(site, make_app):
    """Its table names up to 2,048 request shapes; it must not keep their bodies alive (issue 13: bounded memory)."""
    import gc

    for i in range(60):
        site.post(f"p{i:02d}", "word " * 3000, title=f"Post {i}", tags=[f"t{i}"])
    budget = 300_000
    app = make_app(CACHE_LOCAL_BYTES=budget)
    client = app.test_client()
    for i in range(60):
        for _ in range(2):  # the second request is recorded by the fast path
            assert client.get(f"/feeds/tags/t{i}/atom.xml").status_code == 200
    gc.collect()
    fast = fast_path(app)
    alive = [entry[0]() for entry in fast._table.values()]
    held = sum(len(rep.body) for rep in alive if rep is not None)
    assert len(fast._table) > 10 and held <= budget, (len(fast._table), held)
