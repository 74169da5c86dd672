"""OPML 2.0: every feed (all, each category, each tag) listed once, each URL served."""

from __future__ import annotations

import json

import feedparser
import pytest
from feeds_checks import populate
from lxml import etree

BASE = "https://news.example.org"


@pytest.fixture
def client(site, make_app):
    populate(site)
    with make_app().test_client() as c:
        yield c


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
    expected |= {f"{BASE}/feeds/tags/{t}/{file}" for t in ("cnd", "united-nations", "side-event",
                                                          "reduction-des-risques", "%D0%BD%D0%B0%D1%80%D0%BA%D0%BE"
                                                          "%D0%BF%D0%BE%D0%BB%D0%B8%D1%82%D0%B8%D0%BA%D0%B0")}
    assert set(urls) == expected
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
