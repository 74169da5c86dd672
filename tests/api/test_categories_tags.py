"""/api/v1/categories, /api/v1/categories/<slug>[/posts] and /api/v1/tags."""

from __future__ import annotations

from typing import Any

import pytest

BASE = "https://news.example.org"


@pytest.fixture
def api(site: Any, make_app: Any) -> Any:
    """Four posts with tags whose labels differ in case and script."""
    site.post("one", date="2021-01-01", categories=["statements"], tags=["UN", "Harm Reduction"])
    site.post("two", date="2021-01-02", categories=["statements", "events"], tags=["un", "Ação Global"])
    site.post("three", date="2021-01-03", categories=["publications"], tags=["UN"])
    site.post("four", date="2021-01-04", categories=["events"], lang="fr")
    with make_app(PER_PAGE=1).test_client() as c:
        yield c


def feed_links(kind: str, slug: str, api: str) -> dict[str, str]:
    """The links object expected for a category or tag."""
    return {
        "atom": f"{BASE}/feeds/{kind}/{slug}/atom.xml",
        "rss": f"{BASE}/feeds/{kind}/{slug}/rss.xml",
        "json": f"{BASE}/feeds/{kind}/{slug}/feed.json",
        "ics": f"{BASE}/feeds/{kind}/{slug}/calendar.ics",
        "api": api,
    }


def test_categories_in_site_order_with_counts_and_links(api: Any) -> None:
    r = api.get("/api/v1/categories")
    assert r.status_code == 200 and r.mimetype == "application/json"
    cats = r.get_json()
    assert [(c["slug"], c["post_count"]) for c in cats] == [("statements", 2), ("events", 2), ("publications", 1), ("empty", 0)]
    first = cats[0]
    assert first == {
        "slug": "statements",
        "title": "Statements",
        "description": "Statements at UN meetings",
        "post_count": 2,
        "links": feed_links("categories", "statements", f"{BASE}/api/v1/categories/statements/posts"),
    }


def test_one_category(api: Any) -> None:
    r = api.get("/api/v1/categories/events")
    assert r.status_code == 200
    assert r.get_json() == api.get("/api/v1/categories").get_json()[1]
    empty = api.get("/api/v1/categories/empty").get_json()
    assert empty["post_count"] == 0 and empty["description"] == "No posts yet"


@pytest.mark.parametrize("url", ["/api/v1/categories/nope", "/api/v1/categories/nope/posts", "/api/v1/categories/Statements"])
def test_unknown_category_is_404_json(api: Any, url: str) -> None:
    r = api.get(url)
    assert r.status_code == 404
    assert r.get_json()["error"]["code"] == "not_found"


def test_category_posts_paged_and_filtered(api: Any) -> None:
    r = api.get("/api/v1/categories/events/posts")
    assert [p["slug"] for p in r.get_json()["items"]] == ["four"]
    doc = r.get_json()
    assert doc["meta"] == {"page": 1, "per_page": 1, "total_items": 2, "total_pages": 2}
    assert doc["links"]["next"] == f"{BASE}/api/v1/categories/events/posts?page=2&per_page=1"
    assert r.headers["X-Total-Count"] == "2"
    page2 = api.get("/api/v1/categories/events/posts?page=2").get_json()
    assert [p["slug"] for p in page2["items"]] == ["two"]
    fr = api.get("/api/v1/categories/events/posts?lang=fr&per_page=5").get_json()
    assert [p["slug"] for p in fr["items"]] == ["four"]
    assert fr["links"]["self"] == f"{BASE}/api/v1/categories/events/posts?lang=fr&page=1&per_page=5"
    assert api.get("/api/v1/categories/empty/posts").get_json()["items"] == []
    assert api.get("/api/v1/categories/events/posts?page=3").status_code == 404


def test_category_posts_validate_their_parameters(api: Any) -> None:
    r = api.get("/api/v1/categories/events/posts?page=٣&since=never")
    assert r.status_code == 400
    assert sorted(d["name"] for d in r.get_json()["error"]["details"]) == ["page", "since"]
    # The category comes from the path; a `category` parameter here is not one of its parameters.
    assert api.get("/api/v1/categories/events/posts?category=nope").status_code == 200


def test_tags_by_slug_with_counts_labels_and_links(api: Any) -> None:
    tags = api.get("/api/v1/tags").get_json()
    by_slug = {t["slug"]: t for t in tags}
    assert [t["slug"] for t in tags] == sorted(by_slug)
    assert {s: t["post_count"] for s, t in by_slug.items()} == {"un": 3, "harm-reduction": 1, "acao-global": 1}
    assert by_slug["un"]["tag"] == "UN"  # the label most posts use
    assert by_slug["acao-global"]["tag"] == "Ação Global"
    assert by_slug["un"] == {
        "tag": "UN",
        "slug": "un",
        "post_count": 3,
        "links": feed_links("tags", "un", f"{BASE}/api/v1/posts?tag=un"),
    }
    for t in tags:  # each tag's api link lists exactly post_count posts
        path = t["links"]["api"].removeprefix(BASE)
        assert api.get(path).get_json()["meta"]["total_items"] == t["post_count"]


def test_lists_are_cacheable_and_head_works(api: Any) -> None:
    for url in ("/api/v1/tags", "/api/v1/categories", "/api/v1/categories/events"):
        r = api.get(url)
        assert r.headers.get("ETag") and r.headers.get("Last-Modified")
        assert api.get(url, headers={"If-None-Match": r.headers["ETag"]}).status_code == 304
        head = api.head(url)
        assert head.status_code == 200 and head.data == b""
