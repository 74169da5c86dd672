"""A rate-limiter Redis outage: requests keep answering, no request waits on it, logged once each way."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from feedsvc.ratelimit import STORAGE_TIMEOUT, limiter


def test_the_storage_client_gives_up_fast(make_app: Any) -> None:
    """A quarter of a second at most to connect or answer, and no retries (redis-py's default backoff took 1.3 s)."""
    app = make_app(RATELIMIT="100/minute", RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0")
    client = limiter(app).storage.storage  # the limits library's redis-py client
    options = client.connection_pool.connection_kwargs
    assert STORAGE_TIMEOUT <= 0.25
    assert options["socket_connect_timeout"] == STORAGE_TIMEOUT and options["socket_timeout"] == STORAGE_TIMEOUT
    assert client.get_retry().get_retries() == 0


@pytest.mark.redis
def test_outage_logged_once_and_recovery_once(make_app: Any, private_redis: Any, caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(RATELIMIT="1000/minute", RATELIMIT_STORAGE_URI=private_redis.url)
    urls = ["/api/v1/posts", "/feeds/atom.xml", "/api/v1/no-such-thing", "/"]
    codes: list[int] = []
    with app.test_client() as c, caplog.at_level(logging.INFO, logger="feedsvc.ratelimit"):
        codes += [c.get(u).status_code for u in urls]
        private_redis.stop()
        deadline = time.monotonic() + 1.5  # long enough for flask-limiter to probe the dead storage
        while time.monotonic() < deadline:
            codes += [c.get(u).status_code for u in urls]
            time.sleep(0.02)
        private_redis.start()
        deadline = time.monotonic() + 60  # probes back off 1, 2, 4 ... s: poll, bounded
        while time.monotonic() < deadline and not any("is back" in r.getMessage() for r in caplog.records):
            codes += [c.get(u).status_code for u in urls]
            time.sleep(0.05)
        codes += [c.get(u).status_code for u in urls]
    lines = [r.getMessage() for r in caplog.records if r.name == "feedsvc.ratelimit"]
    assert sum("unreachable" in m for m in lines) == 1, lines
    assert sum("is back" in m for m in lines) == 1, lines
    assert set(codes) == {200, 404}, sorted(set(codes))  # answered throughout: no 5xx, no 429
