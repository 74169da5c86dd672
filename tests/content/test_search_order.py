"""``q`` pages and filter counts stay what they mean: every match, newest first (ties by slug), counted
exactly, whatever the dates share, and after edits move posts between seconds, filters and languages.

The search reads the full-text index in key order (a post's second of date, then a number within it)
and sorts only the seconds a page reaches; the counts of category, tag and language combinations are
kept as posts are published and unpublished. Both are checked against a brute-force reading of
every post.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedsvc.content import Index, Loader

SECONDS = [
    "2021-05-01T10:00:00Z",
    "2021-05-01T10:00:00.500Z",
    "2021-05-01T10:00:01Z",
    "2021-05-02T08:00:00Z",
    "2020-12-31T23:59:59Z",
]
post_st = st.tuples(
    st.sampled_from(SECONDS),
    st.booleans(),
    st.sampled_from(["en", "fr"]),
    st.sampled_from(["statements", "events"]),
    st.sampled_from(["a", "b"]),
)


def brute(index: Index, word: str | None = None, **filters: str) -> list[str]:
    """Slugs matching, newest first (ties by slug), read from every post."""
    out = []
    for p in sorted(index.posts, key=lambda p: (-p.date_ts, p.slug)):
        if word is not None and word not in p.content_text.lower():
            continue
        if "category" in filters and filters["category"] not in p.categories:
            continue
        if "tag" in filters and filters["tag"] not in [t.slug for t in p.tags]:
            continue
        if "lang" in filters and p.lang != filters["lang"]:
            continue
        out.append(p.slug)
    return out


def check(index: Index) -> None:
    want = brute(index, "naloxone")
    got = index.query(q="naloxone")
    assert len(got) == len(want)
    for size in (1, 2, 3, 7):
        pages = [p.slug for start in range(0, len(want) + size, size) for p in got[start : start + size]]
        assert pages == want, size
    for filters in (
        dict(category="events", tag="a", lang="fr"),
        dict(category="statements", lang="en"),
        dict(tag="b", lang="fr"),
        dict(category="events", tag="b"),
    ):
        assert len(index.query(**filters)) == len(brute(index, **filters)), filters
        assert [p.slug for p in index.query(**filters)] == brute(index, **filters)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.lists(post_st, min_size=1, max_size=14), edits=st.lists(st.tuples(st.integers(0, 13), post_st), max_size=6))
def test_search_pages_and_counts_match_a_brute_force_reading(
    site: Any, tmp_path: Any, first: list[Any], edits: list[Any]
) -> None:
    for path in (site.root / "posts").glob("*.md"):
        path.unlink()

    def write(i: int, spec: tuple[str, bool, str, str, str]) -> Any:
        date, hit, lang, cat, tag = spec
        return site.post(
            f"p-{i:02d}", "Naloxone saves lives." if hit else "Nothing here.", date=date, lang=lang, categories=[cat], tags=[tag]
        )

    for i, spec in enumerate(first):
        write(i, spec)
    loader = Loader(site.root)
    check(loader.load())
    for i, spec in edits:
        path = site.root / "posts" / f"p-{i % len(first):02d}.md"
        site.touch_later(write(i % len(first), spec), 5)
        assert path.exists()
    check(loader.load())


def test_keys_of_a_second_are_reused_once_they_reach_its_end(site: Any, monkeypatch: Any) -> None:
    """Re-publishing moves a post to the next key of its second; at the second's end the lowest free key
    is taken (4 keys a second here), so edits never run out of keys nor break the order."""
    from feedsvc.content import queries
    from feedsvc.content.store import writer as store

    monkeypatch.setattr(queries, "SK_BITS", 2)
    monkeypatch.setattr(store, "SK_BITS", 2)
    from feedsvc.content import matching

    monkeypatch.setattr(matching, "SK_BITS", 2)
    for name in ("b", "a", "c"):
        site.post(name, "Naloxone.", date="2021-05-01T10:00:00Z")
    site.post("d", "Naloxone.", date="2021-05-01T10:00:01Z")
    loader = Loader(site.root)
    check(loader.load())
    for n in range(8):
        site.touch_later(site.post("a", f"Naloxone {n}.", date="2021-05-01T10:00:00Z"), n + 1)
        index = loader.load()
        check(index)
        assert [p.slug for p in index.query(q="naloxone")] == ["d", "a", "b", "c"]
