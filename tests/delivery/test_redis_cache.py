"""RedisCache: instances share renders; a Redis that dies or hangs never costs a 5xx, and is used again."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from support.http_kit import fill
from support.redis_server import RedisServer

from feedsvc import caching
from feedsvc.caching import render_cache

pytestmark = pytest.mark.redis
URLS = ["/feeds/atom.xml", "/feeds/categories/statements/rss.xml", "/api/v1/posts", "/api/v1/posts/summit", "/"]


@pytest.fixture
def redis_url() -> Iterator[str]:
    """REDIS_URL if given, else a private redis-server."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    if not shutil.which("redis-server"):
        pytest.skip("no Redis: set REDIS_URL or install redis-server")
    server = RedisServer()
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def _redis_app(make_app: Any, url: str, prefix: str, **extra: Any) -> Any:
    return make_app(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=url, CACHE_KEY_PREFIX=prefix, **extra)


def _renders(app: Any) -> int:
    return int(render_cache(app).renders)


def test_two_instances_share_one_redis(site: Any, make_app: Any, redis_url: str) -> None:
    fill(site)
    prefix = f"test-{uuid.uuid4().hex}:"
    one, two = _redis_app(make_app, redis_url, prefix), _redis_app(make_app, redis_url, prefix)
    got = {}
    for url in URLS:
        for enc in ("identity", "gzip", "br"):
            r = one.test_client().get(url, headers={"Accept-Encoding": enc})
            assert r.status_code == 200
            got[url, enc] = (r.data, r.headers["ETag"])
    assert _renders(one) == len(URLS)
    keys = redis.Redis.from_url(redis_url).keys(f"{prefix}*")
    assert len(keys) == 3 * len(URLS)  # each document, plus its gzip and Brotli bytes
    for (url, enc), (data, etag) in got.items():
        r = two.test_client().get(url, headers={"Accept-Encoding": enc})
        assert (r.data, r.headers["ETag"]) == (data, etag)
    assert _renders(two) == 0  # every document came from the other instance's renders


def test_redis_stopped_mid_run_keeps_serving_and_recovers(
    site: Any, make_app: Any, private_redis: RedisServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(site)
    monkeypatch.setattr(caching, "RETRY_AFTER", 0.2)
    prefix = f"test-{uuid.uuid4().hex}:"
    app = _redis_app(make_app, private_redis.url, prefix, CACHE_LOCAL_BYTES=0)
    client = app.test_client()
    assert client.get("/feeds/atom.xml").status_code == 200

    private_redis.stop()
    caplog.set_level(logging.WARNING, logger="feedsvc.cache")
    for _ in range(3):
        for url in URLS:
            r = client.get(url, headers={"Accept-Encoding": "gzip"})
            assert r.status_code == 200, (url, r.status_code)
        time.sleep(0.25)  # past RETRY_AFTER: each round tries Redis again, and fails again
    failing = [r for r in caplog.records if "failing" in r.getMessage()]
    assert len(failing) == 1, "a failure burst is logged once"
    assert _renders(app) == 1 + 3 * len(URLS)

    private_redis.start()  # same port, empty
    time.sleep(0.25)
    assert client.get("/api/v1/posts").status_code == 200
    assert any("back" in r.getMessage() for r in caplog.records)
    other = _redis_app(make_app, private_redis.url, prefix)
    assert other.test_client().get("/api/v1/posts").status_code == 200
    assert _renders(other) == 0, "the cache is used again once Redis is back"


def test_hung_redis_costs_a_short_timeout_not_an_error(site: Any, make_app: Any, caplog: pytest.LogCaptureFixture) -> None:
    fill(site)
    with socket.socket() as hung:  # accepts connections (backlog) but never answers
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        url = f"redis://127.0.0.1:{hung.getsockname()[1]}/0"
        app = _redis_app(make_app, url, "hung:", CACHE_LOCAL_BYTES=0)
        backend = render_cache(app).backend
        kwargs = backend._write_client.connection_pool.connection_kwargs
        assert kwargs["socket_timeout"] <= 0.5 and kwargs["socket_connect_timeout"] <= 0.5
        caplog.set_level(logging.WARNING, logger="feedsvc.cache")
        client = app.test_client()
        for url_ in URLS:
            assert client.get(url_).status_code == 200
        assert len([r for r in caplog.records if "failing" in r.getMessage()]) == 1
