"""Shared fixtures: content trees built per test, app, client, runner."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

# Index databases of the apps and servers the tests start go to a private cache directory
# (the default place is the user's cache directory, named from the content directory).
os.environ.setdefault("XDG_CACHE_HOME", __import__("tempfile").mkdtemp(prefix="feedsvc-test-cache-"))

SITE: dict[str, Any] = {
    "title": "Test Network",
    "subtitle": "Posts for tests",
    "base_url": "https://news.example.org",
    "id_authority": "example.org,2021",
    "language": "en",
    "timezone": "Europe/London",
    "author": {"name": "Test Network", "email": "press@example.org", "uri": "https://example.org/"},
    "rights": "© Test Network",
    "icon": "/icon.png",
    "logo": "/logo.png",
    "categories": {
        "statements": {"title": "Statements", "description": "Statements at UN meetings"},
        "events": {"title": "Events", "description": "Events"},
        "publications": {"title": "Publications", "description": "Reports"},
        "empty": {"title": "Empty", "description": "No posts yet"},
    },
}


class SiteTree:
    """A content directory under tmp_path that tests write posts into."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "posts").mkdir(parents=True, exist_ok=True)
        self.write_site()

    def write_site(self, **overrides: Any) -> Path:
        """Write site.yaml from SITE updated with ``overrides``."""
        data = {**SITE, **overrides}
        path = self.root / "site.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    def post(self, name: str, body: str = "Body text.", **front: Any) -> Path:
        """Write posts/<name>.md with front matter ``front`` (title/date/categories defaulted)."""
        front.setdefault("title", name.replace("-", " ").title())
        front.setdefault("date", "2021-04-01")
        front.setdefault("categories", ["statements"])
        path = self.root / "posts" / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        fm = yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
        path.write_text(f"---\n{fm}---\n{textwrap.dedent(body)}\n", encoding="utf-8")
        return path

    def raw(self, name: str, data: bytes | str) -> Path:
        """Write posts/<name> with exactly these bytes."""
        path = self.root / "posts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    def age(self, seconds: int = 3600) -> None:
        """Move every file's and directory's mtime ``seconds`` back (no sleeping for the clock)."""
        for path in [self.root, *self.root.rglob("*")]:
            st = path.stat()
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - seconds * 10**9))

    def touch_later(self, path: Path, seconds: float = 2.0) -> None:
        """Move a file's mtime forward so a rescan sees it changed, even within one tick."""
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + int(seconds * 1e9)))


@pytest.fixture
def site(tmp_path: Path) -> SiteTree:
    """An empty content tree with the test site.yaml."""
    return SiteTree(tmp_path / "content")


@pytest.fixture
def make_app(site: SiteTree) -> Callable[..., Any]:
    """Factory: an app serving ``site`` with config overrides (reload off unless asked)."""
    from feedsvc import create_app

    def _make(**config: Any) -> Any:
        # The render budget is timed in CPU: only the tests of it (tests/delivery) turn it on.
        cfg = {"CONTENT_DIR": str(site.root), "RELOAD_INTERVAL": 0, "CACHE_TYPE": "SimpleCache",
               "RENDER_BUDGET": "off", **config}
        app = create_app(cfg)
        app.testing = True
        return app

    return _make


@pytest.fixture
def app(make_app: Callable[..., Any]) -> Any:
    """An app over the (initially empty) ``site`` tree."""
    return make_app()


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    """The Flask test client."""
    with app.test_client() as c:
        yield c


@pytest.fixture
def runner(app: Any) -> Any:
    """The Flask CLI runner."""
    return app.test_cli_runner()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Nothing to modify; strict skips are enforced in pytest_runtest_makereport."""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """Under FEEDSVC_STRICT_SKIPS (set by .ci/run) a skipped test is a failure."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("FEEDSVC_STRICT_SKIPS") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped under FEEDSVC_STRICT_SKIPS (CI): {reason}"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """Our own redis-server on a free loopback port (never the shared 6379), stopped by PID."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: Any = None

    def start(self) -> None:
        """Start it and wait until it answers PING."""
        import shutil
        import subprocess
        import time

        import redis

        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        for _ in range(200):
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """Stop it and wait until it has exited."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    """A private Redis for this test, which it may stop and restart (skips visibly without redis-server)."""
    import shutil

    if not shutil.which("redis-server"):
        pytest.skip("no redis-server binary: cannot start a private Redis (make test installs it as root)")
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
