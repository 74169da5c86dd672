"""site.yaml values that reach every output: a bad one is reported and the last good site.yaml kept.

Issue 18: a control character in the site's author, icon, logo or hub gave 500 on the Atom and
RSS feeds; ``javascript:``/``data:`` icons reached every page; an RLO reversed the site name;
``timezone: localtime`` made output depend on the host; a permalink format spec made every link 2 MB;
``websub_hub`` went into the ``Link`` header unescaped.
"""

from __future__ import annotations

from typing import Any

import feedparser
import pytest

from feedsvc.content.values import TITLE_MAX
from feedsvc.extensions import state

from .hostile_kit import assert_cli_names, fetch_all, problems, write_good

GOOD_TITLE = "Test Network"

# (id, site.yaml overrides, field named)
CASES: list[tuple[str, dict[str, Any], str]] = [
    ("author-uri-escape", {"author": {"name": "Test Network", "uri": "https://example.org/\x1b"}}, "author.uri"),
    ("author-name-rlo", {"author": {"name": "\u202eNetwork"}}, "author.name"),
    ("author-name-zero-width", {"author": "\u200b"}, "author"),
    ("icon-escape", {"icon": "/icon\x1b.png"}, "icon"),
    ("icon-vertical-tab", {"icon": "/icon\v.png"}, "icon"),
    ("icon-javascript", {"icon": "javascript:alert(1)"}, "icon"),
    ("icon-data", {"icon": "data:image/png;base64,iVBORw0KGgo="}, "icon"),
    ("logo-javascript", {"logo": "  javascript:alert(1)"}, "logo"),
    ("logo-data", {"logo": "DATA:image/png;base64,iVBORw0KGgo="}, "logo"),
    ("hub-escape", {"websub_hub": "https://hub.example.org/\x1b"}, "websub_hub"),
    ("hub-vertical-tab", {"websub_hub": "https://hub.example.org/a\vb"}, "websub_hub"),
    ("title-rlo", {"title": "\u202eNetwork"}, "title"),
    ("title-zero-width", {"title": "\u200b\ufeff"}, "title"),
    ("title-too-long", {"title": "t" * (TITLE_MAX + 1)}, "title"),
    (
        "category-title-rlo",
        {"categories": {"events": {"title": "\u202eEvents"}, "statements": {"title": "S"}}},
        "categories.events.value.title",
    ),
    ("timezone-localtime", {"timezone": "localtime"}, "timezone"),
    ("timezone-posix", {"timezone": "posix/Europe/London"}, "timezone"),
    ("permalink-format-spec", {"permalink": "https://example.org/{year:>2000000}/{slug}/"}, "permalink"),
    ("permalink-attribute", {"permalink": "https://example.org/{slug.__class__}/{slug}/"}, "permalink"),
    ("permalink-index", {"permalink": "https://example.org/{slug[0]}/{slug}/"}, "permalink"),
    ("permalink-conversion", {"permalink": "https://example.org/{slug!r}/{slug}/"}, "permalink"),
    ("permalink-unknown-field", {"permalink": "https://example.org/{title}/{slug}/"}, "permalink"),
    ("redirect-target-escape", {"redirects": {"/old": "/new\x1b"}}, "redirects"),
]


@pytest.mark.parametrize(("overrides", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_site_value_keeps_the_last_good_site(site: Any, make_app: Any, overrides: dict[str, Any], field: str) -> None:
    write_good(site)
    app = make_app()
    with app.test_client() as client:
        fetch_all(client)
        site.touch_later(site.write_site(**overrides))
        state(app).live.refresh()
        bodies = fetch_all(client)
        assert ("site.yaml", field) in problems(client), problems(client)
        feed = feedparser.parse(bodies["/feeds/atom.xml"])
        assert feed.feed.title == GOOD_TITLE
        assert [e.link for e in feed.entries] == ["https://news.example.org/posts/good"]
        for path, body in bodies.items():
            assert path == "/healthz" or b"javascript:" not in body.lower() and b"data:image" not in body.lower()
    assert_cli_names(app, site.root, f"site.yaml: {field}")


def test_the_hub_link_header_is_a_uri_reference(site: Any, make_app: Any) -> None:
    """RFC 8288: what sits between < and > cannot end the link, however the hub URL is written."""
    write_good(site)
    site.write_site(websub_hub='https://hub.example.org/a>;rel="self",<https://evil.example/"')
    app = make_app()
    with app.test_client() as client:
        resp = client.get("/feeds/atom.xml")
        assert resp.status_code == 200
        links = resp.headers.getlist("Link")
        hub = [v for v in links if v.endswith('rel="hub"')]
        assert hub == ['<https://hub.example.org/a%3E;rel=%22self%22,%3Chttps://evil.example/%22>; rel="hub"']
        assert sum('rel="self"' in v for v in links) == 1


def test_permalink_with_plain_fields_still_works(site: Any, make_app: Any) -> None:
    write_good(site)
    site.write_site(permalink="https://example.org/{year}/{month}/{day}/{slug}/")
    app = make_app()
    with app.test_client() as client:
        feed = feedparser.parse(client.get("/feeds/atom.xml").data)
        assert [e.link for e in feed.entries] == ["https://example.org/2021/04/01/good/"]
