"""`flask --app feedsvc export OUTDIR`: files equal to the served bodies, every kind, nginx config."""

from __future__ import annotations

import http.client
import json
import re
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from support.http_kit import KINDS, fill, has_endpoint
from support.nginx import nginx_binary, nginx_serving

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def exported(site: Any, make_app: Any, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Any, Path, Any]:
    """A small-page app (so feeds and API lists have several pages), exported once."""
    fill(site)
    for i in range(5):
        site.post(
            f"2021-03-0{i + 1}-extra-{i}",
            "More text.",
            title=f"Extra {i}",
            date=f"2021-03-0{i + 1}",
            categories=["statements"],
            tags=["CND"],
        )
    site.post("2021-02-01-renamed", "Renamed.", title="Renamed", date="2021-02-01", aliases=["old-name"])
    app = make_app(FEED_SIZE=2, PER_PAGE=2)
    out = tmp_path / "export"
    result = app.test_cli_runner().invoke(args=["export", str(out), "--jobs", str(request.param)])
    assert result.exit_code == 0, result.output
    return app, out, result


@pytest.mark.parametrize("exported", [1, 2], indirect=True, ids=["1-process", "2-processes"])
def test_files_equal_served_bodies(exported: tuple[Any, Path, Any]) -> None:
    app, out, result = exported
    manifest = json.loads((out / "export-manifest.json").read_text())
    docs = manifest["documents"]
    assert len(docs) > 50
    client = app.test_client()
    for url, entry in docs.items():
        resp = client.get(url)
        body = resp.get_data()
        resp.close()
        assert resp.status_code == 200, url
        path = out / entry["file"]
        assert path.read_bytes() == body, f"{entry['file']} differs from {url}"
        assert entry["content_type"] == resp.headers["Content-Type"]
        assert entry["etag"] == resp.headers["ETag"]
        lm = parsedate_to_datetime(resp.headers["Last-Modified"]).timestamp()
        assert int(path.stat().st_mtime) == int(lm)  # nginx sends the mtime as Last-Modified
    # Every document kind, and the pages that only links reveal.
    for _, endpoint, url in KINDS:
        if has_endpoint(app, endpoint) and "per_page=1" not in url:
            assert url in docs, f"{url} missing from the export"
    assert any(u.startswith("/feeds/atom.xml?") and "page=2" in u for u in docs), "feed page 2 missing"
    assert any(u.startswith("/api/v1/posts?") and "page=2" in u for u in docs), "API page 2 missing"
    assert any(u.startswith("/feeds/categories/statements/archive/") for u in docs)
    assert manifest["redirects"]["/posts/old-name"][1].endswith("/posts/renamed")
    assert "/healthz" not in docs  # no-store: not a document
    assert "documents written" in result.output and "exported" in result.output


@pytest.mark.parametrize("exported", [1], indirect=True)
def test_nginx_config_covers_every_type(exported: tuple[Any, Path, Any]) -> None:
    _, out, _ = exported
    conf = (out / "nginx.conf").read_text()
    docs = json.loads((out / "export-manifest.json").read_text())["documents"]
    declared = dict(re.findall(r'^\s+"([^"]+)" (\w+);$', conf, re.M))
    for entry in docs.values():
        ext = entry["file"].rsplit(".", 1)[1]
        assert declared.get(entry["content_type"]) == ext, entry
        assert f"$feedsvc_file.{ext}" in conf
    assert f"root {out.resolve()};" in conf
    assert "public, max-age=300" in conf and "if_modified_since exact" in conf
    assert re.search(r'"/posts/old-name" "[^"]+/posts/renamed"', conf)
    assert conf.count("{") == conf.count("}")


def test_shipped_nginx_example_declares_the_served_types() -> None:
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    for ctype in (
        "application/atom+xml; charset=utf-8",
        "application/rss+xml; charset=utf-8",
        "application/feed+json; charset=utf-8",
        "text/calendar; charset=utf-8",
        "text/x-opml; charset=utf-8",
        "text/html; charset=utf-8",
        "application/json",
    ):
        assert f'"{ctype}"' in conf
    assert "try_files" in conf and "Access-Control-Allow-Origin" in conf


def test_file_names_are_safe() -> None:
    from feedsvc.export import file_for

    assert file_for("/", "html") == "index.html"
    assert file_for("/api/v1/posts?page=2&per_page=20", "json") == "api/v1/posts@page=2&per_page=20.json"
    assert file_for("/tags/caf%C3%A9", "html") == "tags/café.html"
    for bad in ("/a/../b", "/a/%2e%2e/b", "/a//b"):
        with pytest.raises(ValueError):
            file_for(bad, "html")


@pytest.fixture
def nginx_bin() -> str:
    """Debian's nginx (the export's serving check needs a real one)."""
    return nginx_binary()


@pytest.mark.nginx
def test_nginx_serves_the_export_like_the_app(site: Any, make_app: Any, tmp_path: Path, nginx_bin: str) -> None:
    fill(site)
    long_alias = "an-old-and-rather-long-slug-" + "x" * 92  # 120 chars: long map keys need bigger buckets
    site.post("2021-02-01-renamed", "Renamed.", title="Renamed", date="2021-02-01", aliases=["old-name", long_alias])
    app = make_app(FEED_SIZE=2, PER_PAGE=2)
    out = tmp_path / "export"
    result = app.test_cli_runner().invoke(args=["export", str(out), "--jobs", "1", "--precompress"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "export-manifest.json").read_text())
    client = app.test_client()
    compressed = 0
    for url, item in manifest["documents"].items():
        for coding, suffix in (("gzip", ".gz"), ("br", ".br")):
            path = out / (item.get("file", "") + suffix)
            if item.get("file") and path.exists():  # the app's own compressed bytes, byte for byte
                served = client.get(url, headers={"Accept-Encoding": coding})
                assert served.headers.get("Content-Encoding") == coding and served.get_data() == path.read_bytes(), url
                compressed += 1
    assert compressed > 10
    with nginx_serving(out, tmp_path / "nginx", nginx_bin) as port:
        docs = json.loads((out / "export-manifest.json").read_text())["documents"]
        client = app.test_client()
        checked = 0
        for url in docs:
            want = client.get(url)
            want_body = want.get_data()
            want.close()
            status, headers, body = _get(port, url)
            assert status == 200, url
            assert body == want_body, url
            for name in (
                "Content-Type",
                "Cache-Control",
                "Last-Modified",
                "Access-Control-Allow-Origin",
                "Content-Security-Policy",
                "X-Frame-Options",
                "Cross-Origin-Opener-Policy",
                "Referrer-Policy",
                "X-Content-Type-Options",
            ):
                assert headers.get(name.lower()) == want.headers.get(name), (url, name)
            checked += 1
            if checked % 7:
                continue  # revalidation and encodings on a sample
            assert _get(port, url, **{"If-None-Match": headers["etag"]})[0] == 304
            assert _get(port, url, **{"If-Modified-Since": headers["last-modified"]})[0] == 304
            assert _get(port, url, **{"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})[0] == 200
            if len(want_body) >= 500 and "text/html" not in headers["content-type"]:
                gz = client.get(url, headers={"Accept-Encoding": "gzip"})
                status, gzh, gzbody = _get(port, url, **{"Accept-Encoding": "gzip"})
                assert gzh.get("content-encoding") == "gzip" and gzbody == gz.get_data(), url
                gz.close()
        assert checked == len(docs) > 50
        for alias in ("old-name", long_alias):
            status, headers, _ = _get(port, f"/posts/{alias}")
            assert status in (301, 308) and headers["location"].endswith("/posts/renamed")
        status, headers, body = _get(
            port, "/api/v1/posts", method="OPTIONS", Origin="https://partner.example", **{"Access-Control-Request-Method": "GET"}
        )
        assert status == 204 and headers["access-control-allow-origin"] == "*"


def _get(port: int, url: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, url, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_pages_between_first_and_last_are_named_at_once() -> None:
    from feedsvc.export import expand_pages

    links = {"/feeds/atom.xml?page=2", "/feeds/atom.xml?page=5", "/api/v1/posts?page=3&per_page=20", "/x"}
    got = expand_pages(links)
    assert {f"/feeds/atom.xml?page={i}" for i in range(2, 6)} <= got
    assert {"/api/v1/posts?page=2&per_page=20", "/api/v1/posts?page=3&per_page=20"} <= got
    assert "/x" in got and "/feeds/atom.xml?page=1" not in got and not any("subpage" in u for u in got)
    assert expand_pages({"/a?subpage=3"}) == {"/a?subpage=3"}


def test_export_is_not_rate_limited(site: Any, make_app: Any, tmp_path: Path) -> None:
    fill(site)
    app = make_app(RATELIMIT="2/minute")
    out = tmp_path / "export"
    result = app.test_cli_runner().invoke(args=["export", str(out), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    docs = json.loads((out / "export-manifest.json").read_text())["documents"]
    assert len(docs) > 50 and "/feeds/atom.xml" in docs


@pytest.mark.nginx
def test_nginx_serves_discovery_and_oembed_like_the_app(site: Any, make_app: Any, tmp_path: Path, nginx_bin: str) -> None:
    from lxml import etree

    fill(site)
    site.post("2021-02-01-renamed", "Renamed.", title="Renamed", date="2021-02-01", aliases=["old-name"])
    app = make_app()
    out = tmp_path / "export"
    result = app.test_cli_runner().invoke(args=["export", str(out), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    docs = json.loads((out / "export-manifest.json").read_text())["documents"]
    client = app.test_client()
    index_xml = client.get("/sitemap.xml").data
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    children = [urlsplit(e.text or "").path for e in etree.fromstring(index_xml).iter(f"{ns}loc")]
    base = client.get("/robots.txt").data.decode().split("Sitemap: ")[1].strip().removesuffix("/sitemap.xml")
    wanted = ["/robots.txt", "/sitemap.xml", *children, "/posts/summit/embed", "/posts/summit/event.ics", "/posts/renamed/embed"]
    assert len(children) >= 2 and all(u in docs for u in wanted), sorted(set(wanted) - set(docs))
    answers = [u for u in docs if u.startswith("/oembed?")]
    assert len(answers) == 2 * len(json.loads(client.get("/api/v1/posts?per_page=100").data)["items"])
    page = f"{base}/posts/renamed"
    want = {fmt: client.get("/oembed?" + urlencode({"url": page, "format": fmt})) for fmt in ("json", "xml")}
    assert json.loads(want["json"].data)["type"] == "rich"
    assert etree.fromstring(want["xml"].data).findtext("type") == "rich"
    host = urlsplit(base).netloc
    forms = [
        page,
        page + "/",
        page + "/embed",
        page + "#top",
        page + "?utm=x",
        f"{base}/posts/old-name",
        page.replace(host, host.upper()),
    ]
    with nginx_serving(out, tmp_path / "nginx", nginx_bin) as port:
        for url in wanted:
            app_resp = client.get(url)
            status, headers, body = _get(port, url)
            assert (status, body) == (200, app_resp.data), url
            for name in ("Content-Type", "Content-Security-Policy", "X-Frame-Options"):
                assert headers.get(name.lower()) == app_resp.headers.get(name), (url, name)
        for form in forms:
            queries = [
                (urlencode({"url": form}), "json"),
                (urlencode({"url": form, "format": "xml"}), "xml"),
                (urlencode({"url": form, "format": "json", "maxwidth": 1200, "maxheight": "01000"}), "json"),
            ]
            if "#" not in form and "?" not in form:  # a consumer that does not encode the URL
                queries.append((f"url={form}&format=xml", "xml"))
            for query, fmt in queries:
                app_resp = client.get("/oembed?" + query)
                assert app_resp.data == want[fmt].data, (form, query)  # the app's own answer for this form
                status, headers, body = _get(port, "/oembed?" + query)
                assert (status, body) == (200, app_resp.data), (form, query)
                assert headers["content-type"] == app_resp.headers["Content-Type"]
        unknown = urlencode({"url": f"{base}/posts/no-such-post"})
        for query, code in (
            (unknown, 404),
            (urlencode({"url": "https://elsewhere.example/posts/renamed"}), 404),
            (urlencode({"url": page, "format": "yaml"}), 501),
            (urlencode({"url": page, "maxwidth": "wide"}), 400),
            (urlencode({"url": page, "maxheight": 0}), 400),
            (urlencode({"url": page, "maxwidth": 10_001}), 400),
            ("format=json", 400),
        ):
            assert client.get("/oembed?" + query).status_code == code, query
            status, headers, body = _get(port, "/oembed?" + query)
            assert status == code and json.loads(body)["error"]["status"] == code, query
            assert headers["content-type"].startswith("application/json")
        # Bounds under the card's size: the app shrinks the card, a static copy cannot (documented).
        small = urlencode({"url": page, "maxwidth": 300})
        assert json.loads(client.get("/oembed?" + small).data)["width"] == 300
        assert _get(port, "/oembed?" + small)[0] == 501
        # Only the embed card may be framed, through nginx as from the app.
        assert "frame-ancestors *" in _get(port, "/posts/renamed/embed")[1]["content-security-policy"]
        assert _get(port, "/posts/renamed")[1]["x-frame-options"] == "DENY"


def test_oembed_patterns() -> None:
    import re as pyre

    from feedsvc.export.oembed import at_least, slug_spellings, url_pattern

    for n in (1, 9, 10, 340, 600, 999, 10_001):
        rx = pyre.compile(f"^{at_least(n)}$")
        assert [v for v in range(1, 20_000) if rx.match(str(v))] == list(range(max(n, 1), 20_000)), n
    rx = pyre.compile(url_pattern("https://example.org/posts/{slug}", embed=True).replace("(?<", "(?P<"))
    for arg in (
        "https%3A%2F%2Fexample.org%2Fposts%2Fcaf%25C3%25A9",
        "https://EXAMPLE.org/posts/café/",
        "https%3a%2f%2fexample.org%2fposts%2fcaf%C3%A9%2Fembed",
        "https://example.org/posts/café#x",
    ):
        m = rx.match(arg)
        assert m and m.group("feedsvc_slug") in slug_spellings("café"), arg
    for arg in (
        "https://example.org/posts/a/b",
        "http://example.org/posts/a",
        "https://example.org.evil/posts/a",
        "https://example.org/postsx/a",
    ):
        assert not rx.match(arg), arg
    permalink = pyre.compile(url_pattern("https://org.example/news/{year}/{month}/{slug}/").replace("(?<", "(?P<"))
    m = permalink.match("https%3A%2F%2Forg.example%2Fnews%2F2021%2F04%2Fside-event%2F")
    assert m and m.group("feedsvc_slug") == "side-event"
