"""Per-client rate limiting: off by default; 429 + Retry-After; shared in Redis; fails open."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
from support.gunicorn_server import Server
from support.net import free_port
from support.redis_server import RedisServer

from feedsvc.ratelimit import StorageLog, limiter, retry_after, storage_uri

JSON_URLS = ["/api/v1/posts", "/api/v1/no-such-thing", "/feeds/atom.xml", "/feeds/no-such.xml"]


def hit(client: Any, url: str, addr: str = "203.0.113.7", **headers: str) -> Any:
    """One GET from client address ``addr``."""
    return client.get(url, headers=headers, environ_base={"REMOTE_ADDR": addr})


def assert_429(resp: Any, url: str) -> None:
    """A well-formed 429: Retry-After in delay-seconds, JSON error under /api and /feeds."""
    assert resp.status_code == 429, (url, resp.status_code)
    seconds = int(resp.headers["Retry-After"])
    assert 1 <= seconds <= 3601  # a whole window at most (flask-limiter rounds reset_at up)
    if url.startswith(("/api", "/feeds")):
        err = resp.get_json()["error"]
        assert err["status"] == 429 and err["code"] == "rate_limited"
        assert isinstance(err["message"], str) and err["message"]
    else:
        assert resp.mimetype == "text/plain"
    assert (
        "Cache-Control" not in resp.headers
        or "no-store" in resp.headers["Cache-Control"]
        or "public" not in resp.headers["Cache-Control"]
    )


def test_off_by_default(make_app: Any) -> None:
    app = make_app()
    assert limiter(app) is None
    with app.test_client() as c:
        codes = {hit(c, url).status_code for url in JSON_URLS * 30}
    assert 429 not in codes


@pytest.mark.parametrize("url", JSON_URLS + ["/no-such-page"])
def test_over_the_limit_is_429_with_retry_after(make_app: Any, url: str) -> None:
    with make_app(RATELIMIT="3/minute").test_client() as c:
        first = [hit(c, url).status_code for _ in range(3)]
        assert 429 not in first
        assert_429(hit(c, url), url)


def test_one_budget_across_routes_and_healthz_exempt(make_app: Any) -> None:
    with make_app(RATELIMIT="4/minute").test_client() as c:
        codes = [hit(c, url).status_code for url in JSON_URLS]
        assert 429 not in codes
        assert_429(hit(c, "/api/v1/posts"), "/api/v1/posts")
        for _ in range(10):
            assert hit(c, "/healthz").status_code == 200


def test_limits_are_per_client(make_app: Any) -> None:
    with make_app(RATELIMIT="2/minute").test_client() as c:
        for _ in range(2):
            hit(c, "/feeds/atom.xml", addr="198.51.100.1")
        assert hit(c, "/feeds/atom.xml", addr="198.51.100.1").status_code == 429
        assert hit(c, "/feeds/atom.xml", addr="198.51.100.2").status_code != 429


def test_x_forwarded_for_ignored_without_trusted_proxies(make_app: Any) -> None:
    with make_app(RATELIMIT="2/minute").test_client() as c:
        for i in range(2):
            hit(c, "/feeds/atom.xml", **{"X-Forwarded-For": f"192.0.2.{i}"})
        # a client cannot buy a fresh budget by inventing a forwarded address
        assert hit(c, "/feeds/atom.xml", **{"X-Forwarded-For": "192.0.2.99"}).status_code == 429


def test_trusted_proxy_hops_pick_the_client(make_app: Any) -> None:
    with make_app(RATELIMIT="2/minute", TRUSTED_PROXIES=1).test_client() as c:
        spoof = {"X-Forwarded-For": "6.6.6.6, 192.0.2.10"}  # leftmost is client-supplied: untrusted
        for _ in range(2):
            hit(c, "/feeds/atom.xml", addr="10.0.0.1", **spoof)
        assert hit(c, "/feeds/atom.xml", addr="10.0.0.1", **{"X-Forwarded-For": "7.7.7.7, 192.0.2.10"}).status_code == 429
        # another client behind the same proxy has its own budget
        assert hit(c, "/feeds/atom.xml", addr="10.0.0.1", **{"X-Forwarded-For": "192.0.2.11"}).status_code != 429


def test_storage_uri_defaults() -> None:
    assert storage_uri({"CACHE_TYPE": "SimpleCache"}) == "memory://"
    assert storage_uri({"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": "redis://h:1/2"}) == "redis://h:1/2"
    assert (
        storage_uri({"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": "redis://h:1/2", "RATELIMIT_STORAGE_URI": "memory://"})
        == "memory://"
    )
    assert storage_uri({"CACHE_TYPE": "SimpleCache", "RATELIMIT_STORAGE_URI": "unix:///tmp/r.sock"}) == "redis+unix:///tmp/r.sock"
    assert retry_after(100.2, now=100.0) == 1 and retry_after(130.0, now=100.0) == 30


@pytest.mark.redis
def test_budget_is_shared_through_redis(make_app: Any, private_redis: RedisServer) -> None:
    """Two app instances (two workers or hosts) with the cache's Redis share one budget."""
    import redis

    cfg = {
        "RATELIMIT": "3/minute",
        "CACHE_TYPE": "RedisCache",
        "CACHE_REDIS_URL": private_redis.url,
        "CACHE_KEY_PREFIX": "rltest:",
    }
    a, b = make_app(**cfg), make_app(**cfg)
    ca, cb = a.test_client(), b.test_client()  # no `with`: two apps' contexts must not nest
    assert hit(ca, "/api/v1/posts").status_code != 429
    assert hit(cb, "/api/v1/posts").status_code != 429
    assert hit(ca, "/api/v1/posts").status_code != 429
    assert_429(hit(cb, "/api/v1/posts"), "/api/v1/posts")
    keys = redis.Redis.from_url(private_redis.url).keys("*")
    assert any(k.startswith(b"rltest:ratelimit") or b"rltest:ratelimit" in k for k in keys), keys


@pytest.mark.redis
def test_redis_down_fails_open_and_recovers(make_app: Any, private_redis: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(RATELIMIT="5/minute", RATELIMIT_STORAGE_URI=private_redis.url)
    with app.test_client() as c:
        assert hit(c, "/api/v1/posts").status_code != 429
        private_redis.stop()
        with caplog.at_level(logging.WARNING, logger="feedsvc.ratelimit"):
            codes = [hit(c, url).status_code for url in JSON_URLS[:1]]
        assert all(code < 500 and code != 429 for code in codes), codes  # served, not blocked
        assert any(r.name == "feedsvc.ratelimit" and "unreachable" in r.getMessage() for r in caplog.records), (
            "the storage failure was not logged"
        )
        private_redis.start()
        # The limiter probes a dead storage with backoff (1 s, 2 s, ...): poll, bounded.
        codes: list[int] = []
        deadline = time.monotonic() + 60
        while 429 not in codes and time.monotonic() < deadline:
            codes.append(hit(c, "/api/v1/posts").status_code)
            time.sleep(0.1)
        assert 429 in codes, codes  # limiting is back once Redis is
        assert all(code < 500 for code in codes)


def test_unreachable_storage_from_the_start_serves(make_app: Any) -> None:
    """No 5xx: the worker counts in memory instead (its own budget), and /healthz stays exempt."""
    app = make_app(RATELIMIT="2/minute", RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")
    with app.test_client() as c:
        codes = [hit(c, "/api/v1/posts").status_code for _ in range(4)] + [hit(c, "/healthz").status_code]
    assert codes == [200, 200, 429, 429, 200], codes


def test_invalid_limit_is_a_startup_error(make_app: Any) -> None:
    from feedsvc.config import ConfigError

    with pytest.raises(ConfigError, match="FEEDSVC_RATELIMIT"):
        make_app(RATELIMIT="lots")


def test_env_variable_turns_it_on(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDSVC_RATELIMIT", "1/minute")
    with make_app().test_client() as c:
        hit(c, "/api/v1/posts")
        assert_429(hit(c, "/api/v1/posts"), "/api/v1/posts")


@pytest.mark.redis
@pytest.mark.slow
def test_real_gunicorn_workers_share_one_budget(site: Any, private_redis: RedisServer, tmp_path: Path) -> None:
    """Through gunicorn (shipped config, 3 workers, new connection each time): one budget in Redis."""
    import requests

    site.post("first", "Hello.")
    server = Server(
        site.root,
        tmp_path / "gunicorn.out",
        workers=3,
        FEEDSVC_CACHE_TYPE="RedisCache",
        FEEDSVC_CACHE_REDIS_URL=private_redis.url,
        FEEDSVC_RATELIMIT="6/hour",
    )
    try:
        port = server.port
        base = f"http://127.0.0.1:{port}"
        codes = [requests.get(base + "/api/v1/posts", headers={"Connection": "close"}, timeout=10).status_code for _ in range(12)]
        assert codes[:6] == [200] * 6 and codes[6:] == [429] * 6, codes
        resp = requests.get(base + "/feeds/atom.xml", timeout=10)
        assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 60
        assert resp.json()["error"]["code"] == "rate_limited"
        assert requests.get(base + "/healthz", timeout=10).status_code == 200
    finally:
        server.stop()


def test_storage_failures_are_logged_once_per_burst(caplog: pytest.LogCaptureFixture) -> None:
    handler = StorageLog(interval=30.0)

    def record(level: int, msg: str) -> logging.LogRecord:
        return logging.LogRecord("flask-limiter", level, __file__, 1, msg, None, None)

    with caplog.at_level(logging.INFO, logger="feedsvc.ratelimit"):
        for _ in range(3):  # concurrent requests may each report the one outage
            handler.emit(record(logging.WARNING, "Rate limit storage unreachable - falling back to in-memory storage"))
        handler.emit(record(logging.INFO, "Rate limit storage recovered"))
        handler.emit(record(logging.INFO, "Rate limit storage recovered"))
        for _ in range(5):
            handler.emit(record(logging.ERROR, "Failed to rate limit"))
        handler._last -= 31
        handler.emit(record(logging.ERROR, "Failed to rate limit"))
    lines = [r.getMessage() for r in caplog.records if r.name == "feedsvc.ratelimit"]
    assert [m for m in lines if "unreachable" in m] != [] and sum("unreachable" in m for m in lines) == 1
    assert sum("is back" in m for m in lines) == 1
    assert sum("Failed to rate limit" in m for m in lines) == 2 and "4 similar messages suppressed" in lines[-1]


def test_several_limits(make_app: Any) -> None:
    with make_app(RATELIMIT="100/second;3/hour").test_client() as c:
        assert [hit(c, "/feeds/atom.xml").status_code != 429 for _ in range(3)] == [True] * 3
        resp = hit(c, "/feeds/atom.xml")
        assert_429(resp, "/feeds/atom.xml")
        assert int(resp.headers["Retry-After"]) > 60  # the hourly window, not the per-second one


def test_dead_storage_is_not_asked_again_on_every_request(make_app: Any) -> None:
    """After the first failure the limiter counts in memory: requests stop waiting on the storage."""
    from unittest import mock

    app = make_app(RATELIMIT="1/minute", RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")
    lim = limiter(app)
    with app.test_client() as c:
        hit(c, "/api/v1/posts")
        with mock.patch.object(lim._limiter, "hit", side_effect=AssertionError("storage asked")) as spy:
            codes = [hit(c, "/api/v1/posts").status_code for _ in range(5)]
        assert spy.call_count == 0 and all(code < 500 for code in codes), codes  # counted in memory meanwhile


@pytest.mark.parametrize(
    "limit,window", [("2/second", 1), ("3/minute", 60), ("2/2 minutes", 120), ("3/hour", 3600), ("4/minute;2/second", 1)]
)
def test_retry_after_matches_the_window(make_app: Any, limit: str, window: int) -> None:
    client = make_app(RATELIMIT=limit).test_client()
    answers = [client.get("/feeds/atom.xml") for _ in range(6)]
    refused = [r for r in answers if r.status_code == 429]
    assert refused
    for resp in refused:
        # Within the window just opened: never more than the window (a 1-hour limit once said 3601).
        assert window // 2 <= int(resp.headers["Retry-After"]) <= window
    assert retry_after(3601.0, now=0.0, window=3600) == 3600 and retry_after(0.2, now=0.0, window=60) == 1
