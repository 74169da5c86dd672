"""The news sitemap (/sitemap-news.xml, Google News): the posts of the last 48 hours at the writer's recorded instant."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import lxml.etree
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.served import served as served_app
from usp.objects.page import SitemapNewsStory
from usp.tree import sitemap_tree_for_homepage

from feedsvc.extensions import state

from .support import AT, Clock, T, at

SM = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS = "http://www.google.com/schemas/sitemap-news/0.9"
W = 48 * 3600
BASE = "https://news.example.org"


def http_date(t: float) -> str:
    return format_datetime(datetime.fromtimestamp(t, UTC), usegmt=True)


def corpus(site: Any) -> None:
    site.post("2025-01-01-older", "An older statement.", title="Older statement", date="2025-01-01T09:00:00Z")
    site.post(
        "2030-03-05-launch", "The report, under embargo.", title="Embargoed launch", date=AT.isoformat(), categories=["events"]
    )
    site.post(
        "2030-03-05-lancement",
        "Le rapport.",
        title="Lancement & rapport",
        lang="fr-CA",
        date="2030-03-05T12:00:00+01:00",
        translation_of="launch",
        slug="lancement",
    )


def news(body: bytes) -> list[dict[str, str]]:
    """The news sitemap's entries, checking the Google News structure of every <url> on the way."""
    root = lxml.etree.fromstring(body)
    assert root.tag == f"{{{SM}}}urlset" and root.nsmap.get("news") == NEWS
    out = []
    for url in root:
        assert [c.tag for c in url] == [f"{{{SM}}}loc", f"{{{NEWS}}}news"]
        entry = url[1]
        assert [c.tag for c in entry] == [f"{{{NEWS}}}{n}" for n in ("publication", "publication_date", "title")]
        assert [c.tag for c in entry[0]] == [f"{{{NEWS}}}name", f"{{{NEWS}}}language"]
        assert datetime.fromisoformat(entry[1].text or "").tzinfo is not None  # W3C datetime with its offset
        out.append(
            {
                "loc": url[0].text or "",
                "name": entry[0][0].text or "",
                "language": entry[0][1].text or "",
                "date": entry[1].text or "",
                "title": entry[2].text or "",
            }
        )
    return out


def test_a_post_is_news_from_its_date_until_exactly_48_hours_after(site, make_app, tmp_path) -> None:
    corpus(site)
    clock = Clock(T - 3600)
    app = make_app(INDEX_PATH=str(tmp_path / "news.db"), CLOCK=clock)
    c = app.test_client()
    assert news(c.get("/sitemap-news.xml").data) == []  # the older post is years old, the launch not yet out
    at(app, clock, T + 0.5)
    r = c.get("/sitemap-news.xml")
    assert r.status_code == 200 and r.mimetype == "application/xml"
    assert news(r.data) == [
        {
            "loc": f"{BASE}/posts/launch",
            "name": "Test Network",
            "language": "en",
            "date": "2030-03-05T10:00:00+00:00",
            "title": "Embargoed launch",
        }
    ]
    assert r.headers["Last-Modified"] == http_date(T)  # the post's date, not the commit's
    assert c.get("/sitemap-news.xml", headers={"If-None-Match": r.headers["ETag"]}).status_code == 304
    assert c.get("/sitemap-news.xml", headers={"If-Modified-Since": r.headers["Last-Modified"]}).status_code == 304
    assert c.get("/healthz").json["next_change"] == "2030-03-05T11:00:00+00:00"  # the translation's date
    at(app, clock, T + 3600)
    got = news(c.get("/sitemap-news.xml").data)
    assert [(n["loc"], n["language"], n["date"], n["title"]) for n in got] == [
        (f"{BASE}/posts/lancement", "fr", "2030-03-05T12:00:00+01:00", "Lancement & rapport"),  # newest first
        (f"{BASE}/posts/launch", "en", "2030-03-05T10:00:00+00:00", "Embargoed launch"),
    ]
    assert c.get("/healthz").json["next_change"] == datetime.fromtimestamp(T + W, UTC).isoformat()
    feed = c.get("/feeds/atom.xml")
    listed = c.get("/sitemap-news.xml")
    at(app, clock, T + W - 1)  # one second before the 48-hour mark: still news, nothing moved
    again = c.get("/sitemap-news.xml")
    assert again.data == listed.data and again.headers["ETag"] == listed.headers["ETag"]
    at(app, clock, T + W)  # the mark: the launch leaves at once, its translation stays
    left = c.get("/sitemap-news.xml")
    assert [n["loc"] for n in news(left.data)] == [f"{BASE}/posts/lancement"]
    assert left.headers["ETag"] != listed.headers["ETag"]
    assert left.headers["Last-Modified"] == http_date(T + W)  # the instant it left, whatever the commit's time
    assert c.get("/sitemap-news.xml", headers={"If-None-Match": listed.headers["ETag"]}).status_code == 200
    assert c.get("/sitemap-news.xml", headers={"If-Modified-Since": listed.headers["Last-Modified"]}).status_code == 200
    # Leaving the news changes no other document.
    after = c.get("/feeds/atom.xml")
    assert (after.data, after.headers["ETag"], after.headers["Last-Modified"]) == (
        feed.data,
        feed.headers["ETag"],
        feed.headers["Last-Modified"],
    )
    assert c.get("/healthz").json["next_change"] == datetime.fromtimestamp(T + 3600 + W, UTC).isoformat()
    at(app, clock, T + 3600 + W + 7200)  # a reload late after the mark: the instant is still the mark's
    empty = c.get("/sitemap-news.xml")
    assert news(empty.data) == [] and empty.headers["Last-Modified"] == http_date(T + 3600 + W)
    assert c.get("/healthz").json["next_change"] is None


def test_the_index_and_robots_list_it_and_a_restart_keeps_it(site, make_app, tmp_path) -> None:
    corpus(site)
    clock = Clock(T + 10)
    app = make_app(INDEX_PATH=str(tmp_path / "news.db"), CLOCK=clock)
    c = app.test_client()
    index = lxml.etree.fromstring(c.get("/sitemap.xml").data)
    assert [s.findtext(f"{{{SM}}}loc") for s in index][-1] == f"{BASE}/sitemap-news.xml"
    assert f"Sitemap: {BASE}/sitemap-news.xml" in c.get("/robots.txt").data.decode().splitlines()
    first = c.get("/sitemap-news.xml")
    # Another server on the same files at the same instant (a fresh database) gives the same bytes.
    other = make_app(INDEX_PATH=str(tmp_path / "other.db"), CLOCK=Clock(T + 10)).test_client().get("/sitemap-news.xml")
    assert (other.data, other.headers["ETag"]) == (first.data, first.headers["ETag"])
    state(app).live.loader.close()
    # A server started after the 48-hour marks (down at the boundaries) catches up at start.
    late = make_app(INDEX_PATH=str(tmp_path / "news.db"), CLOCK=Clock(T + 3600 + W + 5000))
    r = late.test_client().get("/sitemap-news.xml")
    # (the translation was published and left within the span: it never entered the news, the launch left at its mark)
    assert news(r.data) == [] and r.headers["Last-Modified"] == http_date(T + W)
    state(late).live.loader.close()
    # A wall clock set back afterwards never brings a post back into the news.
    back = make_app(INDEX_PATH=str(tmp_path / "news.db"), CLOCK=Clock(T + 20)).test_client()
    assert news(back.get("/sitemap-news.xml").data) == []


def test_with_a_permalink_template_there_is_no_news_sitemap(site, make_app, tmp_path) -> None:
    site.write_site(permalink="https://www.example.org/news/{slug}/")
    corpus(site)
    c = make_app(INDEX_PATH=str(tmp_path / "news.db"), CLOCK=Clock(T + 10)).test_client()
    r = c.get("/sitemap-news.xml")
    assert r.status_code == 404
    assert "sitemap-news" not in c.get("/sitemap.xml").data.decode()
    assert "sitemap-news" not in c.get("/robots.txt").data.decode()


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.integers(min_value=-3 * W, max_value=3 * W), min_size=1, max_size=5))
def test_membership_follows_the_recorded_instant_over_any_clock_sequence(site, make_app, tmp_path, steps) -> None:
    corpus(site)
    clock = Clock(T + steps[0])
    db = tmp_path / f"h-{abs(hash(tuple(steps)))}.db"
    app = make_app(INDEX_PATH=str(db), CLOCK=clock)
    c = app.test_client()
    dates = {f"{BASE}/posts/launch": T, f"{BASE}/posts/lancement": T + 3600}
    reached = T + steps[0]
    for i, step in enumerate(steps):
        if i:
            at(app, clock, T + step)
        reached = max(reached, T + step)  # a clock set back never takes back the instant recorded
        expected = [u for u, d in sorted(dates.items(), key=lambda x: -x[1]) if d <= reached < d + W]
        assert [n["loc"] for n in news(c.get("/sitemap-news.xml").data)] == expected
    db.unlink()


@pytest.fixture
def served(site: Any, make_app: Any, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """The app on a loopback port at the launch's date plus ten minutes, its base_url being that very address."""
    corpus(site)
    with served_app(lambda base: make_app(BASE_URL=base, INDEX_PATH=str(tmp_path / "served.db"), CLOCK=Clock(T + 600))) as pair:
        yield pair


def test_ultimate_sitemap_parser_reads_the_news_from_robots(served) -> None:
    base, _ = served
    tree = sitemap_tree_for_homepage(base + "/", use_robots=True, use_known_paths=False)
    stories = {p.url: p.news_story for p in tree.all_pages() if p.news_story is not None}
    assert set(stories) == {f"{base}/posts/launch"}
    story = stories[f"{base}/posts/launch"]
    assert isinstance(story, SitemapNewsStory)
    assert (story.title, story.publication_name, story.publication_language) == ("Embargoed launch", "Test Network", "en")
    assert story.publish_date == AT


def test_the_export_writes_it(site, make_app, tmp_path) -> None:
    corpus(site)
    app = make_app(INDEX_PATH=str(tmp_path / "export.db"), CLOCK=Clock(T + 600))
    out = tmp_path / "out"
    result = app.test_cli_runner().invoke(args=["export", str(out), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "export-manifest.json").read_text())
    entry = manifest["documents"]["/sitemap-news.xml"]
    assert (out / entry["file"]).read_bytes() == app.test_client().get("/sitemap-news.xml").data
    assert [n["loc"] for n in news((out / entry["file"]).read_bytes())] == [f"{BASE}/posts/launch"]
