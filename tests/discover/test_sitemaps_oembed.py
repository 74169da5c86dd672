"""Sitemaps and robots.txt through ultimate-sitemap-parser, oEmbed through micawber, event.ics through icalendar."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import lxml.etree
import lxml.html
import micawber
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from support.served import served as served_app
from usp.tree import sitemap_tree_for_homepage

from feedsvc.discover import sitemaps

DATA = Path(__file__).resolve().parent.parent / "data" / "discover"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}link"


@pytest.fixture
def served(site, make_app) -> Iterator[tuple[str, Any]]:
    """The app on a loopback port, its base_url being that very address."""
    with served_app(lambda base: make_app(BASE_URL=base)) as pair:
        yield pair


def _content(site) -> None:
    site.post("orig", title="Original", tags=["Drug policy"], aliases=["old-orig"])
    site.post("trad", title="Traduction", lang="fr", translation_of="orig")
    site.post("привет", title="Unicode", lang="ru", slug="привет", tags=["Права"])
    site.post("hidden", title="Draft", draft=True)
    shutil.copy(DATA / "side-event.md", site.root / "posts" / "side-event.md")


def test_sitemap_from_robots_lists_exactly_the_canonical_urls(site, served) -> None:
    _content(site)
    base, app = served
    tree = sitemap_tree_for_homepage(base + "/", use_robots=True, use_known_paths=False)
    found = {p.url for p in tree.all_pages()}
    with app.test_client() as c:
        robots = c.get("/robots.txt").data.decode()
    assert f"Sitemap: {base}/sitemap.xml" in robots and "Disallow: /api/" in robots
    expected = {
        f"{base}/",
        *(f"{base}/languages/{lang}" for lang in ("en", "fr", "ru")),
        *(f"{base}/categories/{c}" for c in ("statements", "events", "publications", "empty")),
        f"{base}/tags/drug-policy",
        f"{base}/tags/{quote('права')}",
        *(f"{base}/posts/{quote(s)}" for s in ("orig", "trad", "привет", "side-event")),
        *(f"{base}/tags/{t}" for t in ("cnd", "side-event", "decriminalisation", "harm-reduction", "covid-19", "interpretation")),
    }
    assert found == expected


def test_hreflang_reciprocal_and_validators(site, make_app) -> None:
    _content(site)
    client = make_app().test_client()
    resp = client.get("/sitemaps/posts-1.xml", headers={"Accept-Encoding": "gzip"})
    assert resp.headers["Content-Encoding"] == "gzip"
    root = lxml.etree.fromstring(gzip.decompress(resp.data))
    urls = {u.findtext(f"{SM}loc"): u for u in root.iter(f"{SM}url")}
    orig, trad = urls["https://news.example.org/posts/orig"], urls["https://news.example.org/posts/trad"]
    for node in (orig, trad):
        links = {(x.get("hreflang"), x.get("href")) for x in node.iter(XHTML)}
        assert links == {
            ("en", "https://news.example.org/posts/orig"),
            ("fr", "https://news.example.org/posts/trad"),
            ("x-default", "https://news.example.org/posts/orig"),
        }
    assert orig.findtext(f"{SM}lastmod").startswith("2021-04-01")
    again = client.get("/sitemaps/posts-1.xml", headers={"If-None-Match": resp.headers["ETag"], "Accept-Encoding": "gzip"})
    assert again.status_code == 304
    assert client.get("/sitemap.xml", headers={"If-Modified-Since": resp.headers["Last-Modified"]}).status_code == 304
    assert client.get("/sitemaps/posts-2.xml").status_code == 404
    assert client.get("/sitemaps/posts-01.xml").status_code == 404


def test_children_split_at_the_limit(site, make_app, monkeypatch) -> None:
    for n in range(7):
        site.post(f"p{n}", date=f"2021-04-{n + 1:02d}")
    monkeypatch.setattr(sitemaps, "MAX_LINES", 3)
    client = make_app().test_client()
    index = lxml.etree.fromstring(client.get("/sitemap.xml").data)
    locs = [s.findtext(f"{SM}loc") for s in index.iter(f"{SM}sitemap")]
    posts = [u for u in locs if "/sitemaps/posts-" in u]
    assert len(posts) == 3
    seen = []
    for u in posts:
        child = lxml.etree.fromstring(client.get(u.removeprefix("https://news.example.org")).data)
        seen += [x.findtext(f"{SM}loc") for x in child.iter(f"{SM}url")]
    assert len(seen) == 7 == len(set(seen))


def _discover(client, path: str) -> str:
    doc = lxml.html.fromstring(client.get(path).data)
    [href] = doc.xpath("//link[@type='application/json+oembed']/@href")
    return href


def test_oembed_through_discovery_with_micawber(site, served) -> None:
    _content(site)
    base, app = served
    with app.test_client() as c:
        href = _discover(c, "/posts/side-event")
    endpoint = href.split("?", 1)[0]
    assert endpoint == f"{base}/oembed"
    data = micawber.Provider(endpoint).request(f"{base}/posts/side-event", maxwidth=320)
    assert data["type"] == "rich" and data["version"] == "1.0" and data["width"] <= 320
    assert data["title"].startswith("'We Are the Evidence'")
    frag = lxml.html.fragment_fromstring(data["html"], create_parent="div")
    assert frag.xpath("//blockquote//a/@href")[0] == f"{base}/posts/side-event"
    assert frag.xpath("//iframe/@src") == [f"{base}/posts/side-event/embed"]
    assert frag.xpath("//iframe/@sandbox")


@pytest.mark.parametrize("form", ["posts/orig", "posts/old-orig", "posts/orig/", "posts/orig?utm=1#x"])
def test_every_url_form_resolves(site, make_app, form: str) -> None:
    _content(site)
    client = make_app().test_client()
    r = client.get("/oembed", query_string={"url": f"https://news.example.org/{form}"})
    assert r.status_code == 200 and r.json["title"] == "Original"


def test_unicode_slugs_resolve(site, make_app) -> None:
    _content(site)
    client = make_app().test_client()
    for url in ("https://news.example.org/posts/привет", f"https://news.example.org/posts/{quote('привет')}"):
        assert client.get("/oembed", query_string={"url": url}).json["title"] == "Unicode"


def test_permalink_urls_resolve(site, make_app) -> None:
    site.write_site(permalink="https://inpud.example/news/{year}/{slug}/")
    _content(site)
    client = make_app().test_client()
    r = client.get("/oembed", query_string={"url": "https://inpud.example/news/2021/orig/", "format": "xml"})
    assert r.status_code == 200, r.data
    assert lxml.etree.fromstring(r.data).findtext("title") == "Original"


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"url": "https://evil.example/posts/orig"}, 404),
        ({"url": "https://news.example.org/posts/nope"}, 404),
        ({"url": "https://news.example.org/posts/hidden"}, 404),
        ({"url": "x", "format": "yaml"}, 501),
        ({"url": "https://news.example.org/posts/orig", "maxwidth": "wide"}, 400),
        ({"url": "https://news.example.org/posts/orig", "maxheight": "0"}, 400),
        ({}, 400),
        ({"url": "https://[::1/posts/orig"}, 400),  # not a URL (urlsplit refuses the bracket)
        ({"url": "http://[news.example.org]/posts/orig"}, 400),
    ],
)
def test_oembed_errors_are_json(site, make_app, query: dict[str, str], status: int) -> None:
    _content(site)
    r = make_app().test_client().get("/oembed", query_string=query)
    assert r.status_code == status and r.is_json and "error" in json.dumps(r.json)


def test_only_the_embed_card_may_be_framed(site, make_app) -> None:
    _content(site)
    client = make_app().test_client()
    card = client.get("/posts/orig/embed")
    assert "frame-ancestors *" in card.headers["Content-Security-Policy"] and "X-Frame-Options" not in card.headers
    for path in ("/", "/posts/orig", "/embed", "/tags/drug-policy"):
        r = client.get(path)
        assert r.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    doc = lxml.html.fromstring(card.data)
    assert doc.xpath("//h1//text()") == ["Original"] and not doc.xpath("//script")


def test_event_ics_is_one_vevent_with_its_zone(site, make_app) -> None:
    _content(site)
    client = make_app().test_client()
    cal = Calendar.from_ical(client.get("/posts/side-event/event.ics").data)
    events = cal.walk("VEVENT")
    assert len(events) == 1
    start = events[0].decoded("dtstart")
    assert (start.hour, str(start.tzinfo)) == (14, "Europe/Vienna") and start.utcoffset().total_seconds() == 7200
    assert "Europe/Vienna" in {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")}
    assert "fr, ru, es" in str(events[0]["description"])
    assert client.get("/posts/orig/event.ics").status_code == 404


_HOSTILE = (
    '"',
    "'",
    "<",
    ">",
    "&",
    "&amp;",
    "</script>",
    "<!--",
    "]]>",
    "<b>x</b>",
    "</blockquote>",
    "</iframe>",
    "{{ x }}",
    "\u200f",
    "مرحبا",
    "政策",
)
_words = st.text(st.characters(categories=("L", "N", "P", "S")), min_size=1, max_size=12)
hostile_text = st.lists(st.sampled_from(_HOSTILE) | _words, min_size=1, max_size=6).map(" ".join).map(lambda s: "t " + s)


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=hostile_text, summary=hostile_text, alt=hostile_text)
def test_hostile_titles_and_summaries_survive_oembed_and_the_embed_card(
    site, make_app, title: str, summary: str, alt: str
) -> None:
    """JSON, XML and the embed page carry the text itself: parsed back, it is what the editor wrote."""
    site.write_site(title=summary)  # the provider name is text too
    site.post("hostile", "Body.", title=title, summary=summary, image="/img/a.png", image_alt=alt)
    # A fresh index database per example (the previous one would serve the previous post).
    app = make_app(INDEX_PATH=str(site.root.parent / f"index-{os.urandom(6).hex()}.sqlite3"))
    client = app.test_client()
    url = "https://news.example.org/posts/hostile"
    as_json = client.get("/oembed", query_string={"url": url, "format": "json"})
    assert as_json.status_code == 200 and as_json.mimetype == "application/json"
    data = json.loads(as_json.data)
    assert (data["title"], data["provider_name"]) == (title, summary)
    as_xml = client.get("/oembed", query_string={"url": url, "format": "xml"})
    root = lxml.etree.fromstring(as_xml.data)
    assert (root.findtext("title"), root.findtext("provider_name")) == (title, summary)
    assert root.findtext("html") == data["html"]
    # The html member: one blockquote whose link says the title and whose text holds the summary.
    frag = lxml.html.fragment_fromstring(data["html"], create_parent="div")
    assert [el.tag for el in frag] == ["blockquote", "iframe"] and not frag.xpath("//script")
    assert [p.text_content() for p in frag.xpath("//blockquote/p")] == [title, summary, f"— {summary}"]
    assert frag.xpath("//iframe/@title") == [title]
    card = client.get("/posts/hostile/embed")
    doc = lxml.html.fromstring(card.data)
    assert doc.xpath("//h1")[0].text_content() == title
    assert doc.xpath("//p[@class='card-summary']")[0].text_content() == summary
    assert doc.xpath("//img/@alt") == [alt]
    assert doc.findtext(".//title") == f"{title} · {summary}"
    assert not doc.xpath("//script")


@pytest.mark.parametrize(("lang", "direction"), [("ar", "rtl"), ("he", "rtl"), ("fr", "ltr"), ("en", "ltr")])
def test_oembed_html_carries_the_posts_direction(site, make_app, lang: str, direction: str) -> None:
    """The blockquote lands in the consumer's page (its direction, usually ltr): an Arabic or Hebrew
    post's quote says rtl, as its embed card does, and the site's credit line keeps the site's language."""
    site.post("p", "نص Body.", title="بيان Title", summary="עברית summary, 2021.", lang=lang)
    client = make_app().test_client()
    data = client.get("/oembed", query_string={"url": "https://news.example.org/posts/p"}).get_json()
    frag = lxml.html.fragment_fromstring(data["html"], create_parent="div")
    (quote_,) = frag.xpath("//blockquote")
    assert (quote_.get("lang"), quote_.get("dir")) == (lang, direction)
    credit = quote_.xpath("p")[-1]
    assert (credit.get("lang") or lang, credit.get("dir") or direction) == ("en", "ltr")
    card = lxml.html.fromstring(client.get("/posts/p/embed").data)
    assert card.xpath("//article/@dir") == [direction]
