"""Content negotiation by preference (issue 15.3): the HTML view of a feed only for clients that
prefer text/html strictly over every XML/feed type they accept; the render cache, the fast
path and ``Vary`` follow that one decision. Through the Flask test client (fast path on and
off), with the Accept headers the issue saw, real browsers' and readers', and generated ones.
"""

from __future__ import annotations

from typing import Any

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.feeds_checks import populate

from feedsvc.fastpath import fast_path

FEEDS = ["/feeds/atom.xml", "/feeds/rss.xml", "/feeds/categories/events/atom.xml", "/feeds/archive/2021/rss.xml"]
#: What the issue saw answered with HTML, and what readers send: all must get the feed.
WANT_XML = [
    "application/xml, text/html;q=0.9",
    "text/xml;q=1.0, text/html;q=0.5",
    "application/rss+xml, text/html",
    "text/html, application/atom+xml",  # a tie is not a preference
    "text/html;q=0.9, */*",
    "*/*",
    "text/*",
    "application/*, text/html;q=0.8",
    "text/html;q=0.5, application/rdf+xml",
    "application/feed+json, text/html;q=0.9",
    "application/atom+xml,application/rss+xml;q=0.9,application/xml;q=0.8,text/xml;q=0.8,*/*;q=0.7",  # newsboat-like
    "",
    None,
]
#: Browsers (Chromium, Firefox, Safari, curl's HTML asks) and explicit HTML preferences.
WANT_HTML = [
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,"
    "application/signed-exchange;v=b3;q=0.7",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "text/html",
    "text/html, application/xml;q=0.99",
    "text/html, application/atom+xml;q=0, application/rss+xml;q=0, application/xml;q=0, text/xml;q=0, application/feed+json;q=0",
]


@pytest.fixture(params=["fastpath", "no-fastpath"])
def client(request: Any, site: Any, make_app: Any) -> Any:
    populate(site)
    app = make_app() if request.param == "fastpath" else make_app(CACHE_LOCAL_BYTES=0)
    assert (fast_path(app) is not None) == (request.param == "fastpath")
    with app.test_client() as c:
        yield c


def vary(r: Any) -> set[str]:
    return {v.strip().lower() for v in r.headers.get("Vary", "").split(",") if v.strip()}


def get(client: Any, path: str, accept: str | None) -> Any:
    return client.get(path, headers={} if accept is None else {"Accept": accept})


@pytest.mark.parametrize("path", FEEDS)
def test_readers_get_the_feed_browsers_the_page(client: Any, path: str) -> None:
    feed = client.get(path)
    assert feed.mimetype in ("application/atom+xml", "application/rss+xml")
    fast = fast_path(client.application)
    for round_ in range(2):  # the second round replays from the render cache / fast path
        hits = fast.hits if fast else 0
        for accept in WANT_XML:
            r = get(client, path, accept)
            assert r.mimetype == feed.mimetype and r.data == feed.data, (accept, round_)
            assert r.headers["ETag"] == feed.headers["ETag"] and "accept" in vary(r)
            assert feedparser.parse(r.data).version in ("atom10", "rss20")
        for accept in WANT_HTML:
            r = get(client, path, accept)
            assert r.mimetype == "text/html", (accept, round_)
            assert r.headers["ETag"] != feed.headers["ETag"] and "accept" in vary(r)
            assert b"<html" in r.data[:300].lower()
        if fast and round_ == 1:  # every request of the second round was answered by the fast path
            assert fast.hits - hits == len(WANT_XML) + len(WANT_HTML)


def test_other_formats_never_get_the_page(client: Any) -> None:
    for path in ("/feeds/feed.json", "/feeds/calendar.ics", "/feeds/opml.xml"):
        plain = client.get(path)
        r = get(client, path, "text/html")
        assert r.mimetype == plain.mimetype and r.data == plain.data
        assert "accept" not in vary(r)


def test_304_keeps_the_variant_apart(client: Any) -> None:
    """A browser's ETag never validates the reader's copy, nor the reverse (both ways, repeated)."""
    xml = get(client, "/feeds/atom.xml", WANT_XML[0])
    page = get(client, "/feeds/atom.xml", WANT_HTML[0])
    for _ in range(2):
        assert (
            client.get("/feeds/atom.xml", headers={"Accept": WANT_XML[0], "If-None-Match": xml.headers["ETag"]}).status_code
            == 304
        )
        r = client.get("/feeds/atom.xml", headers={"Accept": WANT_XML[0], "If-None-Match": page.headers["ETag"]})
        assert r.status_code == 200 and r.mimetype == "application/atom+xml"
        r = client.get("/feeds/atom.xml", headers={"Accept": WANT_HTML[0], "If-None-Match": xml.headers["ETag"]})
        assert r.status_code == 200 and r.mimetype == "text/html"


# -- generated Accept headers against an independent reading of RFC 9110 §12.5.1 ---------------

TYPES = [
    "text/html",
    "application/xhtml+xml",
    "application/xml",
    "text/xml",
    "application/atom+xml",
    "application/rss+xml",
    "application/rdf+xml",
    "application/feed+json",
    "application/json",
    "image/webp",
    "text/plain",
    "text/*",
    "application/*",
    "*/*",
]
XMLISH = [
    "application/xml",
    "text/xml",
    "application/atom+xml",
    "application/rss+xml",
    "application/rdf+xml",
    "application/feed+json",
]


def quality(ranges: list[tuple[str, float]], mimetype: str) -> float:
    """RFC 9110 §12.5.1: the most specific matching range gives the quality (0 when none)."""
    kind, sub = mimetype.split("/")

    def specificity(r: str) -> int:
        rk, rs = r.split("/")
        if r == mimetype:
            return 3
        if rk == kind and rs == "*":
            return 2
        return 1 if r == "*/*" else 0

    matches = [(specificity(r), q) for r, q in ranges if specificity(r)]
    if not matches:
        return 0.0
    best = max(s for s, _ in matches)
    return max(q for s, q in matches if s == best)


def oracle_wants_html(ranges: list[tuple[str, float]]) -> bool:
    html = quality(ranges, "text/html")
    return html > 0 and all(html > quality(ranges, t) for t in XMLISH)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.sampled_from(TYPES), st.sampled_from([None, 0, 0.1, 0.5, 0.8, 0.9, 1])), max_size=6, unique_by=lambda t: t[0]
    )
)
def test_generated_accept_headers(client: Any, ranges: list[tuple[str, float | None]]) -> None:
    header = ", ".join(t if q is None else f"{t};q={q}" for t, q in ranges)
    read = [(t, 1.0 if q is None else float(q)) for t, q in ranges]
    r = get(client, "/feeds/atom.xml", header)
    assert r.status_code == 200 and "accept" in vary(r)
    assert (r.mimetype == "text/html") == oracle_wants_html(read), header
    again = get(client, "/feeds/atom.xml", header)  # replayed: the same decision, the same bytes
    assert again.mimetype == r.mimetype and again.data == r.data
