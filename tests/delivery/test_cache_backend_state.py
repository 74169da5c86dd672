"""A failing cache backend is logged once per change of state (a full Redis no longer flaps the log)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import pytest
import redis
from support.http_kit import fill
from support.redis_server import RedisServer

from feedsvc import caching
from feedsvc.caching import render_cache

pytestmark = pytest.mark.redis
URLS = ["/feeds/atom.xml", "/feeds/categories/statements/rss.xml", "/api/v1/posts", "/"]


def _states(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage().split(" (")[0].split(";")[0] for r in caplog.records if r.name == "feedsvc.cache"]


def test_full_redis_then_down_then_back_logs_each_change_once(
    site: Any, make_app: Any, private_redis: RedisServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(site)
    monkeypatch.setattr(caching, "RETRY_AFTER", 0.05)
    app = make_app(
        CACHE_TYPE="RedisCache", CACHE_REDIS_URL=private_redis.url, CACHE_KEY_PREFIX=f"t-{uuid.uuid4().hex}:", CACHE_LOCAL_BYTES=0
    )
    client = app.test_client()
    admin = redis.Redis.from_url(private_redis.url)
    caplog.set_level(logging.WARNING, logger="feedsvc.cache")

    def rounds(n: int) -> None:
        for _ in range(n):
            for url in URLS:
                assert client.get(url, headers={"Accept-Encoding": "gzip"}).status_code == 200
            time.sleep(0.06)  # past RETRY_AFTER: each round tries the backend again

    rounds(2)
    assert _states(caplog) == []
    admin.flushdb()  # every document is rendered and written again
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", "1")  # full: every write is refused (OOM), reads still answer
    rounds(5)
    assert _states(caplog) == ["cache backend refusing writes"], "refused writes are one state, not a flap"
    assert render_cache(app).backend_state == "refusing writes"
    admin.config_set("maxmemory", "0")
    rounds(2)
    private_redis.stop()
    rounds(3)
    private_redis.start()  # same port, empty
    rounds(2)
    assert _states(caplog) == [
        "cache backend refusing writes",
        "cache backend is back",
        "cache backend failing",
        "cache backend is back",
    ]
