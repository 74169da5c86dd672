"""iCalendar feeds: one VEVENT per event post, named zones with VTIMEZONE, RFC 7986 refresh."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
from support.feeds_checks import check_json, populate

from feedsvc.extensions import state

BASE = "https://news.example.org"


def parse(body: bytes) -> icalendar.Calendar:
    """Parse strictly: CRLF line ends, folded lines of at most 75 octets, one VCALENDAR."""
    assert body.endswith(b"\r\n") and b"\n" not in body.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    return icalendar.Calendar.from_ical(body)


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/calendar.ics",
        "/feeds/categories/events/calendar.ics",
        "/feeds/categories/empty/calendar.ics",
        "/feeds/calendar.ics?lang=fr",
        "/feeds/tags/side-event/calendar.ics",
        "/feeds/tags/cnd/calendar.ics",
    ],
)
def test_calendars_parse(client, path):
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/calendar; charset=utf-8"
    cal = parse(r.data)
    assert cal["VERSION"] == "2.0" and str(cal["PRODID"]).startswith("-//feedsvc//")
    assert str(cal["X-WR-CALNAME"]) and str(cal["NAME"])
    refresh = cal["REFRESH-INTERVAL"]
    assert refresh.params["VALUE"] == "DURATION" and refresh.dt == timedelta(minutes=5)
    assert str(cal["X-PUBLISHED-TTL"]) == "PT5M"


def test_tag_calendar_lists_the_tags_events(client):
    cal = parse(client.get("/feeds/tags/side-event/calendar.ics").data)
    assert [str(e["SUMMARY"]) for e in cal.walk("VEVENT")] == ["Side event"]
    assert client.get("/feeds/tags/nope/calendar.ics").status_code == 404


def test_one_event_per_event_post(client):
    cal = parse(client.get("/feeds/calendar.ics").data)
    events = {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {"Side event", "Zoned event"}
    side = events["Side event"]
    assert str(side["UID"]).startswith("tag:example.org,2021:") and str(side["UID"]).endswith(":side-event")
    assert side["DTSTART"].dt == datetime(2021, 4, 12, 12, 0, tzinfo=UTC)
    # Written as UTC (…Z), never as a bare offset or an offset-named TZID.
    assert "TZID" not in side["DTSTART"].params and side["DTSTART"].to_ical().endswith(b"Z")
    assert side["DTEND"].dt == datetime(2021, 4, 12, 13, 30, tzinfo=UTC)
    assert side["DTSTAMP"].dt == datetime(2021, 3, 25, 0, 0, tzinfo=UTC)  # from content, not the clock
    assert str(side["LOCATION"]) == "Online"
    assert str(side["URL"]) == f"{BASE}/posts/side-event"
    desc = str(side["DESCRIPTION"])
    assert "https://example.org/register" in desc and "<" not in desc  # plain text
    zoned = events["Zoned event"]
    assert zoned["DTSTART"].params["TZID"] == "Europe/Vienna"
    assert zoned["DTSTART"].dt == datetime(2021, 5, 1, 7, 0, tzinfo=UTC)
    tzids = [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")]
    # Every TZID used has its VTIMEZONE, and the site's zone has one; no offset-named zones.
    assert tzids == ["Europe/London", "Europe/Vienna"] and cal.get_missing_tzids() == set()


def test_uid_stable_across_edits(site, make_app):
    populate(site)
    app = make_app()
    before = {str(e["SUMMARY"]): str(e["UID"]) for e in parse(app.test_client().get("/feeds/calendar.ics").data).walk("VEVENT")}
    site.post(
        "2021-03-25-side-event",
        "Edited.",
        title="Side event",
        date="2021-03-25",
        categories=["events"],
        updated="2021-03-30",
        event={"start": "2021-04-12T14:00:00+02:00", "location": "Online"},
    )
    from feedsvc.extensions import state

    state(app).live.refresh()
    cal = parse(app.test_client().get("/feeds/calendar.ics").data)
    after = {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}
    assert str(after["Side event"]["UID"]) == before["Side event"]
    # 2021-03-30 00:00 in the site zone (Europe/London, BST) is 23:00 UTC the day before.
    assert after["Side event"]["DTSTAMP"].dt == datetime(2021, 3, 29, 23, 0, tzinfo=UTC)


def test_vtimezone_covers_events_after_2038(site, make_app):
    site.post(
        "far",
        title="Far",
        date="2021-01-01",
        categories=["events"],
        event={"start": "2045-07-01T10:00:00", "timezone": "America/New_York"},
    )
    cal = parse(make_app().test_client().get("/feeds/calendar.ics").data)
    zones = {str(tz["TZID"]): tz for tz in cal.walk("VTIMEZONE")}
    assert sorted(zones) == ["America/New_York", "Europe/London"]  # the event's zone and the site's
    tz = zones["America/New_York"]
    # The zone's rules reach the event: 2045-07-01 10:00 New York (EDT) is 14:00 UTC.
    (ev,) = cal.walk("VEVENT")
    assert ev["DTSTART"].params["TZID"] == "America/New_York"
    assert tz.to_tz().utcoffset(datetime(2045, 7, 1, 10)) == timedelta(hours=-4)


def _read_as_icaljs(tz: icalendar.Timezone) -> list[tuple[datetime, timedelta]]:
    """The (UTC onset, offset) transitions of a VTIMEZONE as ical.js (Thunderbird, Nextcloud) and dateutil
    (vobject) read it: the DTSTART and the first value of each RDATE property of every sub-component."""
    onsets = []
    for sub in tz.subcomponents:
        before, after = sub["TZOFFSETFROM"].td, sub["TZOFFSETTO"].td
        rdates = sub.get("RDATE", [])
        locals_ = [sub["DTSTART"].dt] + [r.dts[0].dt for r in (rdates if isinstance(rdates, list) else [rdates])]
        onsets += [((when - before).replace(tzinfo=UTC), after) for when in locals_]
    return sorted(onsets)


@pytest.mark.parametrize(
    ("zone", "local"),
    [
        ("Europe/London", datetime(2021, 3, 27, 23, 30)),  # GMT, the night before the clocks go forward
        ("Europe/London", datetime(2021, 7, 1, 9, 0)),  # BST
        ("Europe/London", datetime(2021, 12, 1, 18, 0)),  # GMT again
        ("Australia/Lord_Howe", datetime(2021, 6, 1, 12, 0)),  # a half-hour DST zone, in its winter
        ("America/Sao_Paulo", datetime(2018, 12, 1, 12, 0)),  # DST the zone has since abolished
    ],
)
def test_vtimezone_is_read_alike_by_clients_reading_one_rdate_value(site, make_app, zone, local):
    """Each RDATE of a VTIMEZONE holds one date: ical.js and dateutil read only the first value of a
    multi-valued RDATE, and then placed every London event after 1973 in BST (an hour early in winter)."""
    site.post("ev", title="Ev", date="2021-01-01", categories=["events"], event={"start": local.isoformat(), "timezone": zone})
    cal = parse(make_app().test_client().get("/feeds/calendar.ics").data)
    (ev,) = cal.walk("VEVENT")
    assert ev["DTSTART"].params["TZID"] == zone
    (tz,) = [tz for tz in cal.walk("VTIMEZONE") if str(tz["TZID"]) == zone]
    for sub in tz.subcomponents:
        rdates = sub.get("RDATE", [])
        assert all(len(r.dts) == 1 for r in (rdates if isinstance(rdates, list) else [rdates]))
    offset = next(after for onset, after in reversed(_read_as_icaljs(tz)) if onset <= (local - after).replace(tzinfo=UTC))
    assert (local - offset).replace(tzinfo=UTC) == ev["DTSTART"].dt.astimezone(UTC)


@pytest.mark.parametrize(
    ("zone", "local", "instant"),
    [
        # 01:30 happens twice when London's clocks go back (BST, then GMT): RFC 5545 means the first,
        # ical.js (Thunderbird) reads the second.
        ("Europe/London", "2021-10-31T01:30:00", datetime(2021, 10, 31, 0, 30, tzinfo=UTC)),
        ("Australia/Lord_Howe", "2021-04-04T01:45:00", datetime(2021, 4, 3, 14, 45, tzinfo=UTC)),
    ],
)
def test_local_times_at_a_transition_are_written_in_utc(site, make_app, zone, local, instant):
    """A local time the zone has twice is written as UTC, so no client can read another instant."""
    site.post("ev", title="Ev", date="2021-01-01", categories=["events"], event={"start": local, "timezone": zone})
    ok = {"start": "2021-07-01T10:00:00", "timezone": zone}
    site.post("ok", title="Ok", date="2021-01-01", categories=["events"], event=ok)
    client = make_app().test_client()
    api = client.get("/api/v1/posts/ev").get_json()["event"]
    assert datetime.fromisoformat(api["start"]) == instant
    for path in ("/feeds/calendar.ics", "/posts/ev/event.ics"):
        events = {str(e["SUMMARY"]): e for e in parse(client.get(path).data).walk("VEVENT")}
        start = events["Ev"]["DTSTART"]
        assert "TZID" not in start.params and start.to_ical().endswith(b"Z") and start.dt == instant
        if "Ok" in events:  # an ordinary time keeps its zone
            assert events["Ok"]["DTSTART"].params["TZID"] == zone


def test_urls_are_uris_when_the_permalink_is_an_iri(site, make_app):
    """URL and SOURCE are of value type URI (RFC 5545 §3.3.13: RFC 3986, ASCII): a permalink on an IDN
    host with a non-ASCII path is written in its URI form."""
    site.write_site(permalink="https://пример.рф/новости/{slug}/")
    site.post("ev", title="Ev", date="2021-01-01", categories=["events"], event={"start": "2021-07-01T10:00:00Z"})
    cal = parse(make_app().test_client().get("/feeds/calendar.ics").data)
    (ev,) = cal.walk("VEVENT")
    uris = [str(ev["URL"]), str(cal["URL"]), str(cal["SOURCE"])]
    assert all(u.isascii() for u in uris), uris
    assert str(ev["URL"]) == "https://xn--e1afmkfd.xn--p1ai/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8/ev/"


@pytest.mark.parametrize(
    ("zone", "local", "shown", "instant"),
    [
        # 01:30 never happens when London's clocks go forward (01:00 GMT -> 02:00 BST): read with the offset
        # before the gap (RFC 5545 §3.3.5), it is 01:30 UTC, which London's clocks show as 02:30.
        ("Europe/London", "2021-03-28T01:30:00", "2021-03-28T02:30:00+01:00", datetime(2021, 3, 28, 1, 30, tzinfo=UTC)),
        # São Paulo went from 00:00 to 01:00.
        ("America/Sao_Paulo", "2018-11-04T00:30:00", "2018-11-04T01:30:00-02:00", datetime(2018, 11, 4, 3, 30, tzinfo=UTC)),
    ],
)
def test_a_skipped_wall_time_is_shown_as_the_clocks_show_it(site, make_app, zone, local, shown, instant):
    """An event time the zone skips (clocks going forward) is the time the clocks show then: the page,
    the API and the calendar say 02:30, never a wall time that did not exist."""
    site.post("ev", title="Ev", date="2021-01-01", categories=["events"], event={"start": local, "timezone": zone})
    client = make_app().test_client()
    assert client.get("/api/v1/posts/ev").get_json()["event"]["start"] == shown
    (ev,) = parse(client.get("/posts/ev/event.ics").data).walk("VEVENT")
    assert ev["DTSTART"].params["TZID"] == zone and ev["DTSTART"].dt.isoformat() == shown
    assert ev["DTSTART"].dt == instant


@pytest.mark.parametrize(
    ("event", "first", "after"),
    [
        ({"start": "2021-06-01", "end": "2021-06-03"}, date(2021, 6, 1), date(2021, 6, 4)),  # three days, the 3rd included
        ({"start": "2021-06-01"}, date(2021, 6, 1), date(2021, 6, 2)),  # one day
        ({"start": "2021-06-01", "timezone": "Asia/Tokyo"}, date(2021, 6, 1), date(2021, 6, 2)),
    ],
)
def test_an_event_given_by_dates_alone_is_an_all_day_event(site, make_app, event, first, after):
    """Dates without a time are whole days (RFC 5545 VALUE=DATE, DTEND exclusive): written as midnight in the
    site's zone, the event began at 01:00 or the evening before for readers elsewhere and lost its last day."""
    site.post("ev", "Join.", title="Ev", date="2021-01-01", categories=["events"], event={**event, "location": "Vienna"})
    client = make_app().test_client()
    for path in ("/feeds/calendar.ics", "/posts/ev/event.ics"):
        (ev,) = parse(client.get(path).data).walk("VEVENT")
        assert ev["DTSTART"].params.get("VALUE") == "DATE" and ev["DTSTART"].dt == first
        assert ev["DTEND"].params.get("VALUE") == "DATE" and ev["DTEND"].dt == after
        assert "00:00" not in str(ev["DESCRIPTION"])
    api = client.get("/api/v1/posts/ev").get_json()["event"]
    assert api["all_day"] is True and api["start"].startswith(first.isoformat())
    (item,) = check_json(client.get("/feeds/feed.json").data)["items"]
    assert item["_feedsvc"]["event"]["all_day"] is True
    # A time, even midnight, makes it a timed event.
    site.post("timed", title="Timed", categories=["events"], event={"start": "2021-06-01T00:00:00", "end": "2021-06-02"})
    state(client.application).live.refresh()
    (timed,) = [e for e in parse(client.get("/feeds/calendar.ics").data).walk("VEVENT") if str(e["SUMMARY"]) == "Timed"]
    assert isinstance(timed["DTSTART"].dt, datetime) and isinstance(timed["DTEND"].dt, datetime)
    assert "all_day" not in client.get("/api/v1/posts/timed").get_json()["event"]
