"""Static files: content-hash ETags, immutable caching for versioned URLs, nothing else reachable."""

from __future__ import annotations

import hashlib

import pytest

from feedsvc.assets import ASSETS, STATIC, asset_url


@pytest.mark.parametrize("name", [*ASSETS, "embed.js", "feed.xsl", "feed.css"])
def test_static_files_are_served_with_a_content_hash_etag(client, name):
    r = client.get(f"/static/{name}", headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200
    assert r.data == (STATIC / name).read_bytes()
    assert r.headers["ETag"].strip('"') == hashlib.sha256(r.data).hexdigest()[:32]
    assert "immutable" not in r.headers["Cache-Control"]
    again = client.get(f"/static/{name}", headers={"If-None-Match": r.headers["ETag"], "Accept-Encoding": "identity"})
    assert again.status_code == 304


@pytest.mark.parametrize("name", ASSETS)
def test_versioned_asset_urls_are_immutable(client, name):
    r = client.get(asset_url(name))
    assert r.status_code == 200 and r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    stale = client.get(f"/static/{name}?v=000000000000")  # an old hash: not promised forever
    assert stale.status_code == 200 and "immutable" not in stale.headers["Cache-Control"]


@pytest.mark.parametrize(
    "path",
    [
        "/static/../config.py",
        "/static/%2e%2e/config.py",
        "/static/..%2fconfig.py",
        "/static/%252e%252e%252fconfig.py",
        "/static/nope.css",
        "/static/",
        "/static/.hidden",
        "/static/site.css/x",
        "/static/__init__.py",
    ],
)
def test_nothing_else_is_reachable(client, path):
    r = client.get(path)
    assert r.status_code in (404, 308) and b"import" not in r.data


@pytest.mark.parametrize("path", ["/nope", "/posts", "/categories/", "/a/b/c"])
def test_unrouted_html_paths_get_the_site_404_page(client, path):
    import lxml.html

    r = client.get(path)
    assert r.status_code == 404 and r.content_type == "text/html; charset=utf-8"
    page = lxml.html.fromstring(r.data)
    assert page.xpath("//html/@lang") == ["en"] and page.xpath("//main")
    assert "Test Network" in page.xpath("string(//header)")
