"""Shared helpers (no tests here) for the HTTP/cache/export tests: a test site with every document kind."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

#: (id, endpoint that must be registered, path). Every document kind the service serves.
KINDS: list[tuple[str, str, str]] = [
    ("atom-all", "feeds.all_atom", "/feeds/atom.xml"),
    ("rss-all", "feeds.all_rss", "/feeds/rss.xml"),
    ("json-all", "feeds.all_json", "/feeds/feed.json"),
    ("ics-all", "feeds.all_ics", "/feeds/calendar.ics"),
    ("atom-category", "feeds.category_atom", "/feeds/categories/statements/atom.xml"),
    ("ics-category", "feeds.category_ics", "/feeds/categories/events/calendar.ics"),
    ("rss-tag", "feeds.tag_rss", "/feeds/tags/cnd/rss.xml"),
    ("json-tag", "feeds.tag_json", "/feeds/tags/cnd/feed.json"),
    ("atom-archive", "feeds.all_archive_atom", "/feeds/archive/2021/atom.xml"),
    ("opml", "feeds.opml_view", "/feeds/opml.xml"),
    ("api-list", "api.posts", "/api/v1/posts"),
    ("api-list-filtered", "api.posts", "/api/v1/posts?category=statements&per_page=1&page=2"),
    ("api-item", "api.post", "/api/v1/posts/first-statement"),
    ("api-categories", "api.categories", "/api/v1/categories"),
    ("api-category-posts", "api.category_posts", "/api/v1/categories/events/posts"),
    ("api-tags", "api.tags", "/api/v1/tags"),
    ("openapi", "api.openapi_json", "/api/v1/openapi.json"),
    ("api-docs", "api_docs", "/api/docs"),
    ("html-home", "web.home", "/"),
    ("html-post", "web.post_page", "/posts/first-statement"),
    ("html-category", "web.category_page", "/categories/statements"),
    ("html-tag", "web.tag_page", "/tags/cnd"),
    ("html-embed", "web.embed_page", "/embed"),
    ("embed-js", "web.embed_js", "/embed.js"),
]

LONG = "\n\n".join(f"Paragraph {i} about nuclear disarmament and the treaty review." * 3 for i in range(12))


def fill(site: Any) -> None:
    """Posts in two categories, shared tags, an event: every document kind is non-trivial."""
    site.post(
        "2021-04-01-first-statement",
        LONG,
        title="First statement",
        date="2021-04-01",
        categories=["statements"],
        tags=["CND", "Treaty"],
    )
    site.post(
        "2021-05-02-second-statement", LONG, title="Second statement", date="2021-05-02", categories=["statements"], tags=["CND"]
    )
    site.post(
        "2021-06-03-summit",
        LONG,
        title="Summit",
        date="2021-06-03",
        categories=["events"],
        tags=["CND"],
        event={"start": "2021-07-01T10:00:00+02:00", "end": "2021-07-01T12:00:00+02:00", "location": "Geneva"},
    )
    site.post("2021-06-10-report", LONG, title="Report", date="2021-06-10", categories=["publications"], tags=["Treaty"])


def has_endpoint(app: Any, endpoint: str) -> bool:
    """Whether ``endpoint`` is routed in ``app`` (other engineers' routes land over time)."""
    return endpoint in app.view_functions


def path_of(url: str) -> str:
    """Path and query of an absolute URL."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
