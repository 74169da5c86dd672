"""`flask --app feedsvc export OUTDIR`: files equal to the served bodies, every kind, nginx config."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from test_http_kit import KINDS, fill, has_endpoint

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def exported(site: Any, make_app: Any, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Any, Path, Any]:
    """A small-page app (so feeds and API lists have several pages), exported once."""
    fill(site)
    for i in range(5):
        site.post(f"2021-03-0{i + 1}-extra-{i}", "More text.", title=f"Extra {i}", date=f"2021-03-0{i + 1}",
                  categories=["statements"], tags=["CND"])
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
    for ctype in ("application/atom+xml; charset=utf-8", "application/rss+xml; charset=utf-8",
                  "application/feed+json; charset=utf-8", "text/calendar; charset=utf-8",
                  "text/x-opml; charset=utf-8", "text/html; charset=utf-8", "application/json"):
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
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        pytest.skip("no nginx binary (apt-get install nginx-light) to serve the export with")
    return found


def test_nginx_serves_the_export_like_the_app(site: Any, make_app: Any, tmp_path: Path, nginx_bin: str) -> None:
    fill(site)
    long_alias = "an-old-and-rather-long-slug-" + "x" * 92  # 120 chars: long map keys need bigger buckets
    site.post("2021-02-01-renamed", "Renamed.", title="Renamed", date="2021-02-01",
              aliases=["old-name", long_alias])
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
    port = _free_port()
    conf = (out / "nginx.conf").read_text().replace("listen 8080;", f"listen 127.0.0.1:{port};")
    (out / "nginx.conf").write_text(conf)
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    main = prefix / "main.conf"
    user = "user root;" if os.geteuid() == 0 else ""
    main.write_text(f"""{user}
daemon off; worker_processes 1; pid {prefix}/nginx.pid; error_log {prefix}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy; fastcgi_temp_path {prefix}/fcgi;
    uwsgi_temp_path {prefix}/uwsgi; scgi_temp_path {prefix}/scgi;
    include {out}/nginx.conf;
}}
""")
    proc = subprocess.Popen([nginx_bin, "-p", str(prefix), "-c", str(main)], stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            if proc.poll() is not None:
                pytest.fail(f"nginx exited: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
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
            for name in ("Content-Type", "Cache-Control", "Last-Modified", "Access-Control-Allow-Origin"):
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
        status, headers, body = _get(port, "/api/v1/posts", method="OPTIONS",
                                     Origin="https://partner.example", **{"Access-Control-Request-Method": "GET"})
        assert status == 204 and headers["access-control-allow-origin"] == "*"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
