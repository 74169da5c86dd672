"""Calendars hold events by event date (issue 15.1), read the way calendar apps read them.

A corpus of more than 50 event posts whose publication order is not their event order: old
posts announcing far-off events, recent reports of past events, newer posts without events.
Every calendar is parsed with icalendar and expanded with recurring-ical-events (what khal
and other apps do), never checked against raw bytes alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedsvc.content import Query, load_index

BASE = "https://news.example.org"
EVENTS = 61
CATS = ("events", "statements", "publications")
NEW_YORK = ZoneInfo("America/New_York")


def event_start(i: int) -> datetime:
    """Event i starts on a spread of dates from 2018 to 2031 (past and upcoming alike)."""
    return datetime(2018, 1, 1, 9, 0, tzinfo=UTC) + timedelta(days=(i * 83) % (14 * 365), hours=i % 7)


def published(i: int) -> date:
    """Publication dates in an order unrelated to the event dates (many far before the event)."""
    return date(2017, 1, 1) + timedelta(days=(i * 37) % 3000)


def fill(site: Any) -> dict[str, dict[str, Any]]:
    """EVENTS event posts and 80 newer posts without events; returns slug -> facts."""
    facts: dict[str, dict[str, Any]] = {}
    for i in range(EVENTS):
        slug = f"ev-{i:03d}"
        start = event_start(i)
        event: dict[str, Any] = {"start": start.isoformat(), "location": "Vienna"}
        if i % 10 == 0:  # a wall-clock time in a named zone: the same instant
            event = {"start": start.astimezone(NEW_YORK).replace(tzinfo=None).isoformat(), "timezone": "America/New_York"}
        facts[slug] = {
            "start": start,
            "cat": CATS[i % 3],
            "tags": ["meeting"] if i % 2 else ["side event"],
            "lang": "fr" if i % 5 == 0 else "en",
        }
        site.post(
            slug,
            f"Event {i}.",
            title=f"Event {i}",
            date=published(i).isoformat(),
            categories=[facts[slug]["cat"]],
            tags=facts[slug]["tags"],
            lang=facts[slug]["lang"],
            event=event,
        )
    for i in range(80):  # newer posts without events: by publication date they would crowd events out
        site.post(
            f"news-{i:03d}",
            f"News {i}.",
            title=f"News {i}",
            date=(date(2026, 1, 1) + timedelta(days=i)).isoformat(),
            categories=["events"],
        )
    return facts


def parse(body: bytes) -> icalendar.Calendar:
    """Strict RFC 5545 reading: CRLF, folded lines, at least one component, every TZID described."""
    assert body.endswith(b"\r\n") and b"\n" not in body.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    cal = icalendar.Calendar.from_ical(body)
    assert cal.subcomponents, "RFC 5545 §3.6: a VCALENDAR holds at least one component"
    assert cal.get_missing_tzids() == set()
    return cal


def expanded(cal: icalendar.Calendar) -> list[tuple[str, datetime]]:
    """(UID, start in UTC) of every occurrence, as a calendar app expands the calendar."""
    found = recurring_ical_events.of(cal).between(datetime(1900, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    return sorted((str(e["UID"]), e["DTSTART"].dt.astimezone(UTC)) for e in found)


def uid(slug: str) -> str:
    return f"tag:example.org,2021:{published(int(slug[3:])).isoformat()}:{slug}"


def expected(facts: dict[str, dict[str, Any]], size: int, page: int = 1, **match: str) -> list[str]:
    """Slugs of page ``page``: ranked by latest start (ties: slug), that page's slice, in start order."""
    chosen = [s for s, f in facts.items() if all((v in f["tags"]) if k == "tag" else f[k] == v for k, v in match.items())]
    ranked = sorted(chosen, key=lambda s: (facts[s]["start"], s))
    end = len(ranked) - (page - 1) * size
    return ranked[max(0, end - size) : max(0, end)]


@pytest.fixture
def corpus(site: Any) -> dict[str, dict[str, Any]]:
    return fill(site)


def test_the_whole_calendar_reaches_a_calendar_app(corpus, make_app):
    """khal imported 50 of 57 events: now every event is in the one subscribed document."""
    client = make_app().test_client()
    r = client.get("/feeds/calendar.ics")
    assert r.status_code == 200
    cal = parse(r.data)
    vevents = cal.walk("VEVENT")
    assert len(vevents) == EVENTS > 50
    assert expanded(cal) == sorted((uid(s), f["start"]) for s, f in corpus.items())
    # In start order (ties: slug), whatever the publication order.
    starts = [e["DTSTART"].dt.astimezone(UTC) for e in vevents]
    assert starts == sorted(starts)
    assert [str(e["SUMMARY"]) for e in vevents] == [f"Event {int(s[3:])}" for s in expected(corpus, 500)]
    # Upcoming and long-past events alike.
    assert min(starts).year == 2018 and max(starts).year >= 2031
    # The site's zone and the named event zone each have their VTIMEZONE (sorted).
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["America/New_York", "Europe/London"]


@pytest.mark.parametrize(
    "path, match",
    [
        ("/feeds/calendar.ics", {}),
        ("/feeds/categories/events/calendar.ics", {"cat": "events"}),
        ("/feeds/categories/statements/calendar.ics", {"cat": "statements"}),
        ("/feeds/tags/meeting/calendar.ics", {"tag": "meeting"}),
        ("/feeds/calendar.ics?lang=fr", {"lang": "fr"}),
    ],
)
def test_a_small_calendar_keeps_the_latest_events_and_pages_reach_older_ones(corpus, make_app, path, match):
    size = 7
    client = make_app(CALENDAR_SIZE=size).test_client()
    sep = "&" if "?" in path else "?"
    seen: list[str] = []
    page = 1
    while True:
        r = client.get(path if page == 1 else f"{path}{sep}page={page}")
        if r.status_code == 404:
            break
        assert r.status_code == 200 and page < 50
        cal = parse(r.data)
        assert ("older events, page" in str(cal["X-WR-CALNAME"])) == (page > 1)
        summaries = [str(e["SUMMARY"]) for e in cal.walk("VEVENT")]
        want = expected(corpus, size, page, **match)
        assert summaries == [f"Event {int(s[3:])}" for s in want], page
        assert len(summaries) == size or not expected(corpus, size, page + 1, **match)  # only the last is short
        seen += summaries
        page += 1
    assert page > 2  # the scope has more events than one small calendar
    total = expected(corpus, 10_000, **match)
    assert sorted(seen) == sorted(f"Event {int(s[3:])}" for s in total)  # every event on exactly one page
    assert len(seen) == len(set(seen))


def test_upcoming_events_are_never_pushed_out_by_older_posts(site, make_app):
    """Posts published long ago about events still to come keep their place in a full calendar."""
    for i in range(10):  # announced in 2019, held in 2030
        site.post(
            f"future-{i}",
            title=f"Future {i}",
            date="2019-01-01",
            categories=["events"],
            event={"start": f"2030-06-{i + 1:02d}T10:00:00Z"},
        )
    for i in range(30):  # published yesterday-ish, about past events
        site.post(
            f"report-{i:02d}",
            title=f"Report {i}",
            date=f"2026-11-{(i % 28) + 1:02d}",
            categories=["events"],
            event={"start": f"2020-03-{(i % 28) + 1:02d}T10:00:00Z"},
        )
    cal = parse(make_app(CALENDAR_SIZE=12).test_client().get("/feeds/categories/events/calendar.ics").data)
    titles = [str(e["SUMMARY"]) for e in cal.walk("VEVENT")]
    assert titles[-10:] == [f"Future {i}" for i in range(10)] and len(titles) == 12
    assert titles[:2] == ["Report 26", "Report 27"]  # the two latest of the past events (2020-03-27, -28)


def test_same_content_same_calendar_bytes(corpus, make_app, site):
    first = make_app().test_client().get("/feeds/calendar.ics")
    second = make_app().test_client().get("/feeds/calendar.ics")
    assert first.data == second.data and first.headers["ETag"] == second.headers["ETag"]
    # Editing a post without an event leaves every calendar's bytes alone.
    site.post("news-000", "Edited.", title="News 0", date="2026-01-01", categories=["events"])
    assert make_app().test_client().get("/feeds/calendar.ics").data == first.data


@pytest.mark.parametrize("timezone", ["Europe/London", "UTC", "America/New_York"])
def test_a_calendar_without_events_is_valid(site, make_app, timezone):
    """RFC 5545 forbids a VCALENDAR without a component: the site zone's VTIMEZONE is there."""
    site.write_site(timezone=timezone)
    site.post("no-event", title="No event", categories=["statements"])
    client = make_app().test_client()
    for path in ("/feeds/categories/empty/calendar.ics", "/feeds/calendar.ics", "/feeds/tags/nope/calendar.ics"):
        r = client.get(path)
        if path.startswith("/feeds/tags/"):
            assert r.status_code == 404
            continue
        cal = parse(r.data)
        assert cal.walk("VEVENT") == [] and expanded(cal) == []
        assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == [timezone]
        assert b"BEGIN:VTIMEZONE" in r.data and r.data.index(b"BEGIN:VTIMEZONE") > r.data.index(b"BEGIN:VCALENDAR")
    assert client.get("/feeds/categories/empty/calendar.ics?page=2").status_code == 404


def test_calendar_size_is_a_checked_setting(make_app):
    from feedsvc.config import ConfigError

    assert make_app().config["CALENDAR_SIZE"] == 500
    for bad in (0, -1, "many"):
        with pytest.raises(ConfigError, match="FEEDSVC_CALENDAR_SIZE"):
            make_app(CALENDAR_SIZE=bad)


# -- Index.events, through its public signature ------------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    posts=st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 5), st.booleans(), st.integers(0, 2), st.sampled_from(["en", "fr"])),
        max_size=14,
    ),
    limit=st.integers(0, 6),
    category=st.sampled_from([None, "events", "statements"]),
    tag=st.sampled_from([None, "t0", "t1"]),
    lang=st.sampled_from([None, "en", "fr"]),
)
def test_index_events_against_a_plain_scan(tmp_path_factory, posts, limit, category, tag, lang):
    from support.site import SiteTree

    site = SiteTree(tmp_path_factory.mktemp("c") / "content")
    for i, (day, start, has_event, t, lg) in enumerate(posts):
        front: dict[str, Any] = {
            "date": f"2021-01-{day + 1:02d}",
            "categories": [("events", "statements")[i % 2]],
            "tags": [f"t{t}"],
            "lang": lg,
        }
        if has_event:  # few distinct starts: ties are decided by slug
            front["event"] = {"start": f"2021-02-{start + 1:02d}T10:00:00Z"}
        site.post(f"p{i:02d}", **front)
    idx = load_index(site.root)
    query = Query(category=category, tag=tag, lang=lang)
    matches = [p for p in idx.query(query) if p.event is not None]
    ranked = sorted(matches, key=lambda p: (p.event.start, p.slug))
    want = ranked[max(0, len(ranked) - limit) :] if limit else []
    assert list(idx.events(query, limit)) == want
    if query == Query():
        assert list(idx.events(None, limit)) == want
    assert list(idx.events(query, limit)) == want  # the same answer again (memoised or not)


def test_index_events_default_limit_and_search(site):
    for i in range(3):
        site.post(f"e{i}", f"word{i} common", title=f"E{i}", event={"start": f"2030-01-0{i + 1}T10:00:00Z"})
    site.post("plain", "common")
    idx = load_index(site.root)
    assert [p.slug for p in idx.events()] == ["e0", "e1", "e2"]
    assert [p.slug for p in idx.events(Query(q="word1"))] == ["e1"]
    assert [p.slug for p in idx.events(Query(q="common"), limit=2)] == ["e1", "e2"]
