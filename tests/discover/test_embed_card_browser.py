"""The oEmbed card rendered by Chromium inside <iframe sandbox> on another origin, its title visible."""

from __future__ import annotations

from typing import Any

import pytest
from support.browser import Server, static_pages

pytestmark = pytest.mark.browser


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
