"""The index: lookups, combined filters, full-text search, paging."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedsvc.content import Page, load_index


def build(site):
    site.post("s1", "Harm reduction saves lives.", date="2021-04-16", categories=["statements"], tags=["CND", "Harm Reduction"])
    site.post(
        "s2",
        "Décriminalisation now.",
        date="2021-04-12",
        categories=["statements", "publications"],
        tags=["cnd"],
        lang="fr",
        title="Rapport",
    )
    site.post(
        "e1",
        "Join us.",
        date="2021-03-25",
        updated="2021-05-01",
        categories=["events"],
        tags=["CND"],
        event={"start": "2021-04-12T14:00:00+02:00"},
    )
    site.post(
        "p1",
        "A report on decriminalisation in Portugal.",
        date="2021-03-23",
        categories=["publications"],
        summary="Portugal report",
    )
    return load_index(site.root)


def slugs(posts):
    return [p.slug for p in posts]


def test_filters(site):
    idx = build(site)
    assert slugs(idx.posts) == ["s1", "s2", "e1", "p1"]
    assert slugs(idx.query(category="statements")) == ["s1", "s2"]
    assert slugs(idx.query(category="publications")) == ["s2", "p1"]
    assert slugs(idx.query(category="empty")) == []
    assert slugs(idx.query(category="nope")) == []
    assert slugs(idx.query(tag="cnd")) == ["s1", "s2", "e1"]
    assert slugs(idx.query(tag="cnd", lang="fr")) == ["s2"]
    assert slugs(idx.query(lang="en", category="publications")) == ["p1"]
    assert slugs(idx.query(since=datetime(2021, 4, 1, tzinfo=UTC))) == ["s1", "s2"]
    assert slugs(idx.query(until=datetime(2021, 4, 1, tzinfo=UTC))) == ["e1", "p1"]
    assert slugs(idx.query(since=datetime(2021, 3, 25, tzinfo=UTC), until=datetime(2021, 4, 12, tzinfo=UTC))) == ["s2", "e1"]
    assert slugs(idx.query(updated_since=datetime(2021, 4, 13, tzinfo=UTC))) == ["s1", "e1"]


def test_full_text_search(site):
    idx = build(site)
    assert slugs(idx.query(q="decriminalisation")) == ["s2", "p1"]  # accent-insensitive
    assert slugs(idx.query(q="PORTUGAL report")) == ["p1"]  # all words, any case, summary counts
    assert slugs(idx.query(q="rapport")) == ["s2"]  # title
    assert slugs(idx.query(q="harm", category="events")) == []
    assert slugs(idx.query(q="'; DROP TABLE posts; --")) == []
    assert slugs(idx.query(q="   ")) == []


def test_counts_and_tags(site):
    idx = build(site)
    assert [(c.category.slug, c.count) for c in idx.categories] == [
        ("statements", 2),
        ("events", 1),
        ("publications", 2),
        ("empty", 0),
    ]
    assert {s: (t.tag.label, t.count) for s, t in idx.tags.items()} == {
        "cnd": ("CND", 3),
        "harm-reduction": ("Harm Reduction", 1),
    }
    assert idx.languages == ("en", "fr")


def test_page_arithmetic():
    p = Page(1, 20, 0)
    assert (p.total_pages, p.exists, p.next, p.prev) == (1, True, None, None)
    p = Page(3, 20, 41)
    assert (p.total_pages, p.exists, p.next, p.prev) == (3, True, None, 2)
    assert not Page(4, 20, 41).exists and not Page(0, 20, 41).exists
    assert list(Page(2, 2, 5).slice(range(5))) == [2, 3]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.sampled_from(["en", "fr"])), min_size=0, max_size=15),
    st.sampled_from([None, "statements", "events"]),
    st.sampled_from([None, "t0", "t1"]),
    st.sampled_from([None, "en", "fr"]),
)
def test_query_matches_brute_force(tmp_path_factory, posts, category, tag, lang):
    from support.site import SiteTree

    site = SiteTree(tmp_path_factory.mktemp("c") / "content")
    cats = ["statements", "events", "publications", "statements"]
    for i, (day, t, lg) in enumerate(posts):
        site.post(f"p{i}", date=f"2021-01-{day + 1:02d}", categories=[cats[day]], tags=[f"t{t}"], lang=lg)
    idx = load_index(site.root)
    expect = [
        p
        for p in idx.posts
        if (category is None or category in p.categories)
        and (tag is None or tag in p.tag_slugs)
        and (lang is None or p.lang == lang)
    ]
    assert idx.query(category=category, tag=tag, lang=lang) == tuple(expect)
    keys = [p.sort_key() for p in idx.posts]
    assert keys == sorted(keys)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.integers(0, 2)), min_size=0, max_size=12),
    st.sampled_from([None, "statements", "events"]),
    st.sampled_from([None, "t0", "t1"]),
)
def test_query_last_modified_equals_last_modified_of_the_matches(tmp_path_factory, posts, category, tag):
    import os

    from support.site import SiteTree

    site = SiteTree(tmp_path_factory.mktemp("c") / "content")
    cats = ["statements", "events", "publications"]
    for i, (day, t, c) in enumerate(posts):
        path = site.post(
            f"p{i}", date=f"2021-01-{day + 1:02d}", updated=f"2021-02-{day + t + 1:02d}", categories=[cats[c]], tags=[f"t{t}"]
        )
        mtime = 1_600_000_000 + i * 2_000_000 * t  # from 2020-09 to 2022: some newer than every date
        os.utime(path, (mtime, mtime))
    for path in (site.root / "site.yaml", site.root / "posts"):  # or the tree's own mtime hides every post
        os.utime(path, (1_500_000_000, 1_500_000_000))
    idx = load_index(site.root)
    assert idx.content_mtime.timestamp() == 1_500_000_000
    for query in ({}, {"category": category}, {"tag": tag}, {"category": category, "tag": tag}, {"q": "body"}):
        matches = [
            p
            for p in idx.posts
            if (query.get("category") in (None, *p.categories)) and (query.get("tag") in (None, *p.tag_slugs))
        ]
        # Independent of the index: the newest `updated` or file mtime of every match, or the tree's own.
        newest = max(
            [p.updated for p in matches]
            + [datetime.fromtimestamp(p.mtime_ns // 10**9, UTC) for p in matches]
            + [idx.content_mtime]
        )
        assert idx.query(**query) == tuple(matches), query
        assert idx.query_last_modified(**query) == newest.replace(microsecond=0), query
        assert idx.last_modified(matches) == newest.replace(microsecond=0), query


def test_query_results_reference_no_post_until_taken(site):
    # A forked worker that filters must not touch (refcount) every matching post: only
    # the page it takes. The memoised result holds positions, not posts.
    import sys

    from feedsvc.content import PostList

    for i in range(30):
        site.post(f"p{i:02}", tags=["x"] if i % 2 else ["y"], date=f"2021-01-{i + 1:02}")
    idx = load_index(site.root)
    before = {p.slug: sys.getrefcount(p) for p in idx.posts}
    result = idx.query(tag="x")
    assert isinstance(result, PostList) and len(result) == 15
    assert {p.slug: sys.getrefcount(p) for p in idx.posts} == before
    page = result[:5]
    assert [p.slug for p in page] == ["p29", "p27", "p25", "p23", "p21"]
    assert result[-1].slug == "p01" and result[5].slug == "p19"
    assert result == tuple(p for p in idx.posts if p.tags[0].slug == "x") and result != page
    assert list(reversed(result))[0].slug == "p01" and idx.posts[-1] not in result


WORDS = ["naloxone", "rights", "prison", "harm"]


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 9), st.integers(0, 2), st.integers(0, 2), st.integers(0, 3), st.sets(st.sampled_from(WORDS))),
        max_size=14,
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "category": st.sampled_from(["statements", "events", "publications"]),
            "tag": st.sampled_from(["t0", "t1"]),
            "lang": st.sampled_from(["en", "fr", "EN"]),
            "q": st.sampled_from(WORDS + ["rights harm", "prison naloxone"]),
            "since": st.integers(1, 10),
            "until": st.integers(1, 10),
        },
    ),
)
def test_every_filter_combination_matches_a_plain_scan(tmp_path_factory, posts, query):
    # Sets, sorted lists, search matches and date bounds combined: the same posts, in
    # the same order, as filtering every post one by one.
    from support.site import SiteTree

    site = SiteTree(tmp_path_factory.mktemp("f") / "content")
    cats, langs = ["statements", "events", "publications"], ["en", "fr", "es"]
    for i, (day, c, lang, t, words) in enumerate(posts):
        site.post(
            f"p{i}",
            " ".join(sorted(words)) or "nothing",
            date=f"2021-03-{day + 1:02d}",
            categories=[cats[c]],
            tags=[f"t{t}"],
            lang=langs[lang],
        )
    idx = load_index(site.root)
    bounds = {k: datetime(2021, 3, v, tzinfo=UTC) for k, v in query.items() if k in ("since", "until")}
    args = {**query, **bounds}
    if "until" in bounds:
        args["until"] = bounds["until"].replace(hour=23, minute=59)

    def keep(p) -> bool:
        return (
            (query.get("category") in (None, *p.categories))
            and (query.get("tag") in (None, *p.tag_slugs))
            and (query.get("lang") is None or query["lang"].lower() == p.lang.lower())
            and all(w in p.content_text.split() for w in query.get("q", "").split())
            and ("since" not in args or p.date >= args["since"])
            and ("until" not in args or p.date <= args["until"])
        )

    assert [p.slug for p in idx.query(**args)] == [p.slug for p in idx.posts if keep(p)], args


def test_search_matches_come_newest_first_however_they_hash(site):
    # Ordinals 5 and 33 land in a small set's slots as 33, 5: the answer must still be sorted.
    for i in range(40):
        site.post(
            f"p{i:02}", "zebra crossing" if i in (39 - 5, 39 - 33) else "nothing", date=f"2021-0{1 + i // 28}-{1 + i % 28:02}"
        )
    idx = load_index(site.root)
    assert [idx.posts.index(p) for p in idx.query(q="zebra")] == [5, 33]
    assert [p.slug for p in idx.query(q="zebra crossing")] == ["p34", "p06"]


def test_search_counts_and_last_modified(site):
    idx = build(site)
    for q in ("decriminalisation", "report", "harm", "nothing-matches-this", "PORTUGAL report"):
        matches = list(idx.query(q=q))
        assert len(idx.query(q=q)) == len(matches)
        assert idx.query_last_modified(q=q) >= idx.last_modified(matches)  # never earlier than a match's change
        filtered = [p for p in matches if "publications" in p.categories]
        assert len(idx.query(q=q, category="publications")) == len(filtered)
