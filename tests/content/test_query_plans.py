"""Lookups by slug, alias and tag go through an index: the plan SQLite picks, read with EXPLAIN QUERY PLAN.

Each test records the statements the public Index API runs (sqlite3's trace callback on
``Index.conn``) and asks SQLite for each one's plan: no step may scan a table, and no
lookup of one post may be driven by the ``published`` column (an index holding every
published post: 14 ms per unknown slug at 10k posts, growing with the corpus).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from feedsvc.content import Index, load_index
from feedsvc.content.index import read_header


def plans(index: Index, lookup: Callable[[], Any]) -> list[tuple[str, list[str]]]:
    """(statement, its plan's steps) for every statement ``lookup`` runs on the index's connection."""
    seen: list[str] = []
    index.conn.set_trace_callback(seen.append)
    try:
        lookup()
    finally:
        index.conn.set_trace_callback(None)
    # Statements a virtual table runs for itself come traced as "-- ..." (the full-text index's own reads).
    seen = [sql for sql in seen if not sql.startswith("--")]
    assert seen, "the lookup ran no statement"
    return [(sql, [row[3] for row in index.conn.execute("EXPLAIN QUERY PLAN " + sql)]) for sql in seen]


def assert_indexed(found: list[tuple[str, list[str]]]) -> None:
    """Every step searches an index by a key; none scans, none is driven by ``published`` alone."""
    for sql, steps in found:
        for step in steps:
            if step.startswith(("USE TEMP B-TREE", "SCALAR SUBQUERY", "CORRELATED")):
                continue
            assert step.startswith("SEARCH"), (sql, steps)
            assert "(published=?)" not in step, (sql, steps)


@pytest.fixture
def index(site: Any) -> Index:
    for i in range(12):
        site.post(f"post-{i}", f"Body {i}.", date=f"2021-04-{i + 1:02d}", tags=["Harm Reduction", f"T{i}"], aliases=[f"old-{i}"])
    site.post("zz-dup", "Same slug as post-1.", slug="post-1")  # a duplicate: not published, a problem
    return load_index(site.root)


@pytest.mark.parametrize("slug", ["post-3", "no-such-post", "old-4"])
def test_post_by_slug_uses_the_slug_index(index: Index, slug: str) -> None:
    found = plans(index, lambda: index.get(slug))
    assert_indexed(found)
    assert any("posts_slug (slug=?)" in step for _, steps in found for step in steps), found


@pytest.mark.parametrize("slug", ["old-4", "post-3", "no-such-post"])
def test_alias_lookup_uses_indexes(index: Index, slug: str) -> None:
    found = plans(index, lambda: index.alias_target(slug))
    assert_indexed(found)
    assert any("posts_slug (slug=?)" in step for _, steps in found for step in steps), found
    assert index.alias_target("old-4") == "post-4" and index.alias_target("post-4") is None


@pytest.mark.parametrize("given", ["harm-reduction", "Harm Reduction", "no such tag"])
def test_tag_by_slug_or_name_uses_primary_keys(index: Index, given: str) -> None:
    assert_indexed(plans(index, lambda: index.tag_slug(given)))
    assert_indexed(plans(index, lambda: index.tags.get("harm-reduction")))
    assert index.tag_slug("Harm Reduction") == "harm-reduction"


def test_duplicate_slug_problems_read_through_the_slug_index(index: Index) -> None:
    """The header lists each unpublished duplicate: one slug probe per duplicate, not a scan per one."""
    found = plans(index, lambda: read_header(index.conn, degraded=()))
    dup = [(sql, steps) for sql, steps in found if "JOIN posts o" in sql]
    assert dup, found
    for _, steps in dup:
        inner = [s for s in steps if " o " in f" {s} "]
        # each duplicate probes the slug (or id) index: never a scan, never the published index
        assert inner and all(
            s.startswith("SEARCH o USING") and ("posts_slug (slug=?" in s or "posts_entry_id (entry_id=?" in s) for s in inner
        ), steps
    assert any(p.field == "slug" for p in read_header(index.conn, degraded=()).problems)


def _steps(found: list[tuple[str, list[str]]]) -> list[str]:
    return [step for _, steps in found for step in steps]


@pytest.fixture
def mixed(site: Any) -> Index:
    langs = ["en", "fr", "es"]
    for i in range(30):
        site.post(
            f"m-{i}",
            f"Rights and health {i}." + (" Naloxone." if i % 3 == 0 else ""),
            date=f"2021-05-{i % 28 + 1:02d}T10:00:{i % 2:02d}Z",
            lang=langs[i % 3],
            categories=["statements" if i % 2 else "events"],
            tags=[f"T{i % 5}", "Common"],
        )
    return load_index(site.root)


@pytest.mark.parametrize(
    "filters",
    [
        dict(category="events", tag="t1", lang="fr"),
        dict(category="events", lang="es"),
        dict(tag="common", lang="en"),
        dict(category="statements", tag="t3"),
        dict(category="events"),
        dict(tag="t2"),
        dict(lang="fr"),
    ],
)
def test_filter_counts_are_kept_and_the_newest_change_is_one_index_walk(mixed: Index, filters: dict[str, str]) -> None:
    """A page of category, tag and language filters is counted by one primary-key read (counts of each
    combination are kept), and its newest change read walking an index by change instant: no statement
    visits every match (no count(*) nor max() over a list, no sort)."""
    found = plans(mixed, lambda: (len(mixed.query(**filters)), mixed.query_last_modified(**filters)))
    assert_indexed(found)
    assert not any("count(" in sql.lower() or "max(d." in sql.lower() for sql, _ in found), found
    assert not any(step.startswith("USE TEMP B-TREE") for step in _steps(found)), found
    assert any("changed" in step for step in _steps(found)), found
    brute = [
        p
        for p in mixed.posts
        if all(
            (p.lang == v) if k == "lang" else (v in p.categories) if k == "category" else (v in [t.slug for t in p.tags])
            for k, v in filters.items()
        )
    ]
    assert len(mixed.query(**filters)) == len(brute) and list(mixed.query(**filters)) == brute


@pytest.mark.parametrize("offset", [0, 1, 9, 10, 19])
def test_a_search_page_reads_the_full_text_index_newest_first_without_sorting_every_match(mixed: Index, offset: int) -> None:
    """``q`` pages come from the full-text index in key order (date order), stopped past the page: never
    the matches gathered into a list and sorted; the posts are then read by key."""
    page = mixed.query(q="rights")
    found = plans(mixed, lambda: page[offset : offset + 5])
    steps = _steps(found)
    assert not any("IN (SELECT rowid" in sql for sql, _ in found), found
    assert not any(step.startswith(("USE TEMP B-TREE", "LIST SUBQUERY")) for step in steps), found
    assert any("posts_sk (sk=?)" in step for step in steps), found
    assert any("VIRTUAL TABLE INDEX" in step for step in steps), found


@pytest.mark.parametrize("filters", [dict(category="events", lang="fr"), dict(tag="common"), dict(lang="es")])
def test_a_search_with_filters_reads_the_search_keys_the_filter_lists_carry(mixed: Index, filters: dict[str, str]) -> None:
    """The category and tag lists and the posts' order indexes carry each post's search key: a search
    with filters matches them against the full-text index without reading a post row per match."""
    found = plans(mixed, lambda: (len(mixed.query(q="rights", **filters)), mixed.query(q="rights", **filters)[0:5]))
    listing = [(sql, steps) for sql, steps in found if "MATCH" in sql]
    assert listing, found
    for sql, steps in listing:
        assert not any("USING INTEGER PRIMARY KEY" in step for step in steps), (sql, steps)
        assert not any(step.startswith("SCAN") and "VIRTUAL TABLE" not in step for step in steps), (sql, steps)
        assert all("COVERING INDEX" in step or "PRIMARY KEY" in step for step in steps if step.startswith("SEARCH d ")), (
            sql,
            steps,
        )


def _no_post_scan(found: list[tuple[str, list[str]]]) -> None:
    """No step visits every post: no scan of the posts table or one of its indexes, none driven by ``published``."""
    for sql, steps in found:
        for step in steps:
            table = step.split()[1] if step.startswith(("SCAN", "SEARCH")) else ""
            partial = step.endswith(("USING INDEX posts_news", "USING INDEX posts_translation"))  # a few posts each
            assert not (step.startswith("SCAN") and table in ("p", "s", "o", "d", "posts") and not partial), (sql, steps)
            assert "(published=?)" not in step, (sql, steps)


@pytest.fixture
def translated(site: Any) -> tuple[Any, Any]:
    """Originals in English, each with French and Spanish versions (``translation_of``)."""
    from feedsvc.content import Loader

    for i in range(8):
        site.post(f"t-{i}", f"Original {i}.", date=f"2021-06-{i + 1:02d}")
        for lang in ("fr", "es"):
            site.post(f"t-{i}-{lang}", f"Version {i}.", date=f"2021-06-{i + 1:02d}", lang=lang, translation_of=f"t-{i}")
    loader = Loader(site.root)
    loader.load()
    return site, loader


def test_a_reload_links_translations_by_index_never_visiting_every_post(translated: tuple[Any, Any]) -> None:
    """Each reload regroups the translations: the translating posts come from their own partial index and
    each original by its slug (it was a scan of every published post per translation: O(translations x
    posts) per reload), and the groups drive their joins with the posts."""
    site, loader = translated
    seen: list[str] = []
    site.touch_later(site.post("t-3-fr", "Version 3, revised.", date="2021-06-04", lang="fr", translation_of="t-3"), 5)
    loader.conn.set_trace_callback(seen.append)
    try:
        index = loader.load()
    finally:
        loader.conn.set_trace_callback(None)
    grouping = [sql for sql in seen if "groups" in sql or "translation_of" in sql]
    assert any("INDEXED BY posts_translation" in sql for sql in grouping), grouping
    _no_post_scan([(sql, [r[3] for r in loader.conn.execute("EXPLAIN QUERY PLAN " + sql)]) for sql in grouping])
    post = index.get("t-3")
    assert post is not None and sorted(p.slug for p in index.translations(post)) == ["t-3-es", "t-3-fr"]


def test_reads_of_translations_news_and_last_modified_never_visit_every_post(translated: tuple[Any, Any]) -> None:
    from feedsvc.content import catalog

    _, loader = translated
    index = loader.load()
    post = index.get("t-2")
    assert post is not None
    found = plans(
        index,
        lambda: (
            index.translations(post),
            index.last_modified([post, *index.translations(post)]),
            index.news_last_modified(),
            catalog.max_versions(index),
            catalog.posts_located(index, 0, 5),
            catalog.news(index, 10),
        ),
    )
    # posts_located's page itself walks the feed-order index (published, date): that is the list being paged.
    _no_post_scan([(sql, steps) for sql, steps in found if "LEFT JOIN groups g ON g.post = p.id" not in sql])
    assert catalog.max_versions(index) == 3


@pytest.mark.parametrize("filters", [dict(category="events"), dict(tag="common"), dict(lang="fr"), {}])
def test_whether_a_scope_has_an_event_stops_at_the_first_one(mixed: Index, filters: dict[str, str]) -> None:
    """The OPML lists a scope's calendar when it has an event: asked as "is there one", never as "the
    latest one", which sorted every event of the scope (180 ms for the OPML at 100k posts, 2 ms now)."""
    from feedsvc.content.queries import Query

    found = plans(mixed, lambda: mixed.has_events(Query(**filters)))
    assert not any(step.startswith("USE TEMP B-TREE") for step in _steps(found)), found
    assert all("ORDER BY" not in sql for sql, _ in found), found
    assert mixed.has_events(Query(**filters)) is False  # no post of ``mixed`` has an event
