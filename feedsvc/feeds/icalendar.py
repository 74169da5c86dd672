"""iCalendar writer (RFC 5545, RFC 7986): one VEVENT per event post, via the icalendar library.

Nothing reads the clock: DTSTAMP/LAST-MODIFIED are the post's ``updated`` date and CREATED
its publication date. Times are written in UTC, or in the named IANA zone the editor gave,
with its VTIMEZONE: never a bare offset as a TZID, which most calendar apps reject. The
site's zone always has its VTIMEZONE too, so a calendar with no event is still valid.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Timezone, vDuration
from icalendar import Event as VEvent

from ..urls import ascii_uri
from .document import FeedDoc
from .events import event_lines

PRODID = "-//feedsvc//feedsvc {version}//EN"


def _when(dt: datetime, zone: str | None) -> datetime:
    """RFC 5545 §3.3.5: form #3 (TZID of a named zone + VTIMEZONE), else form #2 (UTC).

    A local time the zone has twice (clocks going back) or never (going forward) is written in
    UTC: RFC 5545 means the first occurrence, but ical.js (Thunderbird) reads the second.
    """
    if zone:
        local = dt.astimezone(ZoneInfo(zone))
        if local.replace(fold=1 - local.fold).utcoffset() == local.utcoffset():
            return local
    return dt.astimezone(UTC)


def write(doc: FeedDoc) -> bytes:
    """The VCALENDAR for ``doc`` (CRLF line ends and folding as RFC 5545 requires)."""
    cal = Calendar()
    cal.add("prodid", PRODID.format(version=doc.generator[1]))
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("name", doc.title)  # RFC 7986 §5.1
    cal.add("x-wr-calname", doc.title)
    if doc.subtitle:
        cal.add("description", doc.subtitle)
        cal.add("x-wr-caldesc", doc.subtitle)
    # URL and SOURCE are URIs (RFC 5545 §3.3.13, RFC 3986): ASCII, an IDN host in IDNA form.
    cal.add("url", ascii_uri(doc.alternate_url))
    cal.add("source", ascii_uri(doc.self_url))  # RFC 7986 §5.8
    ttl = timedelta(seconds=max(60, doc.ttl_seconds))
    # RFC 7986 §5.7 REFRESH-INTERVAL;VALUE=DURATION, and its older Microsoft spelling.
    cal.add("refresh-interval", vDuration(ttl), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(ttl))
    for item in doc.items:
        post, ev = item.post, item.post.event
        if ev is None:
            continue
        ve = VEvent()
        ve.add("uid", post.id)  # the post id never changes, so calendar apps update in place
        ve.add("dtstamp", post.updated.astimezone(UTC))
        ve.add("created", post.date.astimezone(UTC))
        ve.add("last-modified", post.updated.astimezone(UTC))
        if ev.all_day:  # RFC 5545 §3.6.1: whole days are DATE values, DTEND the day after the last
            ve.add("dtstart", ev.start.date())
            ve.add("dtend", (ev.end or ev.start).date() + timedelta(days=1))
        else:
            ve.add("dtstart", _when(ev.start, ev.timezone))
            if ev.end is not None:
                ve.add("dtend", _when(ev.end, ev.timezone))
        ve.add("summary", post.title or post.slug)
        # Plain text: the event details, the summary and the link to the full post (calendar
        # apps show a note, not an article; the full text stays in the feeds).
        details = "\n".join(f"{k}: {v}" for k, v in event_lines(post))
        ve.add("description", "\n\n".join(filter(None, [details, post.summary, item.url])))
        if ev.location:
            ve.add("location", ev.location)
        ve.add("url", ascii_uri(item.url))
        for term in item.terms:
            ve.add("categories", [term.label])
        ve.add("status", "CONFIRMED")
        ve.add("transp", "OPAQUE")
        cal.add_component(ve)
    _add_timezones(cal, doc)
    ics: bytes = cal.to_ical()
    return ics


def _add_timezones(cal: Calendar, doc: FeedDoc) -> None:
    """A VTIMEZONE for the site's zone and for every zone an event names, in TZID order.

    The site's zone is always there: it is the publisher's home zone, and it keeps a
    calendar with no event valid (RFC 5545 §3.6: at least one component). The rules cover
    every event (the library's default range ends in 2038) and depend only on content;
    sorted, so the same content gives the same bytes (the library's own set order does not).
    """
    events = [i.post.event for i in doc.items if i.post.event is not None]
    tzids = sorted({doc.site.timezone, *(ev.timezone for ev in events if ev.timezone)})
    first = min([date(1970, 1, 1), *(ev.start.date() for ev in events)])
    last = date(max([2037, *((ev.end or ev.start).year for ev in events)]) + 1, 1, 1)
    zones = []
    for tzid in tzids:
        try:
            zones.append(_one_date_per_rdate(Timezone.from_tzid(tzid, first_date=first, last_date=last)))
        except ValueError:  # a zone the library cannot describe: events still carry their TZID
            continue
    cal.subcomponents[:0] = zones  # before the events that use them


def _one_date_per_rdate(tz: Timezone) -> Timezone:
    """``tz`` with every RDATE property holding one date.

    The library lists a rule's onsets in one multi-valued RDATE, which RFC 5545 allows, but
    ical.js (Thunderbird, Nextcloud) and dateutil (vobject) read only its first value: they
    placed every London event after 1973 in summer time. One date per property reads alike
    everywhere.
    """
    for sub in tz.subcomponents:
        rdates = sub.pop("RDATE", None)
        if rdates is None:
            continue
        for rdate in rdates if isinstance(rdates, list) else [rdates]:
            for one in rdate.dts:
                sub.add("rdate", one.dt)
    return tz
