"""The per-client render budget: spent only by uncached long-tail renders, never by cached traffic."""

from __future__ import annotations

from typing import Any

import pytest

from feedsvc.config import DEFAULTS
from feedsvc.ratelimit import render_budget


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
        site.post(f"post-{i:02d}", "Treaty talks and more words.", date=f"2021-04-{i + 1:02d}",
                  categories=["events"], event={"start": f"2021-05-{i + 1:02d}T10:00:00Z"})
    return site


def test_on_by_default(make_app: Any) -> None:
    assert DEFAULTS["RENDER_BUDGET"] == "5000/minute"
    assert render_budget(make_app()) is not None
    assert render_budget(make_app(RENDER_BUDGET="off")) is None


@pytest.mark.parametrize("first,second", [
    ("/api/v1/posts?q=treaty", "/api/v1/posts?q=talks"),
    ("/feeds/calendar.ics?q=treaty", "/feeds/calendar.ics?q=talks"),
    ("/api/v1/posts?per_page=1&page=7", "/api/v1/posts?per_page=1&page=8"),
    ("/feeds/atom.xml?q=treaty", "/api/v1/posts?since=2021-04-03"),
])
def test_expensive_misses_spend_it_cached_traffic_never(posts: Any, make_app: Any, first: str, second: str) -> None:
    client = make_app(RENDER_BUDGET="1/minute").test_client()  # 1 ms: the first render spends it all
    polled = ["/feeds/atom.xml", "/api/v1/posts", "/feeds/calendar.ics", "/api/v1/posts?page=2&per_page=5"]
    assert get(client, first).status_code == 200
    assert_over_budget(get(client, second))
    # What links produce is never charged nor refused, cached or not; neither is a cache hit.
    for url in polled * 3:
        assert get(client, url).status_code == 200, url
    again = get(client, first)
    assert again.status_code == 200
    assert get(client, first, **{"If-None-Match": again.headers["ETag"]}).status_code == 304
    # Another client has its own budget.
    assert get(client, second, addr="198.51.100.10").status_code == 200


def test_a_generous_budget_serves_everything(posts: Any, make_app: Any) -> None:
    client = make_app().test_client()
    codes = {get(client, f"/api/v1/posts?q=treaty+w{i}").status_code for i in range(20)}
    assert codes == {200}


@pytest.mark.parametrize("setting", ["lots", "5 per fortnight", 12])
def test_bad_budget_is_refused(make_app: Any, setting: Any) -> None:
    from feedsvc.config import ConfigError

    with pytest.raises(ConfigError, match="FEEDSVC_RENDER_BUDGET"):
        make_app(RENDER_BUDGET=setting)
