"""Post ids: one post per id (like slugs), and TAG ids that are URIs (RFC 4151).

Issue 18: a post could take another post's ``id``, so readers replaced the real statement with
the impostor; a Unicode slug gave a raw non-ASCII TAG id, which the W3C validator refuses.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import feedparser
import icalendar

from feedsvc.extensions import state

from .hostile_kit import assert_cli_names, fetch_all, problems, write_good

A = "{http://www.w3.org/2005/Atom}"


def _atom_ids(client: Any) -> dict[str, str]:
    feed = feedparser.parse(client.get("/feeds/atom.xml").data)
    return {e.link.rsplit("/", 1)[1]: e.id for e in feed.entries}


def test_a_post_taking_another_posts_id_is_reported_and_not_published(site: Any, make_app: Any) -> None:
    write_good(site)
    site.post("real", "The real statement.", title="Real", id="urn:example:statement-1")
    site.post("zz-impostor", "The impostor.", title="Impostor", id="urn:example:statement-1")
    app = make_app()
    with app.test_client() as client:
        fetch_all(client, slugs=("good", "real"))
        assert ("posts/zz-impostor.md", "id") in problems(client)
        assert _atom_ids(client) == {"good": "tag:example.org,2021:2021-04-01:good", "real": "urn:example:statement-1"}
        assert client.get("/api/v1/posts/zz-impostor").status_code == 404
        assert client.get("/posts/zz-impostor").status_code == 404
        doc = client.get("/feeds/feed.json").get_json()
        assert [i["id"] for i in doc["items"]].count("urn:example:statement-1") == 1
    assert_cli_names(app, site.root, "posts/zz-impostor.md: id")


def test_an_explicit_id_cannot_take_a_derived_one(site: Any, make_app: Any) -> None:
    write_good(site)
    site.post(
        "zz-copy", "Copy.", title="Copy", event={"start": "2021-05-01T10:00:00Z"}, id="tag:example.org,2021:2021-04-01:good"
    )
    app = make_app()
    with app.test_client() as client:
        bodies = fetch_all(client)
        assert ("posts/zz-copy.md", "id") in problems(client)
        uids = [str(e["uid"]) for e in icalendar.Calendar.from_ical(bodies["/feeds/calendar.ics"]).walk("VEVENT")]
        assert uids == ["tag:example.org,2021:2021-04-01:good"]
        assert _atom_ids(client) == {"good": "tag:example.org,2021:2021-04-01:good"}


def test_the_first_file_by_path_keeps_the_id_whatever_the_order_of_edits(site: Any, make_app: Any) -> None:
    """The same rule as slugs: the first file by path wins, also when it arrives later, and the other comes back."""
    write_good(site)
    site.post("zz-later", "Later.", title="Later", id="urn:example:x")
    app = make_app()
    with app.test_client() as client:
        assert _atom_ids(client)["zz-later"] == "urn:example:x"
        first = site.post("aa-first", "First.", title="First", id="urn:example:x")
        state(app).live.refresh()
        fetch_all(client, slugs=("good", "aa-first"))
        assert ("posts/zz-later.md", "id") in problems(client)
        assert set(_atom_ids(client)) == {"good", "aa-first"}
        first.unlink()
        state(app).live.refresh()
        assert _atom_ids(client)["zz-later"] == "urn:example:x"
        assert not problems(client)


def test_a_unicode_slug_gives_a_tag_id_in_uri_form(site: Any, make_app: Any) -> None:
    slug = "заявление-2024"
    site.post("ru", "Текст.", title="Заявление", slug=slug, lang="ru", event={"start": "2021-05-01T10:00:00Z"})
    site.post("ascii-post", "Text.", title="Ascii")
    site.post("explicit", "Text.", title="Explicit", id="https://example.org/old?id=1&x=%20")
    app = make_app()
    expected = f"tag:example.org,2021:2021-04-01:{quote(slug)}"
    with app.test_client() as client:
        atom = client.get("/feeds/atom.xml").data
        ids = {e.title: e.id for e in feedparser.parse(atom).entries}
        assert ids["Заявление"] == expected
        assert expected.isascii() and "%D0%B7" in expected
        # Ids that already were URIs never change: byte for byte what earlier releases published.
        assert ids["Ascii"] == "tag:example.org,2021:2021-04-01:ascii-post"
        assert ids["Explicit"] == "https://example.org/old?id=1&x=%20"
        assert b"<id>tag:example.org,2021:2021-04-01:ascii-post</id>" in atom
        items = {i["title"]: i["id"] for i in client.get("/feeds/feed.json").get_json()["items"]}
        assert items["Заявление"] == expected
        cal = icalendar.Calendar.from_ical(client.get("/feeds/calendar.ics").data)
        assert [str(e["uid"]) for e in cal.walk("VEVENT")] == [expected]
        rss = feedparser.parse(client.get("/feeds/rss.xml").data)
        assert {e.title: e.id for e in rss.entries}["Заявление"] == expected
        assert client.get(f"/api/v1/posts/{quote(slug)}").get_json()["id"] == expected
