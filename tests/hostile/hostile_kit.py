"""Checks every hostile-content test makes through the real interface.

No route answers 5xx; every document parses with an independent parser (feedparser and the
RFC 4287 schema, lxml, icalendar, json); the good posts are still served and the bad one is
not; ``/healthz`` and ``flask content check`` name the bad file and field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import icalendar
from lxml import etree
from lxml import html as lxml_html
from support.feeds_checks import check_atom, check_json, check_rss

#: A good post every test keeps beside the hostile one: an event, a tag, the "events" category.
GOOD = {
    "title": "Good post",
    "date": "2021-04-01T10:00:00Z",
    "categories": ["events"],
    "tags": ["kept"],
    "event": {"start": "2021-05-01T10:00:00Z", "end": "2021-05-01T12:00:00Z", "location": "Vienna"},
}
SCOPES = ("/feeds", "/feeds/categories/events", "/feeds/categories/statements", "/feeds/tags/kept")


def write_good(site: Any) -> None:
    """Write posts/good.md (slug ``good``)."""
    site.post("good", "A good body.", **json.loads(json.dumps(GOOD)))


def routes(years: tuple[int, ...] = (2021,), slugs: tuple[str, ...] = ("good",)) -> list[str]:
    """Every route that shows posts: pages, API, feeds, calendars, archives, OPML, health."""
    out = [
        "/",
        "/categories/events",
        "/categories/statements",
        "/tags/kept",
        "/languages/en",
        "/healthz",
        "/api/v1/posts",
        "/api/v1/tags",
        "/api/v1/categories",
        "/api/v1/categories/events/posts",
        "/feeds/opml.xml",
        "/embed",
    ]
    out += [f"/posts/{s}" for s in slugs] + [f"/api/v1/posts/{s}" for s in slugs]
    for scope in SCOPES:
        out += [f"{scope}/atom.xml", f"{scope}/rss.xml", f"{scope}/feed.json", f"{scope}/calendar.ics"]
        out += [f"{scope}/archive/{y}/{f}" for y in years for f in ("atom.xml", "rss.xml", "feed.json")]
    return out


def _parse(path: str, body: bytes) -> None:
    if path.endswith("atom.xml"):
        check_atom(body)
    elif path.endswith("rss.xml"):
        check_rss(body)
    elif path.endswith(".json") or path.startswith("/api/") or path == "/healthz":
        if path.endswith("feed.json"):
            check_json(body)
        else:
            json.loads(body)
    elif path.endswith(".ics"):
        icalendar.Calendar.from_ical(body)
    elif path.endswith(".xml"):
        etree.fromstring(body)
    else:
        lxml_html.document_fromstring(body)


def fetch_all(client: Any, years: tuple[int, ...] = (2021,), slugs: tuple[str, ...] = ("good",)) -> dict[str, bytes]:
    """GET every route: never a 5xx, and every 200 parses. Returns the 200 bodies by path."""
    bodies = {}
    for path in routes(years, slugs):
        resp = client.get(path)
        assert resp.status_code < 500, (path, resp.status_code, resp.data[:300])
        if resp.status_code == 200:
            _parse(path, resp.data)
            bodies[path] = resp.data
    return bodies


def problems(client: Any) -> set[tuple[str, str]]:
    """(path, field) of every problem /healthz reports."""
    resp = client.get("/healthz")
    assert resp.status_code == 200
    return {(p["path"], p["field"]) for p in resp.get_json()["problems"]}


def assert_served(
    client: Any, bad_path: str, field: str, years: tuple[int, ...] = (2021,), bad_slug: str = "bad"
) -> dict[str, bytes]:
    """The whole check: no 5xx, /healthz names (bad_path, field), the good post served, the bad one not."""
    bodies = fetch_all(client, years)
    assert (bad_path, field) in problems(client), problems(client)
    assert b"/posts/good" in bodies["/feeds/atom.xml"]
    assert b"Good post" in bodies["/feeds/calendar.ics"]
    assert f"/posts/{bad_slug}".encode() not in bodies["/feeds/atom.xml"]
    assert client.get(f"/api/v1/posts/{bad_slug}").status_code == 404
    return bodies


def assert_cli_names(app: Any, root: Path, line: str) -> None:
    """``flask content check`` exits 1 and prints ``line`` (``file: field: message`` without the message)."""
    result = app.test_cli_runner().invoke(args=["content", "check", str(root)])
    assert result.exit_code == 1, result.output
    assert f"{root / line}:" in result.output, result.output
