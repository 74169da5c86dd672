"""deploy/nginx-proxy.conf: Debian's nginx in front of real gunicorn (buffering, keep-alive upstream, proxy_cache)."""

from __future__ import annotations

import http.client
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import slow_clients
from support.gunicorn_server import Server
from support.http_kit import fill

from .nginx import Nginx, revise_report

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.nginx, pytest.mark.slow]


@pytest.fixture
def stack(site: Any, tmp_path: Path) -> Iterator[tuple[Nginx, Server, Path]]:
    fill(site)
    log = tmp_path / "upstream.log"
    app = Server(
        site.root, tmp_path / "gunicorn.out", FEEDSVC_TRUSTED_PROXIES="1", FEEDSVC_MAX_AGE="1", GUNICORN_ACCESSLOG=str(log)
    )
    try:
        proxy = Nginx(tmp_path / "nginx", app.port)
        try:
            yield proxy, app, log
        finally:
            proxy.stop()
    finally:
        app.stop()


def _upstream(log: Path, path: str, settle: Callable[[list[str]], bool] = lambda _: True) -> list[str]:
    """Status codes gunicorn answered for ``path`` (from its access log, which a worker writes just
    after answering: read again for up to 5 s until ``settle`` holds)."""
    for _ in range(100):
        found = re.findall(rf'"GET {re.escape(path)} HTTP/1\.1" (\d+)', log.read_text())
        if settle(found):
            break
        time.sleep(0.05)
    return found


def _established_to(port: int) -> int:
    """Open TCP connections to 127.0.0.1:``port`` (from /proc/net/tcp: state 01 = ESTABLISHED)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote, state = fields[2], fields[3]
        if state == "01" and int(remote.split(":")[1], 16) == port:
            count += 1
    return count


def test_cached_and_revalidated_with_our_validators(stack: tuple[Nginx, Server, Path]) -> None:
    proxy, app, log = stack
    direct = app.get("/feeds/atom.xml", **{"Accept-Encoding": "identity"})
    first = proxy.get("/feeds/atom.xml")
    assert first[0] == 200 and first[2] == direct[2] and first[1]["etag"] == direct[1]["ETag"]
    second = proxy.get("/feeds/atom.xml")
    assert second[1]["x-cache-status"] == "HIT" and second[2] == direct[2]
    # A client's conditional request is answered by nginx from the cached validators.
    assert proxy.get("/feeds/atom.xml", **{"If-None-Match": first[1]["etag"]})[0] == 304
    assert proxy.get("/feeds/atom.xml", **{"If-Modified-Since": first[1]["last-modified"]})[0] == 304
    # Vary: Accept-Encoding: the gzip variant is its own entry, with its own ETag.
    gz = proxy.get("/feeds/atom.xml", **{"Accept-Encoding": "gzip"})
    assert gz[1]["content-encoding"] == "gzip" and gz[1]["etag"] != first[1]["etag"]
    assert proxy.get("/feeds/atom.xml")[1].get("content-encoding") is None
    upstream = _upstream(log, "/feeds/atom.xml", lambda found: found.count("200") >= 3)
    assert upstream.count("200") == 3  # ours, nginx's identity fill, nginx's gzip fill: the rest were HITs
    time.sleep(2.2)  # past FEEDSVC_MAX_AGE=1: nginx revalidates its copy with our validators
    again = proxy.get("/feeds/atom.xml")  # stale-while-revalidate: the stale copy, updated in the background
    assert again[0] == 200 and again[2] == direct[2]
    upstream = _upstream(log, "/feeds/atom.xml", lambda found: "304" in found)  # revalidated in the background
    assert "304" in upstream, "an expired entry is revalidated (If-None-Match), not refetched"


def test_keepalive_to_gunicorn_and_from_clients(stack: tuple[Nginx, Server, Path]) -> None:
    proxy, app, log = stack
    for _ in range(6):
        assert proxy.get("/healthz")[0] == 200  # never cached: each one goes to gunicorn
    assert len(_upstream(log, "/healthz", lambda found: len(found) >= 6)) >= 6
    assert _established_to(app.port) >= 1, "nginx keeps its upstream connections open"
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    try:
        for path in ("/api/v1/posts", "/api/v1/posts"):
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200
            sock = conn.sock
        assert conn.sock is sock is not None
    finally:
        conn.close()


def test_slow_clients_and_a_forged_host_through_the_proxy(stack: tuple[Nginx, Server, Path]) -> None:
    proxy, _, _ = stack
    result = slow_clients.run(
        proxy.port, duration=3, idle=50, trickle=50, clients=2, settle=1, paths=["/api/v1/posts", "/feeds/rss.xml", "/healthz"]
    )
    assert result.timeouts == 0 and not result.errors and result.latencies, result.summary()
    status, headers, _ = proxy.get("/feeds//atom.xml", Host="evil.example")
    assert status == 308 and headers["location"] == "https://news.example.org/feeds/atom.xml"
    assert proxy.get("/metrics")[0] == 200  # from 127.0.0.1: allowed


def test_an_edit_comes_through_and_a_304_is_never_stale(reloading_stack: tuple[Nginx, Server, Any]) -> None:
    # The documented window (docs/deployment.md, "Behind nginx"): reload interval + max-age + stale-while-
    # revalidate, here 2.2 s; the loop below gives it 30 s so a loaded machine cannot fail it.
    proxy, app, site = reloading_stack
    path = "/feeds/atom.xml"
    old = proxy.get(path)
    assert old[0] == 200 and proxy.get(path)[1]["x-cache-status"] == "HIT"
    old_etag = old[1]["etag"]
    revise_report(site)
    seen_new: str | None = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, headers, body = proxy.get(path, **{"If-None-Match": old_etag})
        if status == 304:  # only while nginx's copy is the old document: its ETag, never a newer one
            assert seen_new is None, "a 304 for the old ETag after the new document was served"
            assert headers["etag"] == old_etag
        else:
            assert status == 200 and headers["etag"] != old_etag and b"Report, revised" in body
            seen_new = headers["etag"]
            break
        time.sleep(0.1)
    assert seen_new, "the edit never came through the proxy"
    direct = app.get(path, **{"Accept-Encoding": "identity"})
    assert direct[1]["ETag"] == seen_new  # nginx's copy is what feedsvc sends now
    for _ in range(3):  # from now on: the old ETag gets the new document, the new one a 304
        status, headers, body = proxy.get(path, **{"If-None-Match": old_etag})
        assert status == 200 and headers["etag"] == seen_new and body == direct[2]
        status, headers, _ = proxy.get(path, **{"If-None-Match": seen_new})
        assert status == 304 and headers["etag"] == seen_new
