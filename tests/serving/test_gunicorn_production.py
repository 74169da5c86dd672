"""Production serving with the shipped gunicorn.conf.py: slow clients, keep-alive, metrics, JSON logs, memory.

Real gunicorn processes on free 127.0.0.1 ports, stopped by their PID; every load is
bounded in connections and time and only contacts loopback.
"""

from __future__ import annotations

import http.client
import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from support import slow_clients
from support.gunicorn_server import Server
from support.http_kit import fill

pytestmark = pytest.mark.slow


@pytest.fixture
def served(site: Any, tmp_path: Path) -> Iterator[Server]:
    fill(site)
    server = Server(site.root, tmp_path / "gunicorn.out")
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.slow
def test_idle_and_trickling_connections_do_not_stall_normal_requests(served: Server) -> None:
    # 100 connections that send nothing and 100 that send a header a byte a second, held
    # open (and re-opened if dropped) while normal requests run. With sync workers every
    # one of these requests timed out.
    result = slow_clients.run(served.port, duration=6, idle=100, trickle=100, clients=3, settle=2)
    summary = result.summary()
    assert result.timeouts == 0 and not result.errors, summary
    assert len(result.latencies) >= 20 and set(result.statuses) == {200}, summary
    # The slow connections really were open together (gevent closes one that has not sent a
    # whole request after keepalive = 5 s; the tool re-opens it).
    assert result.slow_peak >= 190, summary


def test_two_requests_share_one_connection(served: Server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        conn.request("GET", "/feeds/atom.xml")
        first = conn.getresponse()
        first.read()
        sock = conn.sock
        assert first.status == 200 and first.getheader("Connection", "").lower() != "close"
        assert sock is not None
        local = sock.getsockname()
        etag = first.getheader("ETag")
        conn.request("GET", "/feeds/atom.xml", headers={"If-None-Match": etag or ""})
        second = conn.getresponse()
        second.read()
        assert second.status == 304
        assert conn.sock is sock and sock.getsockname() == local, "the second request reused the connection"
    finally:
        conn.close()


def _samples(text: str, name: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line.startswith(name):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


@pytest.mark.slow
def test_metrics_add_up_over_every_worker(served: Server) -> None:
    n = 40
    with ThreadPoolExecutor(4) as pool:  # fresh connections: spread over both workers
        statuses = list(pool.map(lambda i: served.get("/feeds/atom.xml", **{"Accept-Encoding": "gzip"})[0], range(n)))
    assert statuses == [200] * n
    etag = served.get("/feeds/atom.xml")[1]["ETag"]
    assert served.get("/feeds/atom.xml", **{"If-None-Match": etag})[0] == 304
    status, headers, body = served.get("/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain") and headers["Cache-Control"] == "no-store"
    text = body.decode()
    requests = _samples(text, "feedsvc_http_requests_total")
    assert requests['feedsvc_http_requests_total{route="/feeds/atom.xml",status="200"}'] == n + 1
    assert requests['feedsvc_http_requests_total{route="/feeds/atom.xml",status="304"}'] == 1
    lookups = _samples(text, "feedsvc_cache_lookups_total")
    assert lookups['feedsvc_cache_lookups_total{layer="fastpath",result="hit"}'] >= 1
    renders = _samples(text, "feedsvc_render_seconds_count")
    assert 1 <= renders['feedsvc_render_seconds_count{format="atom"}'] <= 2  # once per worker at most
    posts = _samples(text, "feedsvc_content_posts")
    assert posts['feedsvc_content_posts{state="published"}'] == 4
    assert "feedsvc_content_age_seconds " in text and "feedsvc_content_version_loaded_timestamp_seconds" in text


@pytest.mark.slow
def test_reloads_are_counted_from_the_master(site: Any, tmp_path: Path) -> None:
    fill(site)
    server = Server(site.root, tmp_path / "gunicorn.out", FEEDSVC_RELOAD_INTERVAL="0.2")
    try:
        site.touch_later(site.post("2021-07-01-new", "New.", title="New", date="2021-07-01", categories=["statements"]))
        deadline = time.monotonic() + 30
        changed, published = 0.0, 0.0
        while time.monotonic() < deadline and not (changed and published == 5):
            time.sleep(0.3)
            try:
                text = server.get("/metrics")[2].decode()
            except OSError:  # workers being re-forked
                continue
            changed = _samples(text, "feedsvc_content_reload_seconds_count").get(
                'feedsvc_content_reload_seconds_count{changed="true"}', 0.0
            )
            published = _samples(text, "feedsvc_content_posts")['feedsvc_content_posts{state="published"}']
        assert changed >= 1 and published == 5
    finally:
        server.stop()


@pytest.mark.slow
def test_json_logs_one_object_per_line_with_request_id(site: Any, tmp_path: Path) -> None:
    fill(site)
    server = Server(site.root, tmp_path / "gunicorn.out", FEEDSVC_LOG_FORMAT="json", GUNICORN_ACCESSLOG="-")
    try:
        assert server.get("/feeds/atom.xml", **{"X-Request-ID": "probe-123"})[0] == 200
        assert server.get("/api/v1/posts?page=99")[0] == 404
    finally:
        server.stop()
    lines = [line for line in server.out.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    access = [r for r in records if r["logger"] == "gunicorn.access"]
    probe = [r for r in access if r["path"] == "/feeds/atom.xml"]
    assert probe and probe[0]["request_id"] == "probe-123" and probe[0]["status"] == 200
    assert isinstance(probe[0]["duration_ms"], float)
    other = [r for r in access if r["path"] == "/api/v1/posts"]
    assert other and other[0]["status"] == 404 and re.fullmatch(r"[0-9a-f]{16}", other[0]["request_id"])
    assert any(r["logger"] == "gunicorn.error" and "Booting worker" in r["message"] for r in records)


def _pss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise AssertionError("no Pss line")


@pytest.mark.slow
def test_distinct_queries_leave_memory_bounded(site: Any, tmp_path: Path) -> None:
    # 40 posts of ~6 KB that all hold the words w0..w99: every query "wI wJ" matches them
    # all, so each of the 10,000 distinct queries renders a full, distinct, large document.
    words = " ".join(f"w{i}" for i in range(100))
    for i in range(40):
        site.post(
            f"2021-01-{1 + i % 28:02d}-p{i}",
            f"{words}\n\n" + f"Paragraph {i} of the treaty text. " * 150,
            title=f"Post {i}",
            date=f"2021-01-{1 + i % 28:02d}",
            categories=["statements"],
        )
    # Memory, not the render budget, is measured: one client's 10,000 searches would spend it.
    server = Server(site.root, tmp_path / "gunicorn.out", workers=1, GUNICORN_ACCESSLOG="", FEEDSVC_RENDER_BUDGET="off")
    try:
        (worker,) = server.workers()

        def run(queries: range) -> None:
            def one(chunk: range) -> None:
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                try:
                    for k in chunk:
                        path = (
                            f"/api/v1/posts?per_page=10&q=w{k % 100}+w{k // 100 % 100}+{'w1+' * (k // 10000)}"
                            if k % 2
                            else f"/feeds/feed.json?q=w{k % 100}+w{(k // 100) % 100}"
                        )
                        conn.request("GET", path)
                        resp = conn.getresponse()
                        resp.read()
                        assert resp.status == 200, (path, resp.status)
                finally:
                    conn.close()

            step = len(queries) // 4
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(one, [queries[i * step : (i + 1) * step] for i in range(4)]))

        run(range(0, 400))  # warm up: the allocator's arenas and every cache's steady state
        start = _pss_kb(worker)
        run(range(400, 10_400))
        end = _pss_kb(worker)
        assert server.workers() == [worker], "the same worker served every query"
    finally:
        server.stop()
    print(f"worker PSS after warm-up {start / 1024:.1f} MB, after 10,000 distinct queries {end / 1024:.1f} MB")
    assert end - start < 50 * 1024, f"PSS grew from {start // 1024} MB to {end // 1024} MB"
