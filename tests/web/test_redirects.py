"""Retired URLs: site.yaml `redirects` answer 308 for good, follow reloads, never redirect off-site by trickery."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from feedsvc.extensions import state

BASE = "https://news.example.org"


@pytest.fixture
def moved(site: Any, make_app: Any) -> Any:
    """A client over a site with a table of retired URLs."""
    site.post("first", "Hello.")
    site.write_site(
        redirects={
            "/rss": "/feeds/rss.xml",
            "/old/atom.xml": "/feeds/atom.xml",
            "/news/feed": "https://elsewhere.example.net/feed.xml",
            "/caf%C3%A9": "/categories/statements",
            "/evil1": "//evil.example/x",
            "/evil2": "/\\evil.example/x",
        }
    )
    app = make_app()
    with app.test_client() as c:
        c.application = app
        yield c


@pytest.mark.parametrize(
    "old,location",
    [
        ("/rss", f"{BASE}/feeds/rss.xml"),
        ("/old/atom.xml", f"{BASE}/feeds/atom.xml"),
        ("/news/feed", "https://elsewhere.example.net/feed.xml"),
        ("/café", f"{BASE}/categories/statements"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_retired_urls_answer_308(moved: Any, old: str, location: str, method: str) -> None:
    resp = moved.open(old, method=method)
    assert resp.status_code == 308
    assert resp.headers["Location"] == location


def test_query_string_is_kept(moved: Any) -> None:
    resp = moved.get("/old/atom.xml?page=2&lang=fr")
    assert resp.status_code == 308
    loc = urlsplit(resp.headers["Location"])
    assert (loc.path, loc.query) == ("/feeds/atom.xml", "page=2&lang=fr")


def test_query_string_cannot_inject_headers(moved: Any) -> None:
    resp = moved.get("/rss?a=%0d%0aSet-Cookie:x=1")
    assert resp.status_code == 308
    assert "Set-Cookie" not in resp.headers
    assert "\r" not in resp.headers["Location"] and "\n" not in resp.headers["Location"]


@pytest.mark.parametrize("old", ["/evil1", "/evil2"])
def test_protocol_relative_targets_stay_on_our_origin(moved: Any, old: str) -> None:
    resp = moved.get(old)
    if resp.status_code == 308:
        loc = urlsplit(resp.headers["Location"])
        assert (loc.scheme, loc.netloc) == ("https", "news.example.org"), resp.headers["Location"]
    else:
        assert resp.status_code == 404


@pytest.mark.parametrize(
    "path", ["//evil.example", "//evil.example/rss", "/\\evil.example", "/%2F%2Fevil.example", "//rss", "/rss/", "/RSS"]
)
def test_lookalike_requests_are_not_redirected_off_site(moved: Any, path: str) -> None:
    # PATH_INFO set directly: the test client would read '//evil.example' as a host name.
    resp = moved.get("/", environ_overrides={"PATH_INFO": path, "RAW_URI": path, "REQUEST_URI": path})
    loc = resp.headers.get("Location")
    if loc is not None:
        parts = urlsplit(loc)
        assert parts.netloc in ("", "news.example.org", "localhost"), (path, loc)
    assert resp.status_code < 500


def test_redirect_table_follows_site_yaml_reloads(site: Any, moved: Any) -> None:
    app = moved.application
    assert moved.get("/rss").status_code == 308
    path = site.write_site(redirects={"/rss2": "/feeds/rss.xml"})
    site.touch_later(path)
    state(app).live.refresh()
    assert moved.get("/rss").status_code != 308
    resp = moved.get("/rss2")
    assert resp.status_code == 308 and resp.headers["Location"] == f"{BASE}/feeds/rss.xml"


def test_other_methods_are_not_redirected(moved: Any) -> None:
    resp = moved.post("/rss")
    assert resp.status_code != 308 and resp.status_code < 500


def test_no_redirects_configured_changes_nothing(site: Any, make_app: Any) -> None:
    with make_app().test_client() as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/rss").status_code == 404


def test_site_yaml_refuses_protocol_relative_retired_paths(site: Any, make_app: Any) -> None:
    """The content schema rejects '//x' keys, so the last good site.yaml stays in force."""
    from feedsvc.content.site import SiteError, load_site

    site.write_site(redirects={"//evil.example": "/feeds/atom.xml"})
    with pytest.raises(SiteError):
        load_site(site.root / "site.yaml")


@pytest.mark.parametrize("prefix", ["/posts/", "/api/v1/posts/"])
def test_post_aliases_redirect_permanently(site: Any, make_app: Any, prefix: str) -> None:
    """A post's old slug (front matter `aliases`) answers 301/308 to its current URL."""
    site.post("new-name", "Hello.", aliases=["old-name"])
    with make_app().test_client() as c:
        if c.get(prefix + "new-name").status_code != 200:
            pytest.skip(f"{prefix}<slug> is not served yet (web/api work in progress)")
        resp = c.get(prefix + "old-name?x=1")
    assert resp.status_code in (301, 308), resp.status_code
    assert urlsplit(resp.headers["Location"]).path == prefix + "new-name"
