"""A large load publishes first and writes its full text afterwards (store/fulltext.py).

While published posts wait for their full text, a search is refused (``SearchNotReady``, answered
503) rather than answered with some of its matches; everything else is served. Once the writer's
steps have written it, every search gives what a load that wrote it at once gives, whatever was
edited, unpublished or deleted in between (the table is contentless: a wrong delete would leave
ghosts or corrupt it).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedsvc.content import Index, LiveIndex, Loader
from feedsvc.content import loader as loader_module
from feedsvc.content.errors import SearchNotReady
from feedsvc.content.store import fulltext

WORDS = ["naloxone", "harm", "rights", "bolsa"]


def write(site: Any, i: int, words: tuple[str, str], date: str = "2021-05-01T10:00:00Z") -> Any:
    title, body = words
    return site.post(f"p-{i:02d}", f"Body about {body}.", title=f"Title {title}", date=date)


def brute(index: Index, word: str) -> list[str]:
    """Slugs whose title, summary or body has ``word``, newest first (ties by slug)."""
    hits = [p for p in index.posts if word in f"{p.title} {p.summary} {p.content_text}".lower()]
    return [p.slug for p in sorted(hits, key=lambda p: (-p.date_ts, p.slug))]


def searched(index: Index, word: str) -> list[str]:
    return [p.slug for p in index.query(q=word)]


def fill_all(loader: Loader) -> int:
    steps = 0
    while loader.fill_search():
        steps += 1
    return steps + 1


@pytest.fixture
def small_batches(monkeypatch: Any) -> None:
    """A "large" load is one of more than 3 files, filled 2 posts a step."""
    monkeypatch.setattr(loader_module, "BATCH", 3)
    monkeypatch.setattr(fulltext, "FILL_STEP", 2)


def test_a_large_load_is_served_before_its_full_text_and_searches_wait_for_it(site: Any, small_batches: None) -> None:
    for i in range(9):
        write(site, i, (WORDS[i % 4], WORDS[(i + 1) % 4]), date=f"2021-05-0{i + 1}T10:00:00Z")
    loader = Loader(site.root)
    loader.defer_search = True
    index = loader.load()
    assert fulltext.pending(loader.conn) == 9
    assert len(index.query()) == 9 and index.query(category="statements")[0].slug == "p-08"  # the rest is served
    with pytest.raises(SearchNotReady):
        len(index.query(q="naloxone"))
    with pytest.raises(SearchNotReady):
        len(index.query(q="naloxone", category="statements"))
    assert index.search_waiting() == 9
    assert fill_all(loader) == 5  # 2 posts a step
    assert fulltext.pending(loader.conn) == 0 and index.search_waiting() == 0
    for word in WORDS:
        assert searched(index, word) == brute(index, word) != [], word
    # The same database as a load that wrote the full text at once: the same matches, the same order.
    at_once = Loader(site.root).load()
    for word in WORDS:
        assert searched(at_once, word) == searched(index, word)


def test_a_small_load_or_a_loader_that_does_not_defer_writes_the_full_text_at_once(site: Any, small_batches: None) -> None:
    for i in range(3):
        write(site, i, ("naloxone", "harm"))
    loader = Loader(site.root)
    loader.defer_search = True
    assert searched(loader.load(), "naloxone") == ["p-00", "p-01", "p-02"]  # 3 files: not large
    assert fulltext.pending(loader.conn) == 0
    for i in range(3, 9):
        write(site, i, ("naloxone", "harm"))
    plain = Loader(site.root)  # the CLI's and exports' loader: never deferred
    assert len(searched(plain.load(), "naloxone")) == 9 and fulltext.pending(plain.conn) == 0


edit_st = st.tuples(
    st.integers(0, 7),
    st.one_of(st.none(), st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS))),  # None: the file is deleted
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS)), min_size=4, max_size=8),
    steps_before=st.integers(0, 3),
    edits=st.lists(edit_st, max_size=6),
)
def test_edits_and_deletions_while_the_full_text_waits_leave_every_search_exact(
    site: Any, small_batches: None, first: list[tuple[str, str]], steps_before: int, edits: list[Any]
) -> None:
    for path in (site.root / "posts").glob("*.md"):
        path.unlink()
    for i, words in enumerate(first):
        write(site, i, words, date=f"2021-05-0{i % 3 + 1}T10:00:00Z")
    loader = Loader(site.root)
    loader.defer_search = True
    loader.load()
    for _ in range(steps_before):  # some posts' full text written, some still queued
        loader.fill_search()
    for i, words in edits:
        path = site.root / "posts" / f"p-{i % len(first):02d}.md"
        if words is None:
            path.unlink(missing_ok=True)
        else:
            site.touch_later(write(site, i % len(first), words), 5)
    index = loader.load()
    fill_all(loader)
    index = loader.load()
    for word in WORDS:
        assert searched(index, word) == brute(index, word), word
    # No ghost rows: with every file gone, the full-text table holds nothing.
    for path in (site.root / "posts").glob("*.md"):
        path.unlink()
    loader.load()
    conn = loader.conn
    assert conn.execute("SELECT count(*) FROM search").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM search_todo").fetchone()[0] == 0
    conn.execute("INSERT INTO search (search) VALUES ('integrity-check')")  # raises on a damaged index


def test_a_failed_step_loses_nothing_and_is_tried_again(site: Any, small_batches: None, monkeypatch: Any, caplog: Any) -> None:
    for i in range(6):
        write(site, i, ("naloxone", "harm"))
    loader = Loader(site.root)
    loader.defer_search = True
    loader.load()
    real = fulltext.fill

    def failing(conn: sqlite3.Connection, step: int | None = None) -> int:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO search (rowid, title, summary, body) VALUES (1, 'x', 'x', 'x')")
        conn.execute("ROLLBACK")
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(fulltext, "fill", failing)
    with caplog.at_level(logging.WARNING, logger="feedsvc.content"):
        for _ in range(5):  # every turn of the reload loop while the disk is full
            assert loader.fill_search() == 0  # nothing written, tried again at the next turn
    assert fulltext.pending(loader.conn) == 6
    assert len([r for r in caplog.records if "a step failed" in r.getMessage()]) == 1  # said once, not every turn
    monkeypatch.setattr(fulltext, "fill", real)
    fill_all(loader)
    assert searched(loader.load(), "naloxone") == [f"p-{i:02d}" for i in range(6)]


def test_the_reload_thread_writes_the_full_text_after_the_first_load(site: Any, small_batches: None) -> None:
    for i in range(8):
        write(site, i, ("naloxone", "harm"))
    live = LiveIndex(Loader(site.root), interval=0.05, watch=False)
    try:
        live.reload_for_children()  # the reload thread of this process (as a gunicorn master's)
        deadline = time.monotonic() + 30
        while fulltext.pending(live.loader.conn) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fulltext.pending(live.loader.conn) == 0
        with live.snapshot() as index:
            assert len(searched(index, "naloxone")) == 8
    finally:
        live.stop()
