"""OPML 2.0: every feed (all, each category, language and tag, the calendars) listed once, grouped, each URL served."""

from __future__ import annotations

import json

import feedparser
import lxml.html
import pytest
from lxml import etree

BASE = "https://news.example.org"


@pytest.mark.parametrize("fmt,file", [("atom", "atom.xml"), ("rss", "rss.xml"), ("json", "feed.json")])
def test_opml_lists_every_feed(client, fmt, file):
    r = client.get(f"/feeds/opml.xml?format={fmt}" if fmt != "atom" else "/feeds/opml.xml")
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/x-opml; charset=utf-8"
    root = etree.fromstring(r.data)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") and root.findtext("head/dateModified")
    feeds = root.xpath("//outline[@xmlUrl]")
    for o in feeds:  # OPML 2.0: text is required; subscription lists need type and xmlUrl
        assert o.get("text") and o.get("type") == "rss" and o.get("htmlUrl").startswith(BASE)
    urls = [o.get("xmlUrl") for o in feeds]
    assert len(urls) == len(set(urls))
    expected = {f"{BASE}/feeds/{file}"}
    expected |= {f"{BASE}/feeds/categories/{c}/{file}" for c in ("statements", "events", "publications", "empty")}
    expected |= {
        f"{BASE}/feeds/tags/{t}/{file}"
        for t in (
            "cnd",
            "united-nations",
            "side-event",
            "reduction-des-risques",
            "%D0%BD%D0%B0%D1%80%D0%BA%D0%BE%D0%BF%D0%BE%D0%BB%D0%B8%D1%82%D0%B8%D0%BA%D0%B0",
        )
    }
    expected |= {f"{BASE}/feeds/languages/{lang}/{file}" for lang in ("en", "fr")}
    assert set(urls) == expected
    groups = {g.get("text"): g for g in root.xpath("/opml/body/outline[not(@xmlUrl) and not(@url)]")}
    assert list(groups) == ["Categories", "Languages", "Tags", "Calendars"]
    assert [o.get("xmlUrl") for o in groups["Languages"]] == [f"{BASE}/feeds/languages/{lang}/{file}" for lang in ("en", "fr")]
    # Calendars are links (a feed reader cannot read iCalendar): the site's, and each scope's with an event.
    cals = groups["Calendars"].xpath("outline")
    assert all(o.get("type") == "link" and o.get("xmlUrl") is None for o in cals)
    assert [o.get("url") for o in cals] == [
        f"{BASE}/feeds/calendar.ics",
        f"{BASE}/feeds/categories/events/calendar.ics",
        f"{BASE}/feeds/languages/en/calendar.ics",
    ]
    for o in cals:
        resp = client.get(o.get("url").removeprefix(BASE))
        assert resp.status_code == 200 and resp.mimetype == "text/calendar"
    for url in urls:  # every listed feed exists and parses
        resp = client.get(url.removeprefix(BASE))
        assert resp.status_code == 200, url
        if fmt == "json":
            assert json.loads(resp.data)["version"] == "https://jsonfeed.org/version/1.1"
        else:
            assert feedparser.parse(resp.data).bozo == 0


def test_opml_bad_format(client):
    r = client.get("/feeds/opml.xml?format=html")
    assert r.status_code == 400 and r.get_json()["error"]["details"][0]["name"] == "format"


def test_a_six_language_site_lists_each_language_and_the_calendars(site, make_app):
    langs = ("ar", "en", "es", "fr", "ru", "zh")
    for i, lang in enumerate(langs):
        event = {"start": f"2021-05-0{i + 1}T10:00:00+02:00", "location": "Vienna"} if lang in ("en", "ru") else None
        site.post(
            f"post-{lang}",
            title=f"Post {lang}",
            lang=lang,
            date=f"2021-04-0{i + 1}",
            categories=["events" if event else "statements"],
            **({"event": event} if event else {}),
        )
    client = make_app().test_client()
    root = etree.fromstring(client.get("/feeds/opml.xml").data)
    feeds = root.xpath("//outline[@type='rss']/@xmlUrl")
    calendars = root.xpath("//outline[@type='link']/@url")
    # site + 4 categories + 6 languages; calendars: the site's, the events category's, en's and ru's.
    assert (len(feeds), len(calendars)) == (1 + 4 + 6, 4)
    languages = root.xpath("/opml/body/outline[@text='Languages']/outline")
    assert [o.get("language") for o in languages] == list(langs)
    for o in languages:
        lang = o.get("language")
        assert o.get("htmlUrl") == f"{BASE}/languages/{lang}"
        parsed = feedparser.parse(client.get(o.get("xmlUrl").removeprefix(BASE)).data)
        assert parsed.bozo == 0 and parsed.feed.title == o.get("title")
        assert [e.title for e in parsed.entries] == [f"Post {lang}"]
        # The feed is named as the language's page names it.
        page = lxml.html.fromstring(client.get(f"/languages/{lang}").data)
        name = "".join(page.xpath("//h1/text() | //h1/span[not(@class='kicker')]//text()")).strip()
        assert o.get("title") == f"Test Network: {name}"
