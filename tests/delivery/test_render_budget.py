"""The per-client render budget: spent only by uncached long-tail renders, never by cached traffic."""

from __future__ import annotations

from typing import Any

import pytest

from feedsvc.budget import render_budget
from feedsvc.caching import render_cache
from feedsvc.config import DEFAULTS


def get(client: Any, url: str, addr: str = "198.51.100.9", **headers: str) -> Any:
    """One GET from client address ``addr``."""
    return client.get(url, headers=headers, environ_base={"REMOTE_ADDR": addr})


def assert_over_budget(resp: Any, json: bool = True) -> None:
    """A 429 with Retry-After in delay-seconds; the JSON error under /api and /feeds."""
    assert resp.status_code == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    if json:
        err = resp.get_json()["error"]
        assert err["code"] == "rate_limited" and "render budget" in err["details"]["limit"]
    assert "public" not in resp.headers.get("Cache-Control", "")


@pytest.fixture
def posts(site: Any) -> Any:
    for i in range(30):
        site.post(
            f"post-{i:02d}",
            "Treaty talks and more words.",
            date=f"2021-04-{i + 1:02d}",
            categories=["events"],
            event={"start": f"2021-05-{i + 1:02d}T10:00:00Z"},
        )
    return site


def test_on_by_default(site: Any) -> None:
    from feedsvc import create_app

    assert DEFAULTS["RENDER_BUDGET"] == "50/second;1000/minute"
    assert render_budget(create_app({"CONTENT_DIR": str(site.root), "RELOAD_INTERVAL": 0})) is not None
    assert render_budget(create_app({"CONTENT_DIR": str(site.root), "RELOAD_INTERVAL": 0, "RENDER_BUDGET": "off"})) is None


@pytest.mark.parametrize(
    "first,second",
    [
        ("/api/v1/posts?q=treaty", "/api/v1/posts?q=talks"),
        ("/feeds/calendar.ics?q=treaty", "/feeds/calendar.ics?q=talks"),
        ("/api/v1/posts?per_page=1&page=7", "/api/v1/posts?per_page=1&page=8"),
        ("/feeds/atom.xml?q=treaty", "/api/v1/posts?since=2021-04-03"),
    ],
)
def test_expensive_misses_spend_it_cached_traffic_never(posts: Any, make_app: Any, first: str, second: str) -> None:
    app = make_app(RENDER_BUDGET="1/minute")  # 1 ms: the first render spends it all
    client = app.test_client()
    polled = [
        "/feeds/atom.xml",
        "/api/v1/posts",
        "/feeds/calendar.ics",
        "/api/v1/posts?page=2&per_page=5",
        "/feeds/atom.xml?_=123",
    ]
    assert get(client, first).status_code == 200
    renders = render_cache(app).renders
    assert_over_budget(get(client, second))
    assert render_cache(app).renders == renders  # refused before rendering
    # What links produce is never charged nor refused, cached or not.
    for url in polled * 3:
        resp = get(client, url)
        assert resp.status_code == 200, url
        assert get(client, url, **{"If-None-Match": resp.headers["ETag"]}).status_code == 304
    # Another client has its own budget.
    assert get(client, second, addr="198.51.100.10").status_code == 200


def test_refusals_before_flask_answer_as_flask_does(posts: Any, make_app: Any) -> None:
    """Once a refusal went through Flask, the next ones are answered early: the same 429, headers and all."""
    app = make_app(RENDER_BUDGET="1/minute")
    client = app.test_client()
    assert get(client, "/api/v1/posts?q=treaty").status_code == 200
    first = get(client, "/api/v1/posts?q=talks")  # through Flask: recorded
    views = render_cache(app).renders
    later = [get(client, f"/api/v1/posts?q=w{i}") for i in range(5)] + [get(client, "/feeds/rss.xml?page=9")]
    for resp in [first, *later]:
        assert_over_budget(resp)
    assert render_cache(app).renders == views
    same = {k: v for k, v in first.headers.items() if k not in ("Retry-After", "Content-Length")}
    for resp in later:
        assert {k: v for k, v in resp.headers.items() if k not in ("Retry-After", "Content-Length")} == same
        assert set(resp.get_json()["error"]) == set(first.get_json()["error"])
    head = client.head("/api/v1/posts?q=w9", environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert head.status_code == 429 and head.data == b""
    assert get(client, "/?q=anything").status_code == 200  # pages take no q: served as linked


def test_a_generous_budget_serves_everything(posts: Any, make_app: Any) -> None:
    client = make_app(RENDER_BUDGET="100000/minute").test_client()
    codes = {get(client, f"/api/v1/posts?q=treaty+w{i}").status_code for i in range(20)}
    assert codes == {200}


@pytest.mark.parametrize("setting", ["lots", "5 per fortnight", 12])
def test_bad_budget_is_refused(make_app: Any, setting: Any) -> None:
    from feedsvc.config import ConfigError

    with pytest.raises(ConfigError, match="FEEDSVC_RENDER_BUDGET"):
        make_app(RENDER_BUDGET=setting)
