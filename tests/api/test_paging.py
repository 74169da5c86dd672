"""Property: walking every page of /api/v1/posts for any filters finds each match once, newest first."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

LONDON = ZoneInfo("Europe/London")
CATS = ("statements", "events", "publications")
START = datetime(2021, 3, 20, 6, 0, tzinfo=UTC)  # spans the BST change on 2021-03-28


def corpus() -> list[dict[str, Any]]:
    """23 posts: rotating categories, tags, languages, words; some share a publication date."""
    posts = []
    for i in range(23):
        when = START + timedelta(hours=13 * (i - i % 4 // 3))  # every 4th post ties with its predecessor
        posts.append(
            {
                "slug": f"p{i:02d}-{'xyz'[i % 3]}",
                "date": when,
                "updated": when + timedelta(days=i % 5),
                "categories": [CATS[i % 3]] + (["statements"] if i % 7 == 0 and i % 3 else []),
                "tags": [t for t, k in (("a", 2), ("b", 3), ("c", 5)) if i % k == 0],
                "lang": "fr" if i % 4 == 1 else "en",
                "words": [w for w, k in (("apple", 2), ("pear", 3)) if i % k == 0],
            }
        )
    return posts


POSTS = corpus()


@pytest.fixture
def walker(site: Any, make_app: Any) -> Any:
    """A client over the corpus above (MAX_PER_PAGE 7)."""
    for p in POSTS:
        site.post(
            p["slug"],
            " ".join(["Body", *p["words"]]) + ".",
            title=f"Post {p['slug']}",
            date=p["date"].isoformat(),
            updated=p["updated"].isoformat(),
            categories=p["categories"],
            tags=p["tags"],
            lang=p["lang"],
            summary="Summary.",
        )
    with make_app(PER_PAGE=5, MAX_PER_PAGE=7).test_client() as c:
        yield c


def bound(text: str | None, end: bool) -> datetime | None:
    """What a since/until value means: a date is the whole day in Europe/London."""
    if text is None:
        return None
    if len(text) == 10:
        d = date.fromisoformat(text) + timedelta(days=1 if end else 0)
        t = datetime.combine(d, time(), tzinfo=LONDON)
        return t - timedelta(microseconds=1) if end else t
    return datetime.fromisoformat(text)


def expected(f: dict[str, Any]) -> list[str]:
    """Matching slugs, newest first (ties by slug), computed without feedsvc."""
    lo, hi, up = bound(f.get("since"), False), bound(f.get("until"), True), bound(f.get("updated_since"), False)
    out = [
        p
        for p in POSTS
        if (f.get("category") is None or f["category"] in p["categories"])
        and (f.get("tag") is None or f["tag"] in p["tags"])
        and (f.get("lang") is None or f["lang"] == p["lang"])
        and (f.get("q") is None or all(w.lower() in ["body", *p["words"]] for w in f["q"].split()))
        and (lo is None or p["date"] >= lo)
        and (hi is None or p["date"] <= hi)
        and (up is None or p["updated"] >= up)
    ]
    return [p["slug"] for p in sorted(out, key=lambda p: (-p["date"].timestamp(), p["slug"]))]


days = st.dates(date(2021, 3, 19), date(2021, 4, 3)).map(date.isoformat)
instants = st.builds(lambda d, h: f"{d}T{h:02d}:00:00Z", days, st.integers(0, 23))
when = st.none() | days | instants
filters = st.fixed_dictionaries(
    {
        "category": st.sampled_from([None, *CATS, "empty"]),
        "tag": st.sampled_from([None, "a", "b", "c", "zz"]),
        "lang": st.sampled_from([None, "en", "fr", "de"]),
        "q": st.sampled_from([None, "apple", "pear", "apple pear", "Body"]),
        "since": when,
        "until": when,
        "updated_since": when,
    }
)


@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(f=filters, per_page=st.integers(1, 7), via_category_path=st.booleans())
def test_every_page_walk_finds_each_match_once_newest_first(
    walker: Any, f: dict[str, Any], per_page: int, via_category_path: bool
) -> None:
    query = {k: v for k, v in f.items() if v is not None}
    url = "/api/v1/posts"
    if via_category_path and "category" in query:
        url = f"/api/v1/categories/{query.pop('category')}/posts"
    want = expected(f)
    first = walker.get(url, query_string={**query, "per_page": per_page})
    assert first.status_code == 200, first.data
    meta = first.get_json()["meta"]
    assert meta["total_items"] == len(want) == int(first.headers["X-Total-Count"])
    assert meta["total_pages"] == max(1, -(-len(want) // per_page))
    seen: list[str] = []
    resp, page = first, 1
    while True:
        doc = resp.get_json()
        assert doc["meta"]["page"] == page and len(doc["items"]) <= per_page
        assert doc["items"] or not want
        seen += [p["slug"] for p in doc["items"]]
        nxt = doc["links"].get("next")
        if not nxt:
            break
        page += 1
        resp = walker.get(urlsplit(nxt)._replace(scheme="", netloc="").geturl())
        assert resp.status_code == 200
    assert page == meta["total_pages"]
    assert seen == want


def test_corpus_exercises_ties_and_both_offsets() -> None:
    """The corpus really has equal dates (slug order decides) and both GMT and BST days."""
    dates = [p["date"] for p in POSTS]
    assert len(set(dates)) < len(dates)
    assert {d.astimezone(LONDON).utcoffset() for d in dates} == {timedelta(0), timedelta(hours=1)}
