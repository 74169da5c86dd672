"""Every front matter value that reaches an output is valid for it, or the post is reported and not published.

Issue 18: a valid-looking date, zone, URL or text took down feeds, calendars, archives or the
whole site while /healthz said ok. Each case here goes through the real interface: every route
answers below 500, /healthz and ``flask content check`` name the file and field, and the other
posts stay served.
"""

from __future__ import annotations

from typing import Any

import feedparser
import icalendar
import pytest

from feedsvc.content.values import LOCATION_MAX, NAME_MAX, SUMMARY_MAX, TAG_MAX, TITLE_MAX

from .hostile_kit import assert_cli_names, assert_served, fetch_all, write_good

EV = "2021-05-01T10:00:00Z"

# (id, front matter of posts/bad.md, field named, years whose archives the bad value could reach)
CASES: list[tuple[str, dict[str, Any], str, tuple[int, ...]]] = [
    # -- dates and event times: the window, whole-minute offsets, IANA zones, end after start --
    ("date-9999-12-31", {"date": "9999-12-31"}, "date", (9999,)),
    ("instant-past-9999-utc", {"date": "9999-12-31T23:00:00-05:00"}, "date", (9999,)),
    ("updated-past-9999", {"updated": "9999-12-31T23:59:00-10:00"}, "updated", (2021,)),
    ("year-one-offset", {"date": "0001-01-01T00:00:00+23:59"}, "date", (1,)),
    ("year-before-1000", {"date": "0999-06-01"}, "date", (999,)),
    ("event-in-9999", {"event": {"start": "9999-06-01T10:00:00Z"}}, "event.start", (2021,)),
    ("event-end-past-9999", {"event": {"start": EV, "end": "9999-12-31T23:59:00-12:00"}}, "event.end", (2021,)),
    # 05:00 on 1 January 1000 at UTC+14 is still 999 in UTC.
    (
        "event-before-1000-in-utc",
        {"event": {"start": "1000-01-01T05:00", "timezone": "Pacific/Kiritimati"}},
        "event.start",
        (2021,),
    ),
    ("offset-with-seconds", {"date": "2021-04-01T10:00:00+01:00:30"}, "date", (2021,)),
    ("event-offset-with-seconds", {"event": {"start": "2021-05-01T10:00:00+00:00:01"}}, "event.start", (2021,)),
    ("zone-localtime", {"event": {"start": EV, "timezone": "localtime"}}, "event.timezone", (2021,)),
    ("zone-posix", {"event": {"start": EV, "timezone": "posix/Europe/London"}}, "event.timezone", (2021,)),
    ("zone-right", {"event": {"start": EV, "timezone": "right/UTC"}}, "event.timezone", (2021,)),
    ("zone-factory", {"event": {"start": EV, "timezone": "Factory"}}, "event.timezone", (2021,)),
    # 10:00 in New York is 14:00Z: an end at 12:00Z is before it (compared in UTC as written, it was after).
    (
        "end-before-start-with-timezone",
        {"event": {"start": "2021-05-01T10:00", "end": "2021-05-01T12:00:00+00:00", "timezone": "America/New_York"}},
        "event.end",
        (2021,),
    ),
    (
        "end-before-start-offsets",
        {"event": {"start": "2021-05-01T10:00:00+02:00", "end": "2021-05-01T07:00:00Z"}},
        "event.end",
        (2021,),
    ),
    ("end-before-start-dates", {"event": {"start": "2021-05-02", "end": "2021-05-01"}}, "event.end", (2021,)),
    # -- URL fields: the body's scheme allow-list, no spaces or control characters --
    ("image-vertical-tab", {"image": "https://cdn.example.org/a\vb.png"}, "image", (2021,)),
    ("image-escape", {"image": "/img/\x1b.png"}, "image", (2021,)),
    ("image-javascript", {"image": "javascript:alert(1)"}, "image", (2021,)),
    ("image-data", {"image": "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4="}, "image", (2021,)),
    ("image-space", {"image": "/img/a b.png"}, "image", (2021,)),
    (
        "attachment-escape",
        {"attachments": [{"url": "/f/\x1b.pdf", "mime_type": "application/pdf"}]},
        "attachments.0.url",
        (2021,),
    ),
    (
        "attachment-javascript",
        {"attachments": [{"url": "JavaScript:alert(1)", "mime_type": "application/pdf"}]},
        "attachments.0.url",
        (2021,),
    ),
    (
        "attachment-data",
        {"attachments": [{"url": "data:text/html,<script>x</script>", "mime_type": "text/html"}]},
        "attachments.0.url",
        (2021,),
    ),
    ("event-url-escape", {"event": {"start": EV, "url": "https://example.org/\x1bx"}}, "event.url", (2021,)),
    ("event-url-vertical-tab", {"event": {"start": EV, "url": "https://example.org/a\vb"}}, "event.url", (2021,)),
    ("author-uri-javascript", {"author": {"name": "A", "uri": "javascript:alert(1)"}}, "author.uri", (2021,)),
    ("author-uri-escape", {"author": {"name": "A", "uri": "https://example.org/\x1b"}}, "author.uri", (2021,)),
    # -- text: bidi controls and invisible-only values refused, lengths capped --
    ("title-zero-width-only", {"title": "\u200b\u200c\u200d\u2060"}, "title", (2021,)),
    ("title-hangul-filler", {"title": "\u3164\u3164"}, "title", (2021,)),
    ("title-rlo", {"title": "Statement \u202egnp.exe"}, "title", (2021,)),
    ("title-isolate", {"title": "\u2066x\u2069"}, "title", (2021,)),
    ("title-too-long", {"title": "t" * (TITLE_MAX + 1)}, "title", (2021,)),
    ("tag-rlo", {"tags": ["fine", "\u202dx"]}, "tags.1", (2021,)),
    ("tag-zero-width", {"tags": ["\u200b"]}, "tags.0", (2021,)),
    ("tag-too-long", {"tags": ["t" * (TAG_MAX + 1)]}, "tags.0", (2021,)),
    ("summary-too-long", {"summary": "s" * (SUMMARY_MAX + 1)}, "summary", (2021,)),
    ("summary-zero-width", {"summary": "\u200b"}, "summary", (2021,)),
    ("author-name-too-long", {"author": "n" * (NAME_MAX + 1)}, "author", (2021,)),
    ("author-name-rlo", {"author": {"name": "\u202eadmin"}}, "author.name", (2021,)),
    ("location-too-long", {"event": {"start": EV, "location": "l" * (LOCATION_MAX + 1)}}, "event.location", (2021,)),
    (
        "attachment-title-rlo",
        {"attachments": [{"url": "/f.pdf", "mime_type": "application/pdf", "title": "\u202e"}]},
        "attachments.0.title",
        (2021,),
    ),
    ("id-rlo", {"id": "urn:x:\u202e1"}, "id", (2021,)),
    ("id-zero-width", {"id": "\u200b"}, "id", (2021,)),
    ("id-blank", {"id": "   "}, "id", (2021,)),
]


@pytest.mark.parametrize(("front", "field", "years"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_value_is_reported_and_everything_else_served(
    site: Any, make_app: Any, front: dict[str, Any], field: str, years: tuple[int, ...]
) -> None:
    write_good(site)
    site.post(
        "bad", "Bad body.", **{"title": "Bad post", "date": "2021-04-02", "categories": ["events"], "tags": ["kept"], **front}
    )
    app = make_app()
    with app.test_client() as client:
        assert_served(client, "posts/bad.md", field, years=(2021, *years))
    assert_cli_names(app, site.root, f"posts/bad.md: {field}")


def test_control_characters_in_text_are_cleaned_and_soft_breaks_become_spaces(client: Any, site: Any, app: Any) -> None:
    """A word processor's soft line break (\\v) is a space; other C0/C1 controls are dropped; the post is published."""
    site.post(
        "soft",
        "Body.",
        title="Soft\vbreak\x1b here\x85now",
        summary="One\vtwo\x07",
        tags=["a\vb"],
        author="Ann\x1bOther",
        event={"start": EV, "location": "Vienna\vInternational\x9b"},
    )
    from feedsvc.extensions import state

    state(app).live.refresh()
    bodies = fetch_all(client, slugs=("soft",))
    post = client.get("/api/v1/posts/soft").get_json()
    assert post["title"] == "Soft break here now"
    assert post["summary"] == "One two"
    assert post["tags"] == [{"tag": "a b", "slug": "a-b"}]
    entry = feedparser.parse(bodies["/feeds/atom.xml"]).entries[0]
    assert entry.title == "Soft break here now"
    assert entry.author == "AnnOther"
    cal = icalendar.Calendar.from_ical(bodies["/feeds/calendar.ics"])
    assert [str(e["location"]) for e in cal.walk("VEVENT")] == ["Vienna International"]


def test_an_event_ending_when_it_starts_or_later_in_every_form_is_published(client: Any, site: Any, app: Any) -> None:
    site.post("dates", event={"start": "2021-05-01", "end": "2021-05-01"})
    site.post("zoned", event={"start": "2021-05-01T10:00", "end": "2021-05-01T15:00:00+00:00", "timezone": "America/New_York"})
    site.post("edge", date="9998-12-30", event={"start": "1000-01-02T00:00:00Z"})
    from feedsvc.extensions import state

    state(app).live.refresh()
    fetch_all(client, years=(9998, 1000), slugs=("dates", "zoned", "edge"))
    assert not client.get("/healthz").get_json()["problems"]


def test_the_window_holds_in_the_site_timezone_too(site: Any, make_app: Any) -> None:
    """20:00Z on 31 December 9998 is already 9999 at UTC+14, where archives and dates are computed."""
    site.write_site(timezone="Pacific/Kiritimati")
    write_good(site)
    site.post("bad", "Bad.", title="Bad", date="9998-12-31T20:00:00Z", categories=["events"], tags=["kept"])
    app = make_app()
    with app.test_client() as client:
        assert_served(client, "posts/bad.md", "date", years=(2021, 9998, 9999))
    assert_cli_names(app, site.root, "posts/bad.md: date")
