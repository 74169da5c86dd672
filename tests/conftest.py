"""Shared fixtures: content trees built per test, app, client, runner, a private Redis, a headless Chromium.

Plain helpers live in tests/support/; each area (tests/<area>/, a package) keeps its own fixtures in its conftest.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.redis_server import RedisServer
from support.site import SiteTree

# Index databases of the apps and servers the tests start go to a private cache directory
# (the default place is the user's cache directory, named from the content directory).
os.environ.setdefault("XDG_CACHE_HOME", __import__("tempfile").mkdtemp(prefix="feedsvc-test-cache-"))


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
        cfg = {"CONTENT_DIR": str(site.root), "RELOAD_INTERVAL": 0, "CACHE_TYPE": "SimpleCache", "RENDER_BUDGET": "off", **config}
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


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian's headless Chromium, one per module (skips visibly without it)."""
    from support.browser import chromium, missing_chromium

    missing = missing_chromium()
    if missing:
        pytest.skip(
            f"browser tests need Debian chromium + chromium-driver ({', '.join(missing)} missing); run `make system-deps` as root"
        )
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver
