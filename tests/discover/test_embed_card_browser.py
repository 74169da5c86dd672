"""The oEmbed card rendered by Chromium inside <iframe sandbox> on another origin, its title visible."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


class Server:
    """A threaded werkzeug server on a free loopback port for whatever WSGI app ``app`` is."""

    def __init__(self, app: Any = None) -> None:
        self.app = app
        self.httpd = make_server("127.0.0.1", 0, lambda e, s: self.app(e, s), threaded=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"

    def __enter__(self) -> Server:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def static_pages(pages: dict[str, tuple[str, dict[str, str]]]) -> Any:
    """A partner site: each path answers its HTML."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        html, headers = pages[environ["PATH_INFO"]]
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), *headers.items()])
        return [html.encode("utf-8")]

    return app


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian's headless Chromium, driven like tests/test_embed_browser.py does (offline selenium)."""
    if not all(os.access(p, os.X_OK) for p in (CHROMIUM, CHROMEDRIVER)):
        pytest.skip("browser tests need Debian chromium + chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--window-size=1024,800",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_embed_card_visible_in_sandboxed_iframe(site, make_app, browser: Any) -> None:
    site.post("report", title="Report “launch” <&>", summary="What the report says.")
    with Server() as server:
        server.app = make_app(BASE_URL=server.url)
        with server.app.test_client() as c:
            html = c.get("/oembed", query_string={"url": f"{server.url}/posts/report"}).json["html"]
        page = f"<!doctype html><html><head><title>Partner</title></head><body>{html}</body></html>"
        with Server(static_pages({"/": (page, {})})) as partner:
            browser.get(partner.url + "/")
            frame = browser.find_element("css selector", "iframe")
            assert frame.get_attribute("sandbox")
            browser.switch_to.frame(frame)
            title = browser.find_element("css selector", "h1")
            assert title.is_displayed() and title.text == "Report “launch” <&>"
            assert title.size["height"] > 0
            browser.switch_to.default_content()
