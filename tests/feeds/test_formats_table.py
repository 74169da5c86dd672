"""One table of format facts (feedsvc/formats.py): the routes, the writers, the pages and the API all follow it."""

from __future__ import annotations

import lxml.html
import pytest

from feedsvc.feeds import WRITERS
from feedsvc.formats import ALL, FEEDS, FORMATS
from tests.structure.graph import imports, modules

#: What a request-free library module may not import: the request and response layers.
REQUEST_SIDE = {
    "feedsvc.extensions",
    "feedsvc.caching",
    "feedsvc.http",
    "feedsvc.negotiation",
    "feedsvc.errors",
    "feedsvc.budget",
    "feedsvc.fastpath",
}


@pytest.fixture
def client(site, make_app):
    site.post("2021-03-04-a", title="A", date="2021-03-04", categories=["statements"], tags=["Kept"])
    with make_app().test_client() as c:
        yield c


def test_every_format_has_one_writer() -> None:
    assert set(WRITERS) == set(FORMATS)


@pytest.mark.parametrize("name", ALL)
def test_each_format_is_served_at_its_file_with_its_media_type(client, name: str) -> None:
    fmt = FORMATS[name]
    for scope in ("/feeds", "/feeds/categories/statements", "/feeds/tags/kept"):
        resp = client.get(f"{scope}/{fmt.file}")
        assert resp.status_code == 200 and resp.headers["Content-Type"] == fmt.media_type
        archive = client.get(f"{scope}/archive/2021/{fmt.file}")
        assert archive.status_code == (200 if fmt.archived else 404)


@pytest.mark.parametrize("name", ALL)
def test_the_browser_page_is_given_for_the_browser_formats_only(client, name: str) -> None:
    resp = client.get(f"/feeds/{FORMATS[name].file}", headers={"Accept": "text/html"})
    assert (resp.mimetype == "text/html") == FORMATS[name].browser


def test_pages_advertise_the_syndication_feeds_and_list_every_format(client) -> None:
    page = lxml.html.fromstring(client.get("/").data)
    advertised = page.xpath('//link[@rel="alternate"][contains(@href, "/feeds/")]')
    assert [a.get("type") for a in advertised] == [FORMATS[n].mimetype for n in FEEDS]
    assert all(f"({FORMATS[n].label})" in a.get("title") for a, n in zip(advertised, FEEDS, strict=True))
    links = client.get("/api/v1/categories/statements").get_json()["links"]
    assert {k for k in links if k != "api"} == set(ALL)


def test_the_library_reads_no_request() -> None:
    """feeds/ but its views (and the XSLT preview, bytes in and out) is a library: no Flask, no request."""
    graph = imports()
    for name, path in modules().items():
        if not name.startswith("feedsvc.feeds") or name == "feedsvc.feeds.views":
            continue
        assert not graph[name] & REQUEST_SIDE, name
        assert "flask" not in path.read_text(encoding="utf-8"), name


def test_the_document_is_a_description() -> None:
    assert imports()["feedsvc.feeds.document"] <= {
        "feedsvc.content",
        "feedsvc.content.errors",
        "feedsvc.version",
        "feedsvc.feeds.events",
    }
