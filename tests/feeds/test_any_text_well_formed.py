"""Property: any title, summary, tag or body text gives well-formed documents in every format."""

from __future__ import annotations

import itertools
import json

import feedparser
import icalendar
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from support.feeds_checks import A, check_atom, check_json, check_rss

from feedsvc.extensions import state

NASTY = [
    "]]>",
    "&",
    "&amp;",
    "&#0;",
    "<![CDATA[x]]>",
    "<script>alert(1)</script>",
    "\x00\x01\x08\x0b\x1f",
    "\ufffe\uffff",
    "\u2028\u2029",
    "\r\n\r",
    "<b>bold</b> & <i>",
    "\"'<>",
    "--> <!--",
    "\x7f\x85\x9f",
]
text = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=60),
    st.lists(st.sampled_from(NASTY) | st.text(max_size=5), min_size=1, max_size=6).map("".join),
)
_counter = itertools.count()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=text, body=text, summary=st.none() | text, tag=text, location=text)
def test_any_text_gives_well_formed_documents(site, make_app, title, body, summary, tag, location):
    app = _app(site, make_app)
    n = next(_counter)
    for old in (site.root / "posts").glob("fuzz-*.md"):
        old.unlink()
    front = {
        "title": title,
        "date": "2021-04-01T10:00:00Z",
        "categories": ["events"],
        "tags": [tag, "fixed"],
        "event": {"start": "2021-05-01T10:00:00Z", "location": location},
        "slug": f"fuzz-{n}",
    }
    if summary is not None:
        front["summary"] = summary
    site.post(f"fuzz-{n}", body, **front)
    index = state(app).live.refresh()
    post = index.get(f"fuzz-{n}")
    client = app.test_client()
    scopes = ["/feeds", "/feeds/categories/events"]
    if post is None:  # the post was refused (reported as a content problem): its tags do not exist
        assert client.get("/feeds/tags/fixed/atom.xml").status_code == 404
    else:
        scopes.append("/feeds/tags/fixed")
    for scope in scopes:
        root = check_atom(client.get(f"{scope}/atom.xml").data)
        check_rss(client.get(f"{scope}/rss.xml").data)
        doc = check_json(client.get(f"{scope}/feed.json").data)
        if post is not None:  # published (a title of only blanks is a content error, reported)
            titles = [e.findtext(f"{A}title") for e in root.findall(f"{A}entry")]
            assert (post.title or post.slug) in titles
            assert any(i["id"] == post.id for i in doc["items"])
            parsed = feedparser.parse(client.get(f"{scope}/rss.xml").data)
            assert any(e.get("id") == post.id for e in parsed.entries)
    cal = icalendar.Calendar.from_ical(client.get("/feeds/calendar.ics").data)
    if post is not None:
        assert [str(e["UID"]) for e in cal.walk("VEVENT")] == [post.id]
        assert str(cal.walk("VEVENT")[0]["SUMMARY"]) == (post.title or post.slug)
    opml = etree.fromstring(client.get("/feeds/opml.xml").data)
    assert opml.tag == "opml"
    search = client.get("/feeds/feed.json?q=x")
    assert search.status_code == 200 and json.loads(search.data)["version"] == "https://jsonfeed.org/version/1.1"


_apps: dict[str, object] = {}


def _app(site, make_app):
    """One app per test (hypothesis reuses the function-scoped fixtures across examples)."""
    key = str(site.root)
    if key not in _apps:
        _apps.clear()
        _apps[key] = make_app()
    return _apps[key]
