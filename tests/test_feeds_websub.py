"""WebSub: after a reload, the hub receives hub.mode=publish for exactly the feeds that changed."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote

import pytest
from feeds_checks import populate

from feedsvc.extensions import state
from feedsvc.feeds.websub import Publisher

BASE = "https://news.example.org"
TAG = quote("наркополитика")


class Hub:
    """A local hub stand-in on 127.0.0.1 that records pings (and can fail the first few)."""

    def __init__(self, failures: int = 0) -> None:
        self.pings: list[dict[str, list[str]]] = []
        self.failures = failures
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                if hub.failures > 0:
                    hub.failures -= 1
                    self.send_response(503)
                else:
                    hub.pings.append(parse_qs(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def urls(self) -> list[str]:
        assert all(p["hub.mode"] == ["publish"] for p in self.pings)
        return [u for p in self.pings for u in p["hub.url"]]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub():
    h = Hub()
    yield h
    h.close()


def feeds(path: str, lang: str | None = None, formats=("atom.xml", "rss.xml", "feed.json")) -> set[str]:
    q = f"?lang={lang}" if lang else ""
    return {f"{BASE}{path}/{f}{q}" for f in formats}


def reload_and_wait(app) -> Publisher:
    state(app).live.refresh()
    pub = Publisher.for_app(app)
    assert pub.wait_idle(30), "pings did not finish"
    return pub


def test_only_changed_feeds_are_pinged(site, make_app, hub):
    site.write_site(websub_hub=hub.url)
    populate(site)
    app = make_app(WEBSUB_BACKOFF=0.01)
    assert app.test_client().get("/feeds/atom.xml").status_code == 200  # index loaded, listener subscribed
    # Edit the French statement (categories: statements; tags: CND, наркополитика).
    site.post("2021-04-16-declaration", "Une déclaration, corrigée.", title="Déclaration", date="2021-04-16",
              categories=["statements"], lang="fr", tags=["CND", "Наркополитика"])
    reload_and_wait(app)
    expected = set()
    for path in ("/feeds", "/feeds/categories/statements", "/feeds/tags/cnd", f"/feeds/tags/{TAG}"):
        expected |= feeds(path) | feeds(path, "fr")
    expected |= feeds("/feeds/languages/fr")  # the French feed's path-style URL too
    got = hub.urls()
    assert len(got) == len(set(got)), "each changed feed is pinged once"
    assert set(got) == expected
    # Nothing else: the English-only variants, the events category and every calendar are unchanged.
    assert not any("calendar.ics" in u or "lang=en" in u or "languages/en" in u or "events" in u for u in got)


def test_new_event_pings_calendars_and_new_tag(site, make_app, hub):
    site.write_site(websub_hub=hub.url)
    populate(site)
    app = make_app(WEBSUB_BACKOFF=0.01)
    state(app).live.current  # noqa: B018 (load the index so the listener is subscribed)
    site.post("2021-06-01-webinar", "Webinar.", title="Webinar", date="2021-06-01", categories=["events"],
              tags=["Webinars"], event={"start": "2021-06-10T12:00:00Z"})
    reload_and_wait(app)
    got = set(hub.urls())
    expected = (feeds("/feeds") | feeds("/feeds", "en") | feeds("/feeds/categories/events")
                | feeds("/feeds/categories/events", "en") | feeds("/feeds/tags/webinars")
                | feeds("/feeds/tags/webinars", "en") | feeds("/feeds/languages/en"))
    expected |= {f"{BASE}/feeds/calendar.ics", f"{BASE}/feeds/calendar.ics?lang=en",
                 f"{BASE}/feeds/categories/events/calendar.ics", f"{BASE}/feeds/categories/events/calendar.ics?lang=en",
                 f"{BASE}/feeds/tags/webinars/calendar.ics", f"{BASE}/feeds/tags/webinars/calendar.ics?lang=en",
                 f"{BASE}/feeds/languages/en/calendar.ics"}
    assert got == expected


def test_failed_pings_are_retried(site, make_app):
    hub = Hub(failures=2)
    try:
        site.write_site(websub_hub=hub.url)
        site.post("one", title="One", date="2021-01-01", lang="en")
        app = make_app(WEBSUB_BACKOFF=0.01, WEBSUB_RETRIES=5)
        state(app).live.current  # noqa: B018
        site.post("one", "Changed.", title="One", date="2021-01-01", lang="en")
        pub = reload_and_wait(app)
        assert set(hub.urls()) == feeds("/feeds") | feeds("/feeds/categories/statements") | \
            feeds("/feeds", "en") | feeds("/feeds/categories/statements", "en") | feeds("/feeds/languages/en")
        assert all(ok for _, _, ok in pub.sent)
    finally:
        hub.close()


def test_no_hub_no_pings(site, make_app, hub):
    populate(site)
    app = make_app()
    state(app).live.current  # noqa: B018
    site.post("2021-06-01-webinar", "Webinar.", title="Webinar", date="2021-06-01", categories=["events"])
    reload_and_wait(app)
    assert hub.pings == []


def test_reload_never_waits_for_the_hub(site, make_app):
    """The hub holds every ping until released; the reload (and requests) finish meanwhile."""
    release = threading.Event()
    hub = Hub()
    handler = hub.server.RequestHandlerClass
    original = handler.do_POST

    def held(self):
        release.wait(30)
        original(self)

    handler.do_POST = held
    try:
        site.write_site(websub_hub=hub.url)
        site.post("one", title="One", date="2021-01-01")
        app = make_app(WEBSUB_TIMEOUT=60.0)
        state(app).live.current  # noqa: B018
        site.post("two", title="Two", date="2021-01-02")
        state(app).live.refresh()  # returns although the hub has not answered
        assert app.test_client().get("/feeds/atom.xml").status_code == 200
        assert hub.pings == []
        pub = Publisher.for_app(app)
        assert not pub.wait_idle(0)  # still announcing in the background
        release.set()
        assert pub.wait_idle(30)
        assert f"{BASE}/feeds/atom.xml" in hub.urls()
    finally:
        release.set()
        hub.close()
