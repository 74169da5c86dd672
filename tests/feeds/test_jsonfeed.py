"""JSON Feed 1.1 documents: required members, items, attachments, paging, languages."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

import pytest
from support.feeds_checks import check_json, populate

BASE = "https://news.example.org"


@pytest.mark.parametrize(
    "scope",
    ["/feeds", "/feeds/categories/events", "/feeds/categories/empty", "/feeds/tags/cnd", f"/feeds/tags/{quote('наркополитика')}"],
)
@pytest.mark.parametrize("query", ["", "?lang=fr", "?q=report"])
def test_documents_are_valid(client, scope, query):
    r = client.get(f"{scope}/feed.json{query}")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/feed+json; charset=utf-8"
    doc = check_json(r.data)
    assert doc["feed_url"] == f"{BASE}{scope}/feed.json{query}"
    assert doc["home_page_url"].startswith(BASE)


def test_feed_and_item_members(client):
    doc = check_json(client.get("/feeds/feed.json").data)
    assert doc["title"] == "Test Network" and doc["description"] == "Posts for tests"
    assert doc["icon"] == f"{BASE}/logo.png" and doc["favicon"] == f"{BASE}/icon.png"
    assert doc["authors"] == [{"name": "Test Network", "url": "https://example.org/"}]
    assert doc["language"] == "en"
    assert "hubs" not in doc and "next_url" not in doc
    items = {i["title"]: i for i in doc["items"]}
    old = items["Old report"]
    assert old["id"].startswith("tag:example.org,2021:")
    assert old["url"] == f"{BASE}/posts/old-report"
    assert old["summary"] == "An old report."
    assert "<p>Second paragraph.</p>" in old["content_html"]
    assert old["image"] == f"{BASE}/img/cover.png"
    assert old["attachments"] == [
        {"mime_type": "application/pdf", "size_in_bytes": 12345, "title": "Report (PDF)", "url": f"{BASE}/files/report.pdf"},
        {"mime_type": "audio/mpeg", "url": "https://cdn.example.org/a.mp3"},
    ]
    assert old["tags"] == ["Publications", "Réduction des risques", "CND"]
    assert old["_feedsvc"]["categories"] == [{"label": "Publications", "slug": "publications"}]
    for key in ("date_published", "date_modified"):  # RFC 3339
        assert datetime.fromisoformat(old[key]).tzinfo is not None
    assert items["Déclaration"]["language"] == "fr"
    ev = items["Side event"]
    assert ev["_feedsvc"]["event"]["location"] == "Online"
    assert "https://example.org/register" in ev["content_html"]
    # Items newest first, and the feed's updated date is the newest entry's.
    dates = [i["date_published"] for i in doc["items"]]
    assert [datetime.fromisoformat(d) for d in dates] == sorted((datetime.fromisoformat(d) for d in dates), reverse=True)
    assert datetime.fromisoformat(doc["_feedsvc"]["updated"]) == max(
        datetime.fromisoformat(i["date_modified"]) for i in doc["items"]
    )


def read_as_json_feed_10(doc: dict) -> tuple[str | None, list[tuple[str, str | None]]]:
    """What a JSON Feed 1.0 reader finds: ``author`` objects only (1.0 has no ``authors``)."""

    def name(obj: dict) -> str | None:
        author = obj.get("author")
        return author.get("name") if isinstance(author, dict) else None

    return name(doc), [(i["title"], name(i)) for i in doc["items"]]


def test_json_feed_10_readers_see_the_authors(client):
    doc = check_json(client.get("/feeds/feed.json").data)
    feed_author, items = read_as_json_feed_10(doc)
    assert feed_author == "Test Network"
    assert doc["author"] == {"name": "Test Network", "url": "https://example.org/"}
    assert dict(items) == {
        "Déclaration": "Test Network",
        "Zoned event": "Test Network",
        "Side event": "Test Network",
        "Statement & more": "Jane Roe",
        "Old report": "Test Network",
    }
    jane = next(i for i in doc["items"] if i["title"] == "Statement & more")
    # Same object in both members; an e-mail-only author becomes a mailto: URL in both.
    assert jane["author"] == jane["authors"][0] == {"name": "Jane Roe", "url": "mailto:jane@example.org"}


def test_next_url_pages(site, make_app):
    populate(site)
    client = make_app(FEED_SIZE=2).test_client()
    ids, url = [], f"{BASE}/feeds/feed.json"
    while url:
        doc = check_json(client.get(url.removeprefix(BASE)).data)
        assert len(doc["items"]) <= 2
        ids += [i["id"] for i in doc["items"]]
        url = doc.get("next_url")
    assert len(ids) == len(set(ids)) == 5


def test_hubs(site, make_app):
    site.write_site(websub_hub="http://127.0.0.1:9/hub")
    populate(site)
    doc = check_json(make_app().test_client().get("/feeds/feed.json").data)
    assert doc["hubs"] == [{"type": "WebSub", "url": "http://127.0.0.1:9/hub"}]


@pytest.mark.parametrize(
    "event",
    [
        {
            "start": "2021-03-27T23:30:00",
            "end": "2021-03-28T03:00:00",
            "timezone": "Europe/London",
            "location": "Palais des Nations, Genève",
            "url": "https://example.org/live",
            "registration_url": "https://example.org/register?a=1&b=2",
            "languages": ["fr", "ru", "es"],
        },
        {"start": "2021-04-12T14:00:00+02:00", "location": "https://zoom.example/j/1", "attendance": "mixed"},
    ],
)
def test_item_event_says_what_the_api_says(site, make_app, event):
    """``_feedsvc.event`` carries every member of the API's event: attendance, where to register and the
    interpretation languages too (a JSON Feed reader lost the registration link and the languages)."""
    site.post("ev", "Join.", title="Ev", date="2021-03-01", categories=["events"], event=event)
    client = make_app().test_client()
    (item,) = check_json(client.get("/feeds/feed.json").data)["items"]
    api = client.get("/api/v1/posts/ev").get_json()
    assert item["_feedsvc"]["event"] == api["event"]
