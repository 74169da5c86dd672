"""First-start parsing in forked processes gives exactly what parsing in one process gives."""

from __future__ import annotations

import feedsvc.content.parallel as loader_mod
from feedsvc.content import Loader


def _fill(site) -> None:
    for i in range(23):
        site.post(
            f"{2000 + i}/p{i}",
            f"Body {i} with naloxone and word{i % 5}.",
            title=f"Post {i}",
            tags=[f"t{i % 3}"],
            date=f"2021-0{1 + i % 9}-1{i % 10}",
        )
    site.raw("broken.md", "---\ntitle: [oops\n---\n")  # a problem
    site.post("draft", title="Draft", draft=True)  # no post
    site.post("dup", title="Duplicate slug", slug="p3")


def _state(index):
    queries = ["naloxone", "word3", "body 7", "post", "nothing-matches", "zebras", "word0 body 5"]
    return (
        index.version,
        [(p.slug, p.title, p.tags) for p in index.posts],
        sorted(map(str, index.problems)),
        {q: [p.slug for p in index.query(q=q)] for q in queries},
    )


def test_parallel_first_start_equals_sequential(site, monkeypatch):
    _fill(site)
    sequential = Loader(site.root).load()
    monkeypatch.setattr(loader_mod, "PARALLEL_MIN_FILES", 4)
    monkeypatch.setattr(loader_mod, "PARALLEL_CHUNK", 5)  # several chunks, a short last one
    monkeypatch.setattr(loader_mod.threading, "active_count", lambda: 1)  # other tests' threads
    monkeypatch.setattr(loader_mod.os, "cpu_count", lambda: 2)
    pools = []
    real = loader_mod.multiprocessing.get_context
    monkeypatch.setattr(loader_mod.multiprocessing, "get_context", lambda m: pools.append(m) or real(m))
    loader = Loader(site.root)
    parallel = loader.load()
    assert pools == ["fork"], "the parallel path ran"
    assert _state(parallel) == _state(sequential)
    # Later edits are parsed in this process and indexed like the first load's.
    site.touch_later(site.post("2005/p5", "Now about zebras.", title="Post 5 edited"))
    site.post("new", "Zebras again.", title="New")
    again = loader.load()
    assert {p.slug for p in again.query(q="zebras")} == {"p5", "new"}
    monkeypatch.undo()
    assert _state(again) == _state(Loader(site.root).load())
