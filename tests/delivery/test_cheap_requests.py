"""Cheap requests stay cheap: search calendars are small, deep pages cannot evict polled documents."""

from __future__ import annotations

from typing import Any

import icalendar
import pytest

from feedsvc.caching import TAIL_PAGE, render_cache


def events(body: bytes) -> list[Any]:
    """The VEVENTs of a calendar, parsed by the icalendar library."""
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


def test_search_calendar_holds_far_fewer_events(site: Any, make_app: Any) -> None:
    for i in range(60):
        site.post(
            f"meeting-{i:02d}",
            "A public meeting.",
            title=f"Meeting {i}",
            date="2021-03-01",
            categories=["events"],
            event={"start": f"2021-{1 + i // 28:02d}-{1 + i % 28:02d}T10:00:00Z"},
        )
    client = make_app().test_client()
    whole = client.get("/feeds/calendar.ics")
    assert whole.status_code == 200 and len(events(whole.data)) == 60  # a subscribed calendar: up to 500
    search = client.get("/feeds/calendar.ics?q=meeting")
    assert search.status_code == 200
    found = events(search.data)
    assert len(found) == 50  # FEEDSVC_SEARCH_CALENDAR_SIZE: the latest-starting matches
    assert str(found[-1]["summary"]) == "Meeting 59"
    older = client.get("/feeds/calendar.ics?q=meeting&page=2")
    assert older.status_code == 200 and len(events(older.data)) == 10
    assert client.get("/feeds/calendar.ics?q=meeting&page=3").status_code == 404
    small = make_app(SEARCH_CALENDAR_SIZE=5).test_client()
    assert len(events(small.get("/feeds/categories/events/calendar.ics?q=meeting").data)) == 5


@pytest.mark.parametrize("setting", [0, "many", 10**6])
def test_bad_search_calendar_size_is_refused(make_app: Any, setting: Any) -> None:
    from feedsvc.config import ConfigError

    with pytest.raises(ConfigError, match="FEEDSVC_SEARCH_CALENDAR_SIZE"):
        make_app(SEARCH_CALENDAR_SIZE=setting)


def test_deep_pages_cannot_evict_polled_documents(site: Any, make_app: Any) -> None:
    """500 distinct deep API and feed pages later, the polled feeds and first pages are still cache hits."""
    for i in range(120):
        site.post(
            f"post-{i:03d}",
            "Some words. " * 40,
            date=f"2021-{1 + i // 28:02d}-{1 + i % 28:02d}",
            categories=["statements" if i % 2 else "publications"],
        )
    app = make_app(CACHE_LOCAL_BYTES=400_000, CACHE_ODD_BYTES=100_000)
    client = app.test_client()
    polled = [
        "/feeds/atom.xml",
        "/feeds/categories/statements/rss.xml",
        "/api/v1/posts",
        "/api/v1/posts?page=2",
        "/api/v1/categories/statements/posts?per_page=5",
    ]
    for url in polled:
        assert client.get(url).status_code == 200
    rc = render_cache(app)
    deep = [
        f"/api/v1/{scope}posts?per_page={n}&page={page}"
        for scope in ("", "categories/statements/")
        for n in range(1, 21)
        for page in range(TAIL_PAGE + 1, 121 // n + 1)
    ]
    deep = deep[:480] + [f"/feeds/atom.xml?page={page}" for page in (6, 7)]
    assert len(deep) >= 400
    for url in deep:
        assert client.get(url).status_code in (200, 404), url
    renders = rc.renders
    for url in polled:
        assert client.get(url).status_code == 200
    assert rc.renders == renders, "a polled document was evicted by deep pages"
    assert all(not r.odd for r in rc.main.lru.values()) and rc.odd.size <= 100_000
