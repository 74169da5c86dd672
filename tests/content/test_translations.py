"""translation_of: versions of one text grouped in the core; bad references named, posts still published."""

from __future__ import annotations

from typing import Any

from feedsvc.content import LiveIndex, Loader, load_index


def _versions(idx: Any, slug: str) -> list[tuple[str, str]]:
    return [(p.lang, p.slug) for p in idx.translations(idx.get(slug))]


def test_one_text_in_four_languages(site: Any) -> None:
    site.post("statement", title="Statement", lang="en")
    site.post("declaration", title="Déclaration", lang="fr", translation_of="statement")
    site.post("заявление", title="Заявление", lang="ru", translation_of="statement")
    site.post("بيان", title="بيان", lang="ar", translation_of="statement")
    site.post("other", title="Unrelated")
    idx = load_index(site.root)
    assert idx.problems == ()
    assert _versions(idx, "statement") == [("ar", "بيان"), ("fr", "declaration"), ("ru", "заявление")]
    assert _versions(idx, "заявление") == [("ar", "بيان"), ("en", "statement"), ("fr", "declaration")]
    assert _versions(idx, "other") == []
    assert len(idx.posts) == 5  # each version keeps its own place in the feeds
    assert len({p.id for p in idx.posts}) == 5


def test_bad_references_are_named_and_the_posts_still_published(site: Any) -> None:
    site.post("original", title="Original", lang="en")
    site.post("fr-one", title="Un", lang="fr", translation_of="original")
    site.post("fr-two", title="Deux", lang="fr", translation_of="original")  # a second French version
    site.post("en-again", title="Again", lang="en", translation_of="original")  # the original's own language
    site.post("nowhere", title="Nowhere", lang="es", translation_of="no-such-post")
    site.post("chain", title="Chain", lang="ru", translation_of="fr-one")  # a translation of a translation
    site.post("selfish", title="Self", lang="de", translation_of="selfish")
    idx = load_index(site.root)
    problems = {p.path: p for p in idx.problems}
    assert set(problems) == {"posts/fr-two.md", "posts/en-again.md", "posts/nowhere.md", "posts/chain.md", "posts/selfish.md"}
    assert all(p.field == "translation_of" for p in problems.values())
    assert "fr" in problems["posts/fr-two.md"].message and "posts/fr-one.md" in problems["posts/fr-two.md"].message
    assert "no-such-post" in problems["posts/nowhere.md"].message
    assert "itself a translation" in problems["posts/chain.md"].message
    assert len(idx.posts) == 7
    assert _versions(idx, "original") == [("fr", "fr-one")]
    assert _versions(idx, "fr-two") == [] and _versions(idx, "chain") == []


def test_groups_follow_edits(site: Any) -> None:
    site.post("a", title="A", lang="en")
    b = site.post("b", title="B", lang="fr", translation_of="a")
    li = LiveIndex(Loader(site.root), interval=0)
    assert _versions(li.current, "a") == [("fr", "b")]
    site.touch_later(site.post("b", title="B", lang="fr"))  # the link removed
    idx = li.refresh()
    assert _versions(idx, "a") == []
    site.touch_later(site.post("b", title="B", lang="fr", translation_of="a"), 4)
    idx = li.refresh()
    assert _versions(idx, "a") == [("fr", "b")]
    (site.root / "posts" / "a.md").unlink()  # the original goes: the link is reported, b stays
    idx = li.refresh()
    assert [p.slug for p in idx.posts] == ["b"] and idx.problems[0].path == "posts/b.md"
    assert b.exists()
