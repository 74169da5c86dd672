"""Every redirect is built from base_url, never from the Host header, and carries Cache-Control."""

from __future__ import annotations

from typing import Any

import pytest
from support.http_kit import fill

BASE = "https://news.example.org"


@pytest.fixture
def client_evil(site: Any, make_app: Any) -> Any:
    fill(site)
    site.write_site(redirects={"/rss": "/feeds/rss.xml"})
    app = make_app()
    with app.test_client() as c:
        yield c


@pytest.mark.parametrize(
    "path,location",
    [
        ("/feeds//atom.xml", f"{BASE}/feeds/atom.xml"),  # werkzeug's merge_slashes
        ("/feeds/categories//statements/atom.xml?page=1", f"{BASE}/feeds/categories/statements/atom.xml?page=1"),
        ("/api/v1//posts?tag=cnd", f"{BASE}/api/v1/posts?tag=cnd"),
        ("/rss", f"{BASE}/feeds/rss.xml"),  # site.yaml redirects
        ("/api/v1/posts/first-statement", None),  # not a redirect: control
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_redirects_ignore_host(client_evil: Any, path: str, location: str | None, method: str) -> None:
    resp = client_evil.open(path, method=method, headers={"Host": "evil.example"})
    if location is None:
        assert resp.status_code == 200
        return
    assert resp.status_code == 308
    assert resp.headers["Location"] == location
    assert "evil.example" not in resp.get_data(as_text=True)
    assert resp.headers["Cache-Control"].startswith("public, max-age=")


def test_forwarded_host_is_ignored_too(client_evil: Any) -> None:
    resp = client_evil.get(
        "/feeds//rss.xml", headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}
    )
    assert resp.headers["Location"] == f"{BASE}/feeds/rss.xml"


def test_redirect_of_a_preflight_is_not_cached(client_evil: Any) -> None:
    resp = client_evil.options("/feeds//atom.xml", headers={"Host": "evil.example"})
    assert resp.status_code == 308
    assert resp.headers["Location"] == f"{BASE}/feeds/atom.xml"
    assert resp.headers["Cache-Control"] == "no-cache"
