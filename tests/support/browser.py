"""Debian's headless Chromium (selenium + chromedriver, offline) and loopback WSGI servers for its pages.

The ``browser`` fixture (tests/conftest.py) starts one Chromium per module with ``chromium``.
Screenshots go to tests/artifacts/ (ignored by git).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
WSGI = Callable[[dict[str, Any], Callable[..., Any]], Any]


def missing_chromium() -> list[str]:
    """The Debian browser binaries that are not installed."""
    return [p for p in (CHROMIUM, CHROMEDRIVER) if not (os.path.exists(p) and os.access(p, os.X_OK))]


@contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """Headless Chromium with a fresh profile in ``profile``, an en-GB reader; selenium-manager never downloads."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # belt and braces: selenium-manager must stay offline
    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1000",
        "--lang=en-GB",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    # A fixed reader locale (Intl's default), so locale-formatted dates can be checked exactly.
    driver.execute_cdp_cmd("Emulation.setLocaleOverride", {"locale": "en-GB"})
    try:
        yield driver
    finally:
        driver.quit()


class Server:
    """A threaded werkzeug server for a WSGI app on a free 127.0.0.1 port."""

    def __init__(self, app: WSGI | None = None) -> None:
        self.app = app
        self.httpd = make_server("127.0.0.1", 0, self._dispatch, threaded=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _dispatch(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


def static_pages(pages: dict[str, tuple[str, dict[str, str]]]) -> WSGI:
    """A WSGI app answering each path in ``pages`` with its HTML and extra headers."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        page = pages.get(environ["PATH_INFO"])
        if page is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        html, headers = page
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), *headers.items()])
        return [html.encode("utf-8")]

    return app


def make_service(content_dir: Path) -> Server:
    """A server running feedsvc over ``content_dir`` with base_url set to its own origin."""
    from feedsvc import create_app

    server = Server()
    app = create_app({"CONTENT_DIR": str(content_dir), "RELOAD_INTERVAL": 0, "CACHE_TYPE": "SimpleCache", "BASE_URL": server.url})
    server.app = app
    return server


def open_page(driver: Any, url: str, widgets: int | None = None) -> None:
    """Load ``url`` and wait until every widget on it has settled (ready or failed)."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # drop earlier pages' messages
    driver.get(url)
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script(
            "var w = document.querySelectorAll('[data-feedsvc]');"
            "return w.length > 0 && Array.prototype.every.call(w, function (e) { return e.dataset.feedsvcState; });"
        )
    )
    if widgets is not None:
        assert driver.execute_script("return document.querySelectorAll('[data-feedsvc]').length") == widgets


def screenshot(driver: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    assert driver.save_screenshot(str(path))
    assert path.stat().st_size > 1000
    return path
