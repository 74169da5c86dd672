"""Plain text stays text wherever it enters HTML (issue 15.2), read the way clients read it.

Titles, summaries and tag labels that look like HTML (``<img src=x onerror=…>``, ``&amp;``,
``<b>``) go through feedparser (RSS and Atom), the JSON Feed, the RSS browser page, the HTML
pages, the OPML list (whose ``text`` may hold HTML) and the calendar; each client's reading,
rendered as HTML where the format says HTML, must give back the very text the editor wrote.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import feedparser
import icalendar
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from lxml import etree
from lxml import html as lxml_html

from feedsvc.content.markdown import plain

HOSTILE = [
    "<img src=x onerror=alert(1)> text",
    "Fish &amp; chips",
    "<b>bold</b> & co",
    "a < b > c & d",
    "R&D <script>alert(1)</script>",
    "&lt;already escaped&gt; &#60;b&#62;",
]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def as_html_text(fragment: str) -> tuple[str, list[str]]:
    """What an HTML renderer shows for ``fragment``: its text, and any elements it would create."""
    div = lxml_html.fragment_fromstring(fragment, create_parent="div")
    return div.text_content(), [el.tag for el in div.iterdescendants()]


def shown(detail: Any, value: str) -> str:
    """feedparser's value as a reader shows it: HTML rendered when feedparser says it is HTML."""
    if detail.type in ("text/html", "application/xhtml+xml"):
        text, elements = as_html_text(value)
        assert elements == [], (value, elements)  # never markup a reader would render
        return text
    return value


def read_by_feedparser(text: str) -> str:
    """``text`` as feedparser hands it over, whatever the feed's bytes: it "repairs" text that decodes as
    UTF-8 once encoded as Latin-1 (its mixin.py: "data that is already utf-8 ... presume that it is
    iso-8859-1"), so a title ``Â¡`` reaches its readers as ``¡``. The raw elements are checked with lxml."""
    try:
        return text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def publish(site: Any, make_app: Any, title: str, summary: str | None, label: str) -> tuple[Any, dict[str, Any]]:
    front: dict[str, Any] = {
        "tags": [label],
        "categories": ["events"],
        "event": {"start": "2030-01-01T10:00:00Z", "location": label},
    }
    if summary is not None:
        front["summary"] = summary
    site.post("hostile", "" if summary is None else "Body.", title=title, slug="hostile", **front)
    client = make_app().test_client()
    post = client.get("/api/v1/posts/hostile").get_json()
    return client, post


def check_everywhere(client: Any, post: dict[str, Any]) -> None:
    title, summary = post["title"], post["summary"]
    tag = post["tags"][0]
    # RSS through feedparser: the description (HTML) renders as the summary, never as markup.
    rss = client.get("/feeds/rss.xml").data
    (entry,) = feedparser.parse(rss).entries
    assert shown(entry.summary_detail, entry.summary) == read_by_feedparser(summary or title)
    # RSS titles are plain text (RSS 2.0; newsboat shows them verbatim): the element holds the title.
    item = etree.fromstring(rss).find("channel/item")
    assert item.findtext("title") == title
    # Atom through feedparser: typed text, so exactly the text.
    atom = client.get("/feeds/atom.xml").data
    (entry,) = feedparser.parse(atom).entries
    assert shown(entry.title_detail, entry.title) == read_by_feedparser(title)
    assert etree.fromstring(atom).findtext("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}title") == title
    if summary:
        assert shown(entry.summary_detail, entry.summary) == read_by_feedparser(summary)
    # JSON Feed: plain strings, as written.
    item = client.get("/feeds/feed.json").get_json()["items"][0]
    assert item["title"] == title and item.get("summary", "") == summary
    # The RSS browser page (server-side XSLT) shows the text.
    for path in ("/feeds/rss.xml", "/feeds/atom.xml"):
        page = lxml_html.document_fromstring(client.get(path, headers={"Accept": BROWSER}).data)
        assert not page.xpath("//main//img | //main//b | //main//script | //*[@onerror]")
        (article,) = page.xpath("//article")
        assert article.xpath("string(h3)") == title
        if summary or path.endswith("rss.xml"):
            assert article.xpath("string(p[2])") == (summary or title)
    # HTML pages: the post, its tag's page, the home page.
    for path in ("/posts/hostile", f"/tags/{quote(tag['slug'])}", "/"):
        r = client.get(path)
        assert r.status_code == 200, path
        page = lxml_html.document_fromstring(r.data)
        assert not page.xpath("//main//img | //main//b | //body//script[not(@src)] | //*[@onerror]"), path
        assert title in page.xpath("string(//main)"), path
    # OPML: ``text`` may hold HTML, so it is escaped text; ``title`` is the feed's title.
    opml = etree.fromstring(client.get("/feeds/opml.xml").data)
    (outline,) = opml.xpath("//outline[@xmlUrl][contains(@xmlUrl, '/tags/')]")
    want = f"Test Network: {tag['tag']}"
    assert as_html_text(outline.get("text")) == (want, []) and outline.get("title") == want
    assert as_html_text(outline.get("description")) == (f"Posts tagged “{tag['tag']}”", [])
    # The RSS channel description (HTML) of the tag's feed renders as the text.
    parsed = feedparser.parse(client.get(f"/feeds/tags/{quote(tag['slug'])}/rss.xml").data)
    assert shown(parsed.feed.subtitle_detail, parsed.feed.subtitle) == f"Posts tagged “{tag['tag']}”"
    # The calendar: plain text values.
    (event,) = icalendar.Calendar.from_ical(client.get("/feeds/calendar.ics").data).walk("VEVENT")
    assert str(event["SUMMARY"]) == title and str(event["LOCATION"]) == tag["tag"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_titles_summaries_and_labels(site: Any, make_app: Any, text: str) -> None:
    client, post = publish(site, make_app, text, text, text)
    assert post["title"] == text and post["summary"] == text
    check_everywhere(client, post)


def test_the_reported_summary_reaches_feedparser_as_text(site: Any, make_app: Any) -> None:
    """The issue's case: feedparser read ``<img src="x">`` out of the RSS description."""
    text = "<img src=x onerror=alert(1)> text"
    client, _ = publish(site, make_app, text, text, "label")
    (entry,) = feedparser.parse(client.get("/feeds/rss.xml").data).entries
    assert entry.summary_detail.type == "text/html" and "<img" not in entry.summary
    assert as_html_text(entry.summary) == (text, [])
    assert entry.title_detail.type == "text/plain" and entry.title == text  # the title is plain text


@pytest.mark.parametrize("text", HOSTILE[:3])
def test_without_a_summary_rss_describes_with_the_title(site: Any, make_app: Any, text: str) -> None:
    client, post = publish(site, make_app, text, None, "label")
    assert post["summary"] == ""
    check_everywhere(client, post)


_PIECES = st.sampled_from(
    [
        "<",
        ">",
        "&",
        "&amp;",
        "&lt;",
        "<b>",
        "</b>",
        "<img src=x onerror=alert(1)>",
        '"',
        "'",
        "<p>",
        "&#60;",
        "<!--",
        "]]>",
        " ",
        "é",
        "<a href=javascript:alert(1)>x</a>",
    ]
)
_TEXT = (
    st.lists(
        _PIECES | st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]), max_size=5), min_size=1, max_size=8
    )
    .map("".join)
    .map(plain)
    .filter(bool)
)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=_TEXT, summary=_TEXT, label=_TEXT)
@example(title="Â¡", summary="Ã© Â¡", label="x")  # text feedparser "repairs" as mojibake (read_by_feedparser)
def test_any_text_stays_text(tmp_path_factory: Any, title: str, summary: str, label: str) -> None:
    from support.site import SiteTree

    from feedsvc import create_app

    site = SiteTree(tmp_path_factory.mktemp("c") / "content")

    def make_app() -> Any:
        app = create_app({"CONTENT_DIR": str(site.root), "RELOAD_INTERVAL": 0})
        app.testing = True
        return app

    client, post = publish(site, make_app, title, summary, label)
    if "title" not in post:  # refused by the content rules (a tag label with no slug, ...)
        event("refused")
        return
    event("published")
    check_everywhere(client, post)
