"""WebSub on the outbox queue: after a reload, the hub receives hub.mode=publish for exactly the feeds that changed."""

from __future__ import annotations

import threading
import time
from urllib.parse import quote

from support.feeds_checks import populate

from feedsvc.extensions import state
from feedsvc.outbox import outbox

from .support import BASE, Hub, drain, feeds, started

TAG = quote("наркополитика")


def test_only_changed_feeds_are_pinged(site, make_app, hub):
    site.write_site(websub_hub=hub.url)
    populate(site)
    app = started(make_app(WEBSUB_BACKOFF=0.01, WEBSUB_ALLOW_PRIVATE=True))
    assert app.test_client().get("/feeds/atom.xml").status_code == 200
    # Edit the French statement (categories: statements; tags: CND, наркополитика).
    site.post(
        "2021-04-16-declaration",
        "Une déclaration, corrigée.",
        title="Déclaration",
        date="2021-04-16",
        categories=["statements"],
        lang="fr",
        tags=["CND", "Наркополитика"],
    )
    drain(app)
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
    app = started(make_app(WEBSUB_BACKOFF=0.01, WEBSUB_ALLOW_PRIVATE=True))
    site.post(
        "2021-06-01-webinar",
        "Webinar.",
        title="Webinar",
        date="2021-06-01",
        categories=["events"],
        tags=["Webinars"],
        event={"start": "2021-06-10T12:00:00Z"},
    )
    drain(app)
    got = set(hub.urls())
    expected = (
        feeds("/feeds")
        | feeds("/feeds", "en")
        | feeds("/feeds/categories/events")
        | feeds("/feeds/categories/events", "en")
        | feeds("/feeds/tags/webinars")
        | feeds("/feeds/tags/webinars", "en")
        | feeds("/feeds/languages/en")
    )
    expected |= {
        f"{BASE}/feeds/calendar.ics",
        f"{BASE}/feeds/calendar.ics?lang=en",
        f"{BASE}/feeds/categories/events/calendar.ics",
        f"{BASE}/feeds/categories/events/calendar.ics?lang=en",
        f"{BASE}/feeds/tags/webinars/calendar.ics",
        f"{BASE}/feeds/tags/webinars/calendar.ics?lang=en",
        f"{BASE}/feeds/languages/en/calendar.ics",
    }
    assert got == expected


def test_failed_pings_are_retried(site, make_app):
    hub = Hub(failures=2)
    try:
        site.write_site(websub_hub=hub.url)
        site.post("one", title="One", date="2021-01-01", lang="en")
        app = started(make_app(WEBSUB_BACKOFF=0.01, WEBSUB_RETRIES=5, WEBSUB_ALLOW_PRIVATE=True))
        site.post("one", "Changed.", title="One", date="2021-01-01", lang="en")
        drain(app)
        assert set(hub.urls()) == feeds("/feeds") | feeds("/feeds/categories/statements") | feeds("/feeds", "en") | feeds(
            "/feeds/categories/statements", "en"
        ) | feeds("/feeds/languages/en")
        assert hub.failures == 0
        [status] = outbox(app).status()
        assert status.depth == 0 and status.last_error == "HTTP 503" and status.last_success
    finally:
        hub.close()


def test_no_hub_no_pings(site, make_app, hub):
    populate(site)
    app = started(make_app(WEBSUB_ALLOW_PRIVATE=True))
    site.post("2021-06-01-webinar", "Webinar.", title="Webinar", date="2021-06-01", categories=["events"])
    drain(app)
    assert hub.pings == []
    assert outbox(app).status() == []


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
        app = make_app(WEBSUB_ALLOW_PRIVATE=True)
        state(app).live.current
        box = outbox(app)
        box.sender.collect()  # the state it starts from (a first start sends nothing)
        assert box.sender.start()  # the background loop, as in the writer process
        site.post("two", title="Two", date="2021-01-02")
        state(app).live.refresh()  # returns although the hub has not answered
        assert app.test_client().get("/feeds/atom.xml").status_code == 200
        assert hub.pings == []
        release.set()
        deadline = time.monotonic() + 30
        while f"{BASE}/feeds/atom.xml" not in hub.urls():
            assert time.monotonic() < deadline, "the ping never arrived"
            time.sleep(0.02)
        box.sender.stop()
    finally:
        release.set()
        hub.close()


def test_private_hub_refused_unless_allowed(site, make_app, hub):
    """A hub on a loopback address gets nothing unless FEEDSVC_WEBSUB_ALLOW_PRIVATE is set."""
    site.write_site(websub_hub=hub.url)
    site.post("one", title="One", date="2021-01-01")
    app = started(make_app(WEBSUB_RETRIES=1))
    site.post("two", title="Two", date="2021-01-02")
    drain(app)
    assert hub.pings == []
    [status] = outbox(app).status()
    assert "private" in status.last_error and status.depth == 0
