"""The outbox's event source: a look at every post lets the master fork between posts, and builds each URL once."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from feedsvc.extensions import state
from feedsvc.outbox import events, outbox


def _corpus(site: Any, n: int) -> None:
    for i in range(n):
        tags, date = [f"t{i % 7}", f"u{i % 3}"], f"2021-{1 + i % 12:02d}-{1 + i % 28:02d}"
        site.post(f"p{i:04d}", title=f"Post {i}", date=date, tags=tags, lang="en" if i % 4 else "fr")


def test_a_look_at_every_post_pauses_between_posts_with_no_lock_held(
    site: Any, make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first step describes every post (about 0.2 ms each: 20 s at 100k posts, one unit of the
    fork gate). It pauses after at most PAUSE_EVERY posts described, where a fork of the master may
    go first; the queue's lock is free there (another thread takes it at once)."""
    _corpus(site, 230)
    app = make_app()
    index = state(app).live.current
    queue = outbox(app).sender.queue
    described, gaps, free = [0], [], []
    real = events._describe

    def counting(*args: Any) -> Any:
        described[0] += 1
        return real(*args)

    def pause() -> None:
        gaps.append(described[0])
        described[0] = 0
        took: list[bool] = []

        def take() -> None:
            took.append(queue.lock.acquire(timeout=0))
            if took[0]:
                queue.lock.release()

        other = threading.Thread(target=take)
        other.start()
        other.join(10)
        free.append(took == [True])

    monkeypatch.setattr(events, "_describe", counting)
    assert events.step(index, queue, [], 0.0, pause=pause) == 0  # the first step sends nothing
    assert len(gaps) >= 230 // events.PAUSE_EVERY and max([*gaps, described[0]]) <= events.PAUSE_EVERY, gaps
    assert all(free), "a pause came while the queue's lock was held"
    assert queue.conn.execute("SELECT count(*) FROM known").fetchone()[0] == 230


def test_topics_built_once_per_step_are_the_urls_built_each_time(site: Any, make_app: Any) -> None:
    _corpus(site, 40)
    site.post("event", title="Event", date="2021-03-01", tags=["t1"], lang="ru", event={"start": "2021-04-01T10:00:00Z"})
    index = state(make_app()).live.current
    memo: dict[Any, str] = {}
    posts = list(index.posts)
    for post in posts + posts:
        assert events.feed_topics(index.site, post, memo) == events.feed_topics(index.site, post)
    assert len(memo) < sum(len(events.feed_topics(index.site, p)) for p in posts) / 4, "scopes repeat: few URLs are built"


def test_a_step_written_in_parts_sends_each_event_once_even_when_it_stops_midway(
    site: Any, make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A look at every post writes its known rows and events every WRITE_EVERY posts (memory stays
    bounded) and the log position last: stopped between two writes, the next step sends the rest, once."""
    _corpus(site, 30)
    app = make_app()
    live = state(app).live
    queue = outbox(app).sender.queue
    events.step(live.current, queue, [], 0.0)
    for i in range(30):
        site.post(f"p{i:04d}", "Edited.", title=f"Post {i} (edited)", date=f"2021-{1 + i % 12:02d}-{1 + i % 28:02d}")
    index = live.refresh()
    monkeypatch.setattr(events, "PAUSE_EVERY", 1)
    monkeypatch.setattr(events, "WRITE_EVERY", 4)
    calls = [0]

    def record(conn: Any, evs: list[events.PostEvent], site_: Any, now: float) -> None:
        calls[0] += 1
        conn.execute("CREATE TABLE IF NOT EXISTS got(type TEXT, slug TEXT)")
        conn.executemany("INSERT INTO got VALUES (?, ?)", [(e.type, e.slug) for e in evs])
        if calls[0] == 3:
            raise RuntimeError("the process stops here")

    with pytest.raises(RuntimeError):
        events.step(index, queue, [record], 0.0)
    got = queue.conn.execute("SELECT count(*) FROM got").fetchone()[0]
    assert 0 < got < 30, "two parts were written before the stop"
    assert events.step(index, queue, [record], 0.0) == 30 - got
    rows = queue.conn.execute("SELECT type, slug FROM got ORDER BY slug").fetchall()
    assert rows == [(events.UPDATED, f"p{i:04d}") for i in range(30)], "each post's update once"
    assert events.step(index, queue, [record], 0.0) == 0
