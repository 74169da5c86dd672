"""ETags are stable for unchanged content (restarts) and change after an edit only where they should."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from support.http_kit import KINDS, fill, has_endpoint

from feedsvc.extensions import state


def _tags(app: Any, urls: list[str]) -> dict[str, tuple[str, str]]:
    client = app.test_client()
    out = {}
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200, url
        out[url] = (r.headers["ETag"], r.headers["Last-Modified"])
    return out


def test_same_content_same_etags_across_restarts(site: Any, make_app: Any) -> None:
    fill(site)
    first = make_app()
    urls = [k[2] for k in KINDS if has_endpoint(first, k[1])]
    assert len(urls) >= 10
    before = _tags(first, urls)
    again = _tags(make_app(), urls)  # a fresh process-equivalent: new app, new index, empty caches
    assert {u: t[0] for u, t in before.items()} == {u: t[0] for u, t in again.items()}


STATEMENTS = [
    "/feeds/categories/statements/atom.xml",
    "/feeds/categories/statements/rss.xml",
    "/feeds/categories/statements/feed.json",
    "/api/v1/categories/statements/posts",
    "/categories/statements",
]
ALL = ["/feeds/atom.xml", "/feeds/rss.xml", "/feeds/feed.json", "/api/v1/posts", "/"]
EVENTS = [
    "/feeds/categories/events/atom.xml",
    "/feeds/categories/events/rss.xml",
    "/feeds/categories/events/feed.json",
    "/feeds/categories/events/calendar.ics",
    "/api/v1/categories/events/posts",
    "/categories/events",
]


@pytest.mark.parametrize("change", ["edit", "delete", "unpublish"])
def test_edit_changes_only_affected_documents(site: Any, make_app: Any, change: str) -> None:
    fill(site)
    site.age()  # every mtime an hour back: the change below is surely later, at one-second resolution
    app = make_app()
    urls = STATEMENTS + ALL + EVENTS
    before = _tags(app, urls)
    path = site.root / "posts" / "2021-05-02-second-statement.md"
    if change == "edit":
        site.post(
            "2021-05-02-second-statement",
            "A corrected text.",
            title="Second statement (corrected)",
            date="2021-05-02",
            categories=["statements"],
            tags=["CND"],
        )
        site.touch_later(path)
    elif change == "delete":
        path.unlink()
    else:
        site.post(
            "2021-05-02-second-statement",
            "Withdrawn.",
            title="Second statement",
            date="2021-05-02",
            categories=["statements"],
            tags=["CND"],
            draft=True,
        )
        site.touch_later(path)
    state(app).live.refresh()
    after = _tags(app, urls)
    for url in STATEMENTS + ALL:
        assert after[url][0] != before[url][0], f"{url} kept its ETag after the {change}"
        moved = parsedate_to_datetime(after[url][1]) > parsedate_to_datetime(before[url][1])
        assert moved, f"{url}: Last-Modified did not move after the {change}"
    for url in EVENTS:
        assert after[url][0] == before[url][0], f"{url} changed although no event post changed"
    # A client holding the old copy gets the new one; the new tag revalidates.
    client = app.test_client()
    url = STATEMENTS[0]
    assert client.get(url, headers={"If-None-Match": before[url][0]}).status_code == 200
    assert client.get(url, headers={"If-Modified-Since": before[url][1]}).status_code == 200
    assert client.get(url, headers={"If-None-Match": after[url][0]}).status_code == 304
