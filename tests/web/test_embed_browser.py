"""The embed widget and the HTML pages in Debian's headless Chromium (selenium + chromedriver).

The service runs in a real HTTP server on one loopback port; partner pages are served
from a second loopback origin, so every API call is a real cross-origin request. A third
origin serves the same app with a broken API. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.browser import WSGI, Server, make_service, open_page, screenshot, static_pages
from support.site import SiteTree

pytestmark = pytest.mark.browser

SEED = Path(__file__).resolve().parents[2] / "content"
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


def broken_api(app: WSGI) -> WSGI:
    """The service with its API down (503), everything else (feeds, embed.js) working."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ["PATH_INFO"].startswith("/api/"):
            start_response(
                "503 Service Unavailable", [("Content-Type", "application/json"), ("Access-Control-Allow-Origin", "*")]
            )
            return [b'{"error": {"status": 503, "code": "unavailable", "message": "down"}}']
        return app(environ, start_response)

    return wrapped


def partner_page(title: str, body: str, script: str, styled: bool = True) -> str:
    """A partner's page with its own styles (to prove none leak either way)."""
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: Georgia, serif; color: rgb(20, 30, 40); margin: 2rem; max-width: 60rem; }}
.brand {{ color: rgb(0, 0, 128); font-family: "Courier New", monospace; }}
li {{ color: rgb(255, 0, 0); list-style-type: square; }}
a {{ color: rgb(0, 128, 0); }}
.grid {{ display: grid; grid-template-columns: 1fr 1fr; gap: 2rem; }}
</style></head><body>
<h1>Partner organisation</h1>
<ul id="host-list"><li>The partner's own list item</li></ul>
{body}
<script src="{script}" async></script>
</body></html>"""
    if not styled:  # a page under a strict CSP has no inline style of its own either
        page = page[: page.index("<style>")] + page[page.index("</style>") + len("</style>") :]
    return page


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seven statements, three events and an all-day one, one hostile post, one tagged post."""
    site = SiteTree(tmp_path_factory.mktemp("embed") / "content")
    for i in range(1, 8):
        site.post(
            f"s{i}",
            f"Statement body {i}.",
            title=f"Statement {i}",
            date=f"2021-04-0{i}",
            summary=f"Summary of statement {i}",
            tags=["CND"] if i in (2, 5) else [],
        )
    site.post("fr", "Corps.", title="Déclaration", date="2021-03-15", lang="fr")
    for i in range(1, 4):
        site.post(
            f"e{i}",
            "Come.",
            title=f"Event {i}",
            date=f"2021-03-0{i}",
            categories=["events"],
            summary=f"Summary of event {i}",
            event={"start": f"2021-05-0{i}T14:00:00+02:00", "location": f"Room {i}"},
        )
    # An all-day event (dates alone) in June: midnight in London is the evening before in UTC.
    site.post(
        "days",
        "Come.",
        title="Whole days",
        date="2021-01-01",
        categories=["events"],
        tags=["Whole days"],
        event={"start": "2021-06-01", "end": "2021-06-03", "location": "Vienna"},
    )
    site.post(
        "evil",
        "<script>window.__pwned=3</script>",
        title=HOSTILE,
        summary=HOSTILE,
        date="2021-02-01",
        categories=["publications"],
    )
    return site.root


@pytest.fixture(scope="module")
def service(content: Path) -> Iterator[Server]:
    with make_service(content) as server:
        yield server


@pytest.fixture(scope="module")
def failing(service: Server) -> Iterator[Server]:
    with Server(broken_api(service.app)) as server:  # type: ignore[arg-type]
        yield server


@pytest.fixture(scope="module")
def partner(service: Server, failing: Server) -> Iterator[Server]:
    js = f"{service.url}/embed.js"
    strict = {
        "Content-Security-Policy": f"default-src 'none'; script-src {service.url}; connect-src {service.url}; "
        f"style-src 'self'; img-src 'self'"
    }
    pages = {
        "/one.html": (
            partner_page(
                "One widget",
                '<div class="brand"><div id="w" data-feedsvc data-category='
                '"statements" data-limit="5" data-lang="en"></div></div>',
                js,
            ),
            {},
        ),
        "/two.html": (
            partner_page(
                "Two widgets",
                '<div class="grid"><section><h2>Statements</h2>'
                '<div id="a" data-feedsvc data-category="statements" data-limit="3"></div></section>'
                '<section><h2>Events</h2><div id="b" data-feedsvc data-category="events" '
                'data-limit="2" data-summary></div></section></div>'
                '<h2>Hostile</h2><div id="h" data-feedsvc data-category="publications" '
                "data-summary></div>"
                # The snippet pasted twice: the script must not fill a widget twice.
                f'<script src="{js}" async></script>',
                js,
            ),
            {},
        ),
        "/csp.html": (partner_page("Strict CSP", '<div id="w" data-feedsvc data-limit="4"></div>', js, styled=False), strict),
        "/failing.html": (
            partner_page(
                "Failing API",
                '<p>Before</p><div id="w" data-feedsvc data-category="statements"></div><p id="after">After</p>',
                f"{failing.url}/embed.js",
            ),
            {},
        ),
        "/filters.html": (
            partner_page(
                "Filters",
                '<div id="t" data-feedsvc data-tag="cnd" data-limit="5"></div>'
                '<div id="f" data-feedsvc data-category="statements" data-lang="fr"></div>',
                js,
            ),
            {},
        ),
        "/days.html": (
            partner_page("All day", '<div id="d" data-feedsvc data-tag="whole-days" data-lang="en"></div>', js),
            {},
        ),
        "/unknown.html": (
            partner_page(
                "Unknown category",
                '<div id="w" data-feedsvc data-category="no-such-thing">'
                '</div><div id="ok" data-feedsvc data-limit="1"></div>'
                '<div id="none" data-feedsvc data-category="empty"></div>',
                js,
            ),
            {},
        ),
    }
    with Server(static_pages(pages)) as server:
        yield server


READ = """
var host = document.getElementById(arguments[0]), root = host.shadowRoot;
function txt(n) { return n ? n.textContent : null; }
return {
  state: host.dataset.feedsvcState,
  label: root.querySelector('ul') && root.querySelector('ul').getAttribute('aria-label'),
  items: Array.prototype.map.call(root.querySelectorAll('li'), function (li) {
    var t = li.querySelector('.title'), d = li.querySelector('time.date'), ev = li.querySelector('.event');
    return {title: txt(t), href: t.getAttribute('href'), tag: t.tagName.toLowerCase(),
            date: d && d.getAttribute('datetime'), dateText: txt(d),
            summary: txt(li.querySelector('.summary')), event: txt(ev),
            eventStart: ev && ev.querySelector('time') && ev.querySelector('time').getAttribute('datetime')};
  }),
  fallback: root.querySelector('a.fallback-link') && root.querySelector('a.fallback-link').href,
  elements: Array.prototype.map.call(root.querySelectorAll('*'), function (e) { return e.tagName.toLowerCase(); })
};
"""


def widget(driver: Any, element_id: str) -> dict[str, Any]:
    """What a widget shows, read from its shadow root."""
    return driver.execute_script(READ, element_id)


def api_items(service: Server, path: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{service.url}{path}") as resp:  # loopback only
        return json.load(resp)["items"]


def csp_errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]


def test_widget_renders_the_right_posts_in_order(browser: Any, partner: Server, service: Server) -> None:
    open_page(browser, f"{partner.url}/one.html", widgets=1)
    w = widget(browser, "w")
    assert w["state"] == "ready"
    assert [i["title"] for i in w["items"]] == [f"Statement {n}" for n in (7, 6, 5, 4, 3)]
    expected = api_items(service, "/api/v1/categories/statements/posts?per_page=5&lang=en")
    assert [i["href"] for i in w["items"]] == [p["url"] for p in expected]
    assert [i["href"] for i in w["items"]][0] == f"{service.url}/posts/s7"
    assert [i["date"] for i in w["items"]] == [p["date_published"] for p in expected]
    assert w["items"][0]["dateText"] == "7 April 2021"  # the reader's locale (en-GB), the date as published
    assert all(i["tag"] == "a" and i["summary"] is None for i in w["items"])
    assert w["label"] == "Latest posts"
    styles = browser.execute_script("""
        var root = document.getElementById('w').shadowRoot;
        var a = root.querySelector('a.title'), li = root.querySelector('li');
        var host = document.querySelector('#host-list li');
        return {titleColor: getComputedStyle(a).color, titleFont: getComputedStyle(a).fontFamily,
                liColor: getComputedStyle(li).color, liStyle: getComputedStyle(li).listStyleType,
                hostLiStyle: getComputedStyle(host).listStyleType, hostLiBorder: getComputedStyle(host).borderBottomStyle};
    """)
    # Inherits the host element's font and colour; the host's own li/a rules do not get in...
    assert styles["titleColor"] == "rgb(0, 0, 128)" and "Courier New" in styles["titleFont"]
    assert styles["liColor"] == "rgb(0, 0, 128)" and styles["liStyle"] == "none"
    # ...and the widget's rules do not get out.
    assert styles["hostLiStyle"] == "square" and styles["hostLiBorder"] == "none"
    screenshot(browser, "embed-one-widget.png")


def test_two_widgets_hostile_title_and_screenshot(browser: Any, partner: Server) -> None:
    open_page(browser, f"{partner.url}/two.html", widgets=3)
    a, b, h = widget(browser, "a"), widget(browser, "b"), widget(browser, "h")
    assert [i["title"] for i in a["items"]] == ["Statement 7", "Statement 6", "Statement 5"]
    assert all(i["summary"] is None and i["event"] is None for i in a["items"])
    assert [i["title"] for i in b["items"]] == ["Event 3", "Event 2"]
    assert [i["summary"] for i in b["items"]] == ["Summary of event 3", "Summary of event 2"]
    assert [i["eventStart"] for i in b["items"]] == ["2021-05-03T14:00:00+02:00", "2021-05-02T14:00:00+02:00"]
    assert "Room 3" in b["items"][0]["event"]
    # The hostile title and summary are text: no element was created from them, nothing ran.
    assert [i["title"] for i in h["items"]] == [HOSTILE]
    assert h["items"][0]["summary"] == HOSTILE
    assert "img" not in h["elements"] and "script" not in h["elements"]
    assert set(h["elements"]) <= {"ul", "li", "a", "span", "time", "p", "style"}
    assert browser.execute_script("return typeof window.__pwned") == "undefined"
    assert browser.execute_script("return document.querySelectorAll('img').length") == 0
    shot = screenshot(browser, "embed-partner-page.png")
    assert shot.exists()


def test_widget_works_under_a_strict_partner_csp(browser: Any, partner: Server) -> None:
    open_page(browser, f"{partner.url}/csp.html", widgets=1)
    w = widget(browser, "w")
    assert len(w["items"]) == 4
    # Its styles apply even though the page forbids inline style (constructed stylesheet).
    assert (
        browser.execute_script(
            "return getComputedStyle(document.getElementById('w').shadowRoot.querySelector('ul')).listStyleType"
        )
        == "none"
    )
    assert csp_errors(browser) == []


def test_tag_and_language_filters(browser: Any, partner: Server) -> None:
    open_page(browser, f"{partner.url}/filters.html", widgets=2)
    assert [i["title"] for i in widget(browser, "t")["items"]] == ["Statement 5", "Statement 2"]
    assert [i["title"] for i in widget(browser, "f")["items"]] == ["Déclaration"]


def test_all_day_event_shows_its_date_as_written(browser: Any, partner: Server) -> None:
    """An all-day event is a calendar date, like a publication date: never moved to the reader's zone
    (00:00 in London was shown as 31 May, 23:00 to a reader in UTC)."""
    open_page(browser, f"{partner.url}/days.html", widgets=1)
    (item,) = widget(browser, "d")["items"]
    assert item["eventStart"] == "2021-06-01"
    assert item["event"] == "Event: 1 June 2021 · Vienna"


def test_failing_api_leaves_a_usable_link(browser: Any, partner: Server, failing: Server) -> None:
    open_page(browser, f"{partner.url}/failing.html", widgets=1)
    w = widget(browser, "w")
    assert w["state"] == "failed" and w["items"] == []
    assert w["fallback"] == f"{failing.url}/feeds/categories/statements/atom.xml"
    assert browser.find_element("id", "after").text == "After"  # the host page is intact
    with urllib.request.urlopen(w["fallback"]) as resp:  # loopback only
        assert resp.status == 200
        assert resp.headers.get_content_type() == "application/atom+xml"
    screenshot(browser, "embed-failing-api.png")


def test_unknown_category_fails_quietly_and_alone(browser: Any, partner: Server, service: Server) -> None:
    open_page(browser, f"{partner.url}/unknown.html", widgets=3)
    bad, ok, none = widget(browser, "w"), widget(browser, "ok"), widget(browser, "none")
    # A declared category with no posts yet is a finished, quiet widget, not a failure.
    assert none["state"] == "ready" and none["items"] == [] and "p" in none["elements"]
    assert bad["state"] == "failed" and bad["fallback"] == f"{service.url}/feeds/atom.xml"
    assert ok["state"] == "ready" and [i["title"] for i in ok["items"]] == ["Statement 7"]


@pytest.fixture(scope="module")
def seed_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real seed content (copied, so nothing touches the repository's tree)."""
    root = tmp_path_factory.mktemp("seed") / "content"
    shutil.copytree(SEED, root)
    with make_service(root) as server:
        yield server


def page_looks_styled(driver: Any) -> None:
    """The external stylesheet and script loaded under the service's strict CSP."""
    font = driver.execute_script("return getComputedStyle(document.body).fontFamily")
    assert "system-ui" in font, font
    assert csp_errors(driver) == []


def test_seed_pages_render_under_csp(browser: Any, seed_service: Server) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")
    browser.get(f"{seed_service.url}/")
    page_looks_styled(browser)
    assert browser.find_elements("css selector", "button.copy")[0].is_displayed()  # site.js ran
    assert len(browser.find_elements("css selector", "#latest h3 a")) == 5
    screenshot(browser, "home.png")
    # The subscribe section: every feed's URL with a working copy button and subscribe links.
    browser.execute_script(
        "document.querySelector('details.feed-group').open = true;document.getElementById('subscribe').scrollIntoView();"
    )
    field = browser.find_element("id", "feed-all-atom")
    assert field.get_property("value") == f"{seed_service.url}/feeds/atom.xml"
    screenshot(browser, "home-subscribe.png")
    button = field.find_element("xpath", "following-sibling::button")
    button.click()
    WebDriverWait(browser, 10).until(lambda d: d.find_element("id", "live-status").get_attribute("textContent"))
    assert browser.find_element("id", "live-status").get_attribute("textContent") == "Copied to the clipboard."
    browser.get(f"{seed_service.url}/posts/we-are-the-evidence-side-event")
    page_looks_styled(browser)
    assert browser.find_element("css selector", "section.event").is_displayed()
    screenshot(browser, "post-event.png")
    browser.get(f"{seed_service.url}/posts/statement-64th-cnd-plenary")
    page_looks_styled(browser)
    screenshot(browser, "post-statement.png")


def test_embed_builder_previews_and_builds_the_snippet(browser: Any, seed_service: Server) -> None:
    from selenium.webdriver.support.ui import Select, WebDriverWait

    open_page(browser, f"{seed_service.url}/embed")
    page_looks_styled(browser)
    Select(browser.find_element("id", "embed-category")).select_by_value("events")
    browser.find_element("id", "embed-summary").click()
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script(
            "var w = document.querySelector('#embed-preview [data-feedsvc]');"
            "return w && w.dataset.category === 'events' && w.dataset.feedsvcState === 'ready';"
        )
    )
    preview = browser.execute_script("""
        var root = document.querySelector('#embed-preview [data-feedsvc]').shadowRoot;
        return Array.prototype.map.call(root.querySelectorAll('li'), function (li) {
          return [li.querySelector('.title').textContent, !!li.querySelector('.summary'), !!li.querySelector('.event')];
        });""")
    assert preview == [
        ["'We Are the Evidence': Community-Led Responses on Decriminalisation, Harm Reduction and COVID-19", True, True]
    ]
    snippet = browser.find_element("id", "embed-snippet").get_property("value")
    assert 'data-category="events"' in snippet and "data-summary" in snippet
    assert f'<script src="{seed_service.url}/embed.js" async></script>' in snippet
    assert csp_errors(browser) == []
    screenshot(browser, "embed-builder.png")
