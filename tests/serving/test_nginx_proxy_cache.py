"""deploy/nginx-proxy.conf's cache: one entry per coding, right bytes, revalidation (issue 23, point 2).

Debian's nginx runs the shipped config in front of real gunicorn (or, for the Vary
fail-safe, a stub upstream). Every assertion counts answers (X-Cache-Status, upstream
requests) or compares bytes; none is timed.
"""

from __future__ import annotations

import gzip
import http.server
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.gunicorn_server import Server
from support.http_kit import fill
from werkzeug.datastructures import Accept
from werkzeug.http import parse_accept_header

from .nginx import Nginx, revise_report

pytestmark = [pytest.mark.nginx, pytest.mark.slow]

#: Accept-Encoding values as clients spell them; None sends no header.
SPELLINGS = [
    None,
    "identity",
    "gzip",
    "gzip, deflate",
    "gzip, deflate, br",
    "br",
    "br, gzip",
    "deflate",
    "GZIP",
    "gzip;q=0",
    "gzip;q=0.000, deflate",
    "gzip;q=0.5, identity",
    "*",
    "*;q=0",
    "br, *;q=0.1",
    "gzip;q=0, *",
    "identity;q=1, *;q=0",
    "x-gzip",
]
FEEDS = ["/feeds/atom.xml", "/feeds/rss.xml", "/feeds/feed.json", "/feeds/categories/statements/atom.xml", "/api/v1/posts"]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _headers(spelling: str | None, **more: str) -> dict[str, str]:
    return {**({"Accept-Encoding": spelling} if spelling is not None else {}), **more}


def _wants_gzip(spelling: str | None) -> bool:
    """feedsvc's own reading (werkzeug's): gzip has a q-value above 0, by name or through '*'."""
    return spelling is not None and parse_accept_header(spelling, Accept).quality("gzip") > 0


def _decoded(headers: dict[str, str], body: bytes) -> bytes:
    return gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body


def _vary(headers: dict[str, str]) -> set[str]:
    return {v.strip().lower() for v in headers.get("vary", "").split(",") if v.strip()}


@pytest.fixture
def proxied(site: Any, tmp_path: Path) -> Iterator[tuple[Nginx, Server]]:
    """The proxy in front of gunicorn; documents fresh for a minute (nothing expires during a test)."""
    fill(site)
    app = Server(site.root, tmp_path / "gunicorn.out", FEEDSVC_TRUSTED_PROXIES="1", FEEDSVC_MAX_AGE="60")
    try:
        proxy = Nginx(tmp_path / "nginx", app.port)
        try:
            yield proxy, app
        finally:
            proxy.stop()
    finally:
        app.stop()


def test_every_spelling_gets_its_codings_bytes_from_one_entry_per_coding(proxied: tuple[Nginx, Server]) -> None:
    proxy, app = proxied
    for path in FEEDS:
        plain = app.get(path, **{"Accept-Encoding": "identity"})
        packed = app.get(path, **{"Accept-Encoding": "gzip"})
        assert plain[0] == packed[0] == 200 and packed[1]["Content-Encoding"] == "gzip"
        seen: Counter[str] = Counter()
        for spelling in SPELLINGS:
            status, headers, body = proxy.get(path, **_headers(spelling))
            assert status == 200, (path, spelling)
            want = packed if _wants_gzip(spelling) else plain
            assert headers.get("content-encoding") == want[1].get("Content-Encoding"), (path, spelling)
            assert body == want[2] and headers["etag"] == want[1]["ETag"], (path, spelling)
            assert _decoded(headers, body) == plain[2]
            assert "accept-encoding" in _vary(headers), "Vary still reaches clients and caches downstream"
            seen[headers["x-cache-status"]] += 1
        # One fill per coding (identity, gzip); every other spelling is a hit on one of the two.
        assert seen == {"MISS": 2, "HIT": len(SPELLINGS) - 2}, (path, seen)


def test_polling_mix_misses_once_per_feed_and_coding(proxied: tuple[Nginx, Server]) -> None:
    proxy, _ = proxied
    spellings = [None, "gzip", "gzip, deflate", "gzip, deflate, br"]
    etags: dict[tuple[int, str], str] = {}
    statuses: Counter[str] = Counter()
    codes: Counter[int] = Counter()
    passes, pollers = 3, 8  # two pollers per spelling
    for _ in range(passes):
        for k in range(pollers):
            for path in FEEDS:  # conditional after the first fetch, with the ETag this poller last saw
                inm = {"If-None-Match": etags[k, path]} if (k, path) in etags else {}
                status, headers, _ = proxy.get(path, **_headers(spellings[k % len(spellings)], **inm))
                etags[k, path] = headers["etag"]
                statuses[headers["x-cache-status"]] += 1
                codes[status] += 1
    total = passes * pollers * len(FEEDS)
    # Four spellings, two codings: each feed misses twice (identity, gzip), then nginx answers.
    assert statuses == {"MISS": 2 * len(FEEDS), "HIT": total - 2 * len(FEEDS)}, statuses
    assert codes == {200: pollers * len(FEEDS), 304: (passes - 1) * pollers * len(FEEDS)}, codes


def test_a_browser_and_a_reader_each_get_their_own_answer_from_the_cache(proxied: tuple[Nginx, Server]) -> None:
    # Vary is ignored by nginx; Accept is in the key instead: the HTML page never reaches a reader.
    proxy, _ = proxied
    path = "/feeds/atom.xml"
    for rounds in range(2):
        for accept in (None, "*/*", BROWSER, "application/atom+xml"):
            for spelling in (None, "gzip, deflate, br"):
                status, headers, body = proxy.get(path, **_headers(spelling, **({"Accept": accept} if accept else {})))
                page = accept == BROWSER
                assert status == 200 and headers["content-type"].startswith("text/html" if page else "application/atom+xml"), (
                    accept,
                    spelling,
                )
                assert (b"<html" in _decoded(headers, body)) == page
                assert _vary(headers) == {"accept", "accept-encoding"}
                # No Accept and */* share an entry; every other Accept value has its own.
                if rounds == 1 or (accept == "*/*"):
                    assert headers["x-cache-status"] == "HIT", (accept, spelling)


def test_after_the_window_every_coding_has_the_edit_and_old_etags_never_get_304(
    reloading_stack: tuple[Nginx, Server, Any],
) -> None:
    proxy, app, site = reloading_stack
    path = "/feeds/atom.xml"
    clients = [None, "gzip", "gzip, deflate", "gzip, deflate, br"]
    old = {spelling: proxy.get(path, **_headers(spelling)) for spelling in clients}
    assert {old[c][1]["etag"] for c in clients} == {old[None][1]["etag"], old["gzip"][1]["etag"]}  # two entries
    revise_report(site)
    # Until the edit is out, each client's conditional poll gets a 304 for its own old ETag, or the new document.
    new: dict[str | None, tuple[int, dict[str, str], bytes]] = {}
    deadline = time.monotonic() + 30
    while len(new) < len(clients) and time.monotonic() < deadline:
        for spelling in clients:
            status, headers, body = proxy.get(path, **_headers(spelling, **{"If-None-Match": old[spelling][1]["etag"]}))
            coding = "gzip" if _wants_gzip(spelling) else None
            # Once one spelling of a coding has the new document, every spelling of it has (one entry).
            has_new = any(_wants_gzip(s) == bool(coding) for s in new)
            if status == 304:
                assert not has_new, f"a 304 for an old ETag after the new document was served ({spelling!r})"
                assert headers["etag"] == old[spelling][1]["etag"]
            else:
                assert status == 200 and headers["etag"] != old[spelling][1]["etag"]
                assert headers.get("content-encoding") == coding and b"Report, revised" in _decoded(headers, body)
                new.setdefault(spelling, (status, headers, body))
        time.sleep(0.1)
    assert len(new) == len(clients), "the edit never came through the proxy for every client"
    # The proxy's copies are what feedsvc sends now, byte for byte, per coding.
    for spelling, (_, headers, body) in new.items():
        direct = app.get(path, **{"Accept-Encoding": "gzip" if _wants_gzip(spelling) else "identity"})
        assert (direct[1]["ETag"], direct[2]) == (headers["etag"], body)
        assert proxy.get(path, **_headers(spelling, **{"If-None-Match": old[spelling][1]["etag"]}))[0] == 200
        assert proxy.get(path, **_headers(spelling, **{"If-None-Match": headers["etag"]}))[0] == 304


def test_the_documented_window_bounds_a_quiet_entry(reloading_stack: tuple[Nginx, Server, Any]) -> None:
    # An entry nobody asked for during the edit: once feedsvc serves the edit on every worker, and
    # max-age + stale-while-revalidate (2 s) have passed, the very first request gets the new bytes.
    proxy, app, site = reloading_stack
    path = "/feeds/categories/publications/atom.xml"
    old = {c: proxy.get(path, **_headers(c)) for c in (None, "gzip")}
    revise_report(site)
    streak, deadline = 0, time.monotonic() + 30
    while streak < 8 and time.monotonic() < deadline:  # new connections: every worker has reloaded
        streak = streak + 1 if b"Report, revised" in app.get(path, **{"Accept-Encoding": "identity"})[2] else 0
        time.sleep(0.05)
    assert streak == 8, "feedsvc never served the edit"
    time.sleep(1 + 1 + 0.5)  # past max-age and stale-while-revalidate of the proxy's entries
    for coding in (None, "gzip"):
        status, headers, body = proxy.get(path, **_headers(coding, **{"If-None-Match": old[coding][1]["etag"]}))
        assert status == 200 and b"Report, revised" in _decoded(headers, body), (coding, str(headers))
        assert headers["x-cache-status"] in ("EXPIRED", "REVALIDATED", "MISS"), headers["x-cache-status"]


class _Stub(http.server.BaseHTTPRequestHandler):
    """An upstream whose /lang answers vary on Accept-Language (not in the key), the rest on Accept-Encoding."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:  # http.server's name
        self.seen.append((self.path, self.headers.get("Accept-Encoding")))
        body = f"{self.path} {len(self.seen)}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "public, max-age=60")
        self.send_header("Vary", "Accept-Language" if self.path == "/lang" else "Accept-Encoding")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_response_varying_on_a_header_outside_the_key_is_never_cached(tmp_path: Path) -> None:
    stub = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    _Stub.seen = []
    thread = threading.Thread(target=stub.serve_forever, daemon=True)
    thread.start()
    try:
        proxy = Nginx(tmp_path / "nginx", stub.server_address[1])
        try:
            got = [proxy.get("/lang", **{"Accept-Language": lang}) for lang in ("fr", "de", "fr")]
            assert [h["x-cache-status"] for _, h, _ in got] == ["MISS", "MISS", "MISS"]
            assert [b for _, _, b in got] == [b"/lang 2", b"/lang 3", b"/lang 4"]  # (1: nginx's start probe)
            assert [h["x-cache-status"] for _, h, _ in (proxy.get("/ae"), proxy.get("/ae"))] == ["MISS", "HIT"]
            for spelling in ("gzip, deflate, br", "br", "*"):
                proxy.get("/other", **{"Accept-Encoding": spelling})
            # feedsvc is asked for the normalised coding only (nginx sends no header for identity).
            assert [ae for path, ae in _Stub.seen if path == "/other"] == ["gzip", None]
        finally:
            proxy.stop()
    finally:
        stub.shutdown()
        stub.server_close()
