"""Regressions found by the hostile-request table and reviews, kept close to the failure."""

from __future__ import annotations

import pytest

from feedsvc.content import load_index

FEEDS = ["atom.xml", "rss.xml", "feed.json", "calendar.ics", "categories/events/atom.xml", "opml.xml"]
BAD_TEXT = ["%01", "%0A", "a%0Ab", "%7F", "%C2%85", "%EF%BF%BE", "%EF%BF%BF", "en%0A"]
#: Invalid UTF-8: werkzeug keeps the escapes as text, which is a harmless search term.
UNDECODABLE = ["%ED%A0%80", "%FF%FE"]


@pytest.mark.parametrize("feed", FEEDS)
@pytest.mark.parametrize("value", BAD_TEXT)
@pytest.mark.parametrize("name", ["q", "lang"])
def test_characters_xml_cannot_carry_in_feed_args_are_a_400(client, site, feed, value, name):
    site.post("a", categories=["events"])
    r = client.get(f"/feeds/{feed}?{name}={value}")
    assert r.status_code in (200, 400), r.data[:300]
    if feed != "opml.xml":  # OPML takes neither argument: ignored there
        assert r.status_code == 400 and r.json["error"]["details"][0]["name"] == name


@pytest.mark.parametrize("feed", FEEDS)
@pytest.mark.parametrize("value", UNDECODABLE)
def test_undecodable_search_terms_are_harmless(client, site, feed, value):
    site.post("a", categories=["events"])
    assert client.get(f"/feeds/{feed}?q={value}").status_code == 200


@pytest.mark.parametrize("field,value", [("lang", "en\n"), ("slug", "post\n"), ("categories", ["statements\n"])])
def test_pattern_fields_refuse_a_trailing_newline(site, field, value):
    """Python's `$` matches before a final newline; the patterns must not let one through."""
    site.post("p", **{field: value})
    idx = load_index(site.root)
    assert idx.posts == () and idx.problems[0].field.startswith(field)


def test_api_lang_refuses_a_trailing_newline(client):
    r = client.get("/api/v1/posts?lang=en%0A")
    assert r.status_code == 400 and r.json["error"]["details"][0]["name"] == "lang"


@pytest.mark.parametrize("year", ["٢٠٢١", "２０２１", "21", "02021", "2021x"])
def test_archive_years_are_four_ascii_digits(client, site, year):
    """One URL per document: werkzeug's int converter would also take Unicode digits."""
    site.post("a", date="2021-03-01")
    assert client.get("/feeds/archive/2021/atom.xml").status_code == 200
    r = client.get(f"/feeds/archive/{year}/atom.xml")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


@pytest.mark.parametrize("spelling", ["fr", "FR", "Fr"])
def test_lang_is_case_insensitive_in_api_and_feeds(client, site, spelling):
    """BCP 47 tags are case-insensitive: every spelling selects the same posts, everywhere."""
    site.post("fr-post", lang="fr", title="Déclaration")
    site.post("en-post", lang="en", title="Statement")
    api = client.get(f"/api/v1/posts?lang={spelling}").json
    assert [p["slug"] for p in api["items"]] == ["fr-post"]
    feed = client.get(f"/feeds/feed.json?lang={spelling}").json
    assert [i["title"] for i in feed["items"]] == ["Déclaration"] and feed["language"] == "fr"


@pytest.mark.parametrize("query", ["lang=abcdefgh", "lang=en-x", "q=%EF%BF%BE", "q=a%01b"])
def test_api_and_feeds_refuse_the_same_text(client, query):
    """One rule for what a query string may carry, whichever tree it is sent to."""
    for url in (f"/api/v1/posts?{query}", f"/feeds/atom.xml?{query}"):
        r = client.get(url)
        assert r.status_code == 400, url


@pytest.mark.parametrize(
    "url",
    ["/feeds/atom.xml?page=2", "/feeds/archive/2021/rss.xml?page=2", "/api/v1/posts?page=2&per_page=1", "/categories/statements"],
)
def test_a_page_whose_posts_change_by_a_move_is_not_answered_304(site, make_app, url):
    """A date edit moving the newest post to the end brings an *older* post onto the page: its own
    entries are all older than before, yet the page changed, so If-Modified-Since must get a 200."""
    import os

    from feedsvc.extensions import state

    old = 1_600_000_000
    paths = [
        site.post(name, date=day, categories=["statements"])
        for name, day in (("a", "2021-03-03"), ("b", "2021-03-02"), ("c", "2021-03-01"))
    ]
    for path in [*paths, site.root / "posts", site.root / "site.yaml"]:
        os.utime(path, (old, old))
    app = make_app(FEED_SIZE=1)
    client = app.test_client()
    before = client.get(url)
    assert before.status_code == 200
    assert client.get(url, headers={"If-Modified-Since": before.headers["Last-Modified"]}).status_code == 304
    site.post("a", date="2021-02-28", categories=["statements"])  # in place: no directory mtime moves
    state(app).live.refresh()
    after = client.get(url, headers={"If-Modified-Since": before.headers["Last-Modified"]})
    assert after.status_code == 200 and after.get_data() != before.get_data()


def test_the_browser_page_of_a_feed_transforms_the_cached_xml(site, make_app, monkeypatch):
    """A browser's view of a feed must not write the feed a second time."""
    import lxml.html

    from feedsvc import feeds

    site.post("a")
    writes: list[str] = []
    real = feeds.WRITERS["atom"]
    monkeypatch.setitem(feeds.WRITERS, "atom", lambda doc: writes.append(doc.fmt) or real(doc))
    client = make_app().test_client()
    xml = client.get("/feeds/atom.xml")
    page = client.get("/feeds/atom.xml", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert xml.mimetype == "application/atom+xml" and page.mimetype == "text/html"
    assert "A" in lxml.html.fromstring(page.data).text_content()
    assert writes == ["atom"]
