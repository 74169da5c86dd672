"""Scheduled and expiring posts through the app: hidden until their date, gone at their expiry (injectable clock)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedsvc.content import Loader
from feedsvc.extensions import state

from .support import AT, Clock, T, at

#: Every kind of document a post can appear in (feeds, calendars, API with q and counts, pages, OPML, widget).
URLS = (
    "/feeds/atom.xml",
    "/feeds/rss.xml",
    "/feeds/feed.json",
    "/feeds/calendar.ics",
    "/feeds/categories/events/atom.xml",
    "/feeds/tags/launches/rss.xml",
    "/feeds/opml.xml",
    "/api/v1/posts",
    "/api/v1/posts?q=zanzibar",
    "/api/v1/posts?category=events",
    "/api/v1/categories",
    "/api/v1/tags",
    "/api/v1/categories/events/posts",
    "/",
    "/categories/events",
    "/tags/launches",
    "/languages/en",
    "/embed?category=events",
    "/healthz",
)


def corpus(site: Any) -> None:
    site.post(
        "2025-01-01-older", "An older statement.", title="Older statement", date="2025-01-01T09:00:00Z", categories=["statements"]
    )
    site.post(
        "2025-06-01-other",
        "Another event.",
        title="Other event",
        date="2025-06-01T09:00:00Z",
        categories=["events"],
        event={"start": "2025-06-10T12:00:00Z"},
    )


def scheduled(site: Any, **extra: Any) -> Path:
    return site.post(
        "2030-03-05-launch",
        "The zanzibar report, under embargo.",
        title="Embargoed launch",
        date=AT.isoformat(),
        categories=["events"],
        tags=["Launches"],
        event={"start": "2030-03-20T12:00:00Z"},
        aliases=["launch-draft"],
        **extra,
    )


def bodies(app: Any) -> dict[str, tuple[int, bytes]]:
    with app.test_client() as c:
        out = {}
        for url in URLS:
            r = c.get(url)
            out[url] = (r.status_code, r.data)
        return out


def without(got: dict[str, tuple[int, bytes]], *keys: str) -> dict[str, tuple[int, bytes]]:
    return {k: v for k, v in got.items() if k not in keys}


def test_scheduled_post_appears_nowhere_then_everywhere_at_its_date(site, make_app, tmp_path):
    corpus(site)
    base = make_app(INDEX_PATH=str(tmp_path / "base.db"), CLOCK=Clock(T - 3600))
    before_any = bodies(base)
    scheduled(site)
    clock = Clock(T - 3600)
    app = make_app(INDEX_PATH=str(tmp_path / "app.db"), CLOCK=clock)
    hidden = bodies(app)
    # Byte for byte what the site shows without the file (healthz names the next change: compared apart).
    assert without(hidden, "/healthz") == without(before_any, "/healthz")
    with app.test_client() as c:
        assert c.get("/posts/launch").status_code == 404
        assert c.get("/api/v1/posts/launch").status_code == 404
        assert c.get("/posts/launch-draft").status_code == 404
        assert c.get("/healthz").json["next_change"] == "2030-03-05T10:00:00+00:00"
        etag = c.get("/feeds/atom.xml").headers["ETag"]
    at(app, clock, T - 1)
    assert without(bodies(app), "/healthz") == without(before_any, "/healthz")
    at(app, clock, T + 0.4)  # the writer's reload at the boundary
    with app.test_client() as c:
        r = c.get("/feeds/atom.xml")
        assert r.headers["ETag"] != etag
        assert r.headers["Last-Modified"] == "Tue, 05 Mar 2030 10:00:00 GMT"  # the post's date, not the commit's
        assert "Embargoed launch" in [e.title for e in feedparser.parse(r.data).entries]
        assert c.get("/api/v1/posts?q=zanzibar").json["meta"]["total_items"] == 1
        assert c.get("/posts/launch").status_code == 200
        assert c.get("/posts/launch-draft").status_code == 308
        assert c.get("/healthz").json["next_change"] == "2030-03-07T10:00:00+00:00"  # its 48-hour mark (news sitemap)
        for url, (_, body) in bodies(app).items():
            if url not in (
                "/feeds/opml.xml",
                "/api/v1/tags",
                "/api/v1/categories",
                "/healthz",
                "/feeds/feed.json",
                "/embed?category=events",
            ):  # counts only; the widget reads the API
                assert b"Embargoed launch" in body or b"Embargoed%20launch" in body, url
    # The same content at the same instant: the same bytes on another host (its own database, own writer).
    other = make_app(INDEX_PATH=str(tmp_path / "other.db"), CLOCK=Clock(T + 0.4))
    assert without(bodies(other), "/healthz") == without(bodies(app), "/healthz")


def test_expired_post_answers_410_with_its_aliases(site, make_app, tmp_path):
    corpus(site)
    scheduled(site, expires="2030-03-05T12:00:00+01:00")
    clock = Clock(T + 10)
    app = make_app(INDEX_PATH=str(tmp_path / "app.db"), CLOCK=clock)
    with app.test_client() as c:
        assert c.get("/posts/launch").status_code == 200
        assert c.get("/healthz").json["next_change"] == "2030-03-05T11:00:00+00:00"
        etag = c.get("/api/v1/posts").headers["ETag"]
    at(app, clock, T + 3600)
    with app.test_client() as c:
        for path in ("/posts/launch", "/posts/launch-draft"):
            r = c.get(path)
            assert r.status_code == 410 and r.mimetype == "text/html" and b"withdrawn" in r.data
        r = c.get("/api/v1/posts/launch-draft")
        assert r.status_code == 410 and r.json["error"]["code"] == "gone"
        assert c.get("/api/v1/posts/launch").status_code == 410
        assert c.get("/posts/never-was").status_code == 404
        r = c.get("/api/v1/posts")
        assert r.headers["ETag"] != etag and r.json["meta"]["total_items"] == 2
        assert r.headers["Last-Modified"] == "Tue, 05 Mar 2030 11:00:00 GMT"  # the list lost it at its expiry


def test_expires_not_after_date_is_a_field_problem(site, app):
    scheduled(site, expires="2030-03-05T09:00:00Z")
    result = app.test_cli_runner().invoke(args=["content", "check", str(site.root)])
    assert result.exit_code == 1
    assert f"{site.root}/posts/2030-03-05-launch.md: expires: is not after date" in result.output
    site.post("bad", title="Bad", date="2021-01-01", expires="soon")
    result = app.test_cli_runner().invoke(args=["content", "check", str(site.root)])
    assert f"{site.root}/posts/bad.md: expires: not an ISO 8601 date or datetime" in result.output


def test_content_check_lists_scheduled_and_expiring_posts_in_the_site_timezone(site, make_app):
    corpus(site)
    scheduled(site, expires="2099-01-01T00:00:00Z")
    site.post("2020-01-01-fading", "Fading.", title="Fading", date="2020-01-01", expires="2098-07-01T12:00:00Z")
    result = make_app().test_cli_runner().invoke(args=["content", "check", str(site.root)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if "scheduled" in line or "expiring" in line]
    # Europe/London: summer time in March 2030 starts on the 31st; July is BST.
    assert lines == [
        f"{site.root}/posts/2030-03-05-launch.md: scheduled 2030-03-05T10:00:00+00:00 (launch)",
        f"{site.root}/posts/2020-01-01-fading.md: expiring 2098-07-01T13:00:00+01:00 (fading)",
        f"{site.root}/posts/2030-03-05-launch.md: expiring 2099-01-01T00:00:00+00:00 (launch)",
    ]


def test_restart_after_the_date_publishes_at_once(site, make_app, tmp_path):
    corpus(site)
    scheduled(site)
    db = str(tmp_path / "app.db")
    app = make_app(INDEX_PATH=db, CLOCK=Clock(T - 60))
    with app.test_client() as c:
        assert c.get("/posts/launch").status_code == 404
    state(app).live.loader.close()
    # Down at the boundary; the next start (same database, nothing edited) catches up at once.
    later = make_app(INDEX_PATH=db, CLOCK=Clock(T + 7200))
    with later.test_client() as c:
        assert c.get("/posts/launch").status_code == 200
        assert c.get("/api/v1/posts").headers["Last-Modified"] == "Tue, 05 Mar 2030 10:00:00 GMT"


def test_clock_set_back_never_unpublishes(site, make_app, tmp_path):
    corpus(site)
    scheduled(site, expires="2030-03-05T11:00:00Z")
    clock = Clock(T + 1)
    app = make_app(INDEX_PATH=str(tmp_path / "app.db"), CLOCK=clock)
    with app.test_client() as c:
        assert c.get("/posts/launch").status_code == 200  # published (and, say, sent out) at T + 1
    at(app, clock, T - 86400)  # the wall clock set back a day
    site.post("2021-05-01-edit", "An edit while the clock is back.", title="Edit", date="2021-05-01")
    state(app).live.refresh()
    with app.test_client() as c:
        assert c.get("/posts/launch").status_code == 200
        assert c.get("/posts/edit").status_code == 200
    at(app, clock, T + 3601)
    at(app, clock, T)  # back again, after the expiry: what expired stays gone
    with app.test_client() as c:
        assert c.get("/posts/launch").status_code == 410


def test_preview_renders_a_scheduled_post(site, make_app, tmp_path):
    corpus(site)
    path = scheduled(site)
    app = make_app(CLOCK=Clock(T - 3600))
    out = tmp_path / "preview"
    result = app.test_cli_runner().invoke(args=["content", "preview", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    pages = [p for p in out.rglob("*.html")]
    assert any("Embargoed launch" in p.read_text(encoding="utf-8") for p in pages)
    with app.test_client() as c:  # and nothing was published by it
        assert c.get("/posts/launch").status_code == 404


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    posts=st.lists(st.tuples(st.integers(0, 20), st.one_of(st.none(), st.integers(1, 10))), min_size=1, max_size=5),
    clocks=st.lists(st.integers(-5, 30), min_size=1, max_size=8),
)
def test_published_set_follows_the_highest_clock(tmp_path_factory, posts, clocks):
    """Whatever the clock does (jumps, goes back), a post is published iff its date <= the highest clock
    seen so far < its expiry; as a fresh index at that clock would have it."""
    from support.site import SiteTree

    site = SiteTree(tmp_path_factory.mktemp("c"))
    base = 2_000_000_000
    for i, (d, length) in enumerate(posts):
        extra = {} if length is None else {"expires": _iso(base + d * 60 + length * 60)}
        site.post(f"p{i}", title=f"P{i}", date=_iso(base + d * 60), **extra)
    clock = Clock(base)
    loader = Loader(site.root)
    loader.now = clock
    high = float("-inf")
    for c in clocks:
        clock.t = base + c * 60
        high = max(high, clock.t)
        got = {p.slug for p in loader.load(paths=()).posts}
        fresh = Loader(site.root)
        fresh.now = Clock(high)
        assert got == {p.slug for p in fresh.load().posts}
        expected = {
            f"p{i}"
            for i, (d, length) in enumerate(posts)
            if base + d * 60 <= high and (length is None or high < base + (d + length) * 60)
        }
        assert got == expected


def _iso(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).isoformat()


@pytest.mark.parametrize("field", ["date", "expires"])
def test_a_boundary_moves_only_at_its_instant(site, make_app, tmp_path, field):
    """One second before the instant nothing moves; at it, the change is there."""
    corpus(site)
    extra = {"expires": "2030-03-05T10:30:00Z"} if field == "expires" else {}
    scheduled(site, **extra)
    edge = T if field == "date" else T + 1800
    clock = Clock(edge - 1)
    app = make_app(INDEX_PATH=str(tmp_path / "app.db"), CLOCK=clock)
    first = bodies(app)
    at(app, clock, edge - 0.001)
    assert bodies(app) == first
    at(app, clock, edge)
    assert bodies(app)["/api/v1/posts"] != first["/api/v1/posts"]
