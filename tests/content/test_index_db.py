"""The index database: one writer, readers that see each reload at once, faults that never lose content."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from support.site import SITE

from feedsvc.content import LiveIndex, Loader
from feedsvc.content.store import codecs as db_mod
from feedsvc.extensions import state


def _live(site: Any, path: Path, **kw: Any) -> LiveIndex:
    return LiveIndex(Loader(site.root, index_path=path, **kw), interval=0)


def _health(app: Any) -> dict[str, Any]:
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    return resp.json  # type: ignore[no-any-return]


def test_one_writer_many_readers(site: Any, tmp_path: Path) -> None:
    site.post("a", title="A")
    path = tmp_path / "index.sqlite3"
    first = Loader(site.root, index_path=path)
    first.load()
    second = Loader(site.root, index_path=path)
    assert first.database.writer and not second.database.writer
    site.post("b", title="B")
    assert [p.slug for p in second.load().posts] == ["a"], "a reader never writes"
    assert [p.slug for p in first.load().posts] == ["a", "b"]
    assert [p.slug for p in second.load().posts] == ["a", "b"], "and sees what the writer wrote"
    first.close()
    site.post("c", title="C")
    assert [p.slug for p in second.load().posts] == ["a", "b", "c"], "the writer's place is taken when it goes"
    assert second.database.writer
    second.close()


def test_a_request_reads_one_snapshot_while_the_writer_commits(site: Any, tmp_path: Path) -> None:
    site.post("a", title="A")
    li = _live(site, tmp_path / "index.sqlite3")
    with li.snapshot() as index:
        before = index.version
        site.post("b", title="B")
        li.refresh()
        assert index.version == before and [p.slug for p in index.posts] == ["a"] and index.get("b") is None
    with li.snapshot() as index:
        assert index.version != before and index.get("b") is not None


def test_requests_build_posts_only_for_the_rows_they_show(site: Any, make_app: Any, monkeypatch: Any) -> None:
    for i in range(120):
        site.post(f"p{i:03d}", f"Body {i}", date=f"2021-0{1 + i % 9}-1{i % 10}")
    app = make_app()
    client = app.test_client()
    assert client.get("/healthz").json["posts"] == 120
    built: list[str] = []
    real = db_mod.post_from_row
    monkeypatch.setattr(db_mod, "post_from_row", lambda *row: built.append(row[1]) or real(*row))
    resp = client.get("/api/v1/posts?per_page=7&page=3")
    assert resp.status_code == 200 and len(resp.json["items"]) == 7 and resp.json["meta"]["total_items"] == 120
    assert len(built) == 7, built
    built.clear()
    assert client.get("/feeds/atom.xml").status_code == 200
    assert len(built) <= 51  # the feed's entries (and the newest post for its archive link)


def test_healthz_tells_the_truth_after_every_reload(site: Any, make_app: Any) -> None:
    site.post("good", title="Good")
    app = make_app()
    live = state(app).live
    assert _health(app)["status"] == "ok" and _health(app)["problems"] == []
    # A new broken file: listed at once, nothing else changes.
    site.raw("broken.md", "---\ntitle: [\n---\n")
    live.refresh()
    body = _health(app)
    assert body["status"] == "ok" and [p["path"] for p in body["problems"]] == ["posts/broken.md"]
    # A good post turned broken: still served, listed with the reason.
    site.touch_later(site.raw("good.md", "---\ntitle: Good\ndate: not-a-date\ncategories: [statements]\n---\n"))
    live.refresh()
    body = _health(app)
    good = next(p for p in body["problems"] if p["path"] == "posts/good.md")
    assert good["field"] == "date" and "serving the last good version" in good["message"]
    assert body["posts"] == 1 and app.test_client().get("/posts/good").status_code == 200
    # An invalid site.yaml: degraded, named, and the last good site keeps being served.
    (site.root / "site.yaml").write_text("title: [\n", encoding="utf-8")
    site.touch_later(site.root / "site.yaml")
    live.refresh()
    body = _health(app)
    assert body["status"] == "degraded" and any("site.yaml" in r for r in body["reasons"])
    assert any(p["path"] == "site.yaml" for p in body["problems"])
    assert app.test_client().get("/feeds/atom.xml").status_code == 200
    site.write_site()
    site.touch_later(site.root / "site.yaml", 4)
    live.refresh()
    body = _health(app)
    assert body["status"] == "ok" and {p["path"] for p in body["problems"]} == {"posts/good.md", "posts/broken.md"}


def test_a_site_yaml_edit_keeps_the_last_good_version_of_a_broken_post(site: Any, make_app: Any) -> None:
    site.post("kept", title="Kept title")
    app = make_app()
    live = state(app).live
    site.touch_later(site.raw("kept.md", "---\ntitle: [\n---\n"))
    live.refresh()
    site.write_site(title="Renamed network")
    site.touch_later(site.root / "site.yaml")
    index = live.refresh()
    assert index.site.title == "Renamed network"
    assert index.get("kept") is not None and index.get("kept").title == "Kept title"  # type: ignore[union-attr]
    assert any(p.path == "posts/kept.md" and "last good version" in p.message for p in index.problems)


def test_removing_a_category_unpublishes_its_posts_and_names_each(site: Any, make_app: Any, runner: Any) -> None:
    site.post("one", categories=["events"])
    site.post("two", categories=["events", "statements"])
    site.post("three", categories=["statements"])
    app = make_app()
    live = state(app).live
    cats = {k: v for k, v in SITE["categories"].items() if k != "events"}
    site.write_site(categories=cats)
    site.touch_later(site.root / "site.yaml")
    index = live.refresh()
    assert [p.slug for p in index.posts] == ["three"]
    named = {p.path: p for p in index.problems}
    assert set(named) == {"posts/one.md", "posts/two.md"}
    assert all(p.field == "categories" and "events" in p.message for p in named.values())
    assert {p["path"] for p in _health(app)["problems"]} == {"posts/one.md", "posts/two.md"}
    result = runner.invoke(args=["content", "check", str(site.root)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if ": categories: " in line]
    assert len(lines) == 2 and all("'events'" in line for line in lines)


def test_a_full_disk_keeps_the_last_good_content_and_is_retried(site: Any, make_app: Any) -> None:
    site.post("a", title="A")
    app = make_app()
    live = state(app).live
    conn = live.loader.conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite now answers as on a full disk
    for i in range(20):
        site.post(f"new{i}", "words " * 2000, title=f"New {i}")
    live.refresh()
    body = _health(app)
    assert body["status"] == "degraded" and any("full" in r for r in body["reasons"]), body
    assert body["posts"] == 1 and app.test_client().get("/posts/a").status_code == 200
    conn.execute("PRAGMA max_page_count = 1073741823")  # space again: the next reload catches up
    live.refresh()
    body = _health(app)
    assert body["status"] == "ok" and body["posts"] == 21


def test_a_read_only_database_is_reported_and_retried(site: Any, make_app: Any) -> None:
    site.post("a")
    app = make_app()
    live = state(app).live
    live.loader.conn.execute("PRAGMA query_only = ON")
    site.post("b")
    live.refresh()
    body = _health(app)
    assert body["status"] == "degraded" and any("readonly" in r or "read-only" in r for r in body["reasons"]), body
    live.loader.conn.execute("PRAGMA query_only = OFF")
    live.refresh()
    assert _health(app)["status"] == "ok" and _health(app)["posts"] == 2


def test_an_unwritable_database_directory_falls_back_and_is_reported(site: Any, make_app: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    site.post("a")
    app = make_app(INDEX_PATH=str(blocker / "index.sqlite3"))
    try:
        body = _health(app)
        assert body["posts"] == 1 and body["status"] == "degraded"
        assert any("not-a-directory" in r for r in body["reasons"]) and any("memory" in r for r in body["reasons"])
        assert app.test_client().get("/posts/a").status_code == 200
    finally:
        state(app).live.loader.close()
        for leftover in Path("/dev/shm").glob("feedsvc-*.sqlite3*"):
            if leftover.stat().st_mtime > time.time() - 600:
                leftover.unlink(missing_ok=True)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "deleted"])
def test_a_damaged_database_is_rebuilt_from_the_content(site: Any, tmp_path: Path, damage: str) -> None:
    for i in range(30):
        site.post(f"p{i}", f"Body {i} " * 200)
    path = tmp_path / "index.sqlite3"
    first = Loader(site.root, index_path=path)
    version = first.load().version
    first.close()
    if damage == "garbage":
        path.write_bytes(os.urandom(8192))
    elif damage == "truncated":
        with path.open("r+b") as fh:
            fh.truncate(path.stat().st_size // 3)
    else:
        path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    again = Loader(site.root, index_path=path)
    index = again.load()
    assert index.version == version and len(index.posts) == 30
    assert [p.slug for p in index.query(q="body")][:3] == [p.slug for p in index.posts][:3]
    again.close()


def test_the_database_deleted_while_serving_is_rebuilt(site: Any, tmp_path: Path) -> None:
    site.post("a")
    path = tmp_path / "index.sqlite3"
    li = _live(site, path)
    version = li.current.version
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    site.post("b")
    li.refresh()
    assert path.exists()
    reader = sqlite3.connect(path)
    assert reader.execute("SELECT count(*) FROM posts WHERE published = 1").fetchone()[0] == 2
    reader.close()
    assert li.current.version != version and li.current.get("b") is not None


@pytest.mark.slow
def test_no_file_grows_with_each_site_yaml_edit(site: Any, tmp_path: Path) -> None:
    for i in range(60):
        site.post(f"p{i}", f"Body {i} " * 300)
    path = tmp_path / "index.sqlite3"
    li = _live(site, path)

    def sizes() -> tuple[int, int]:
        wal = Path(f"{path}-wal")
        return path.stat().st_size, wal.stat().st_size if wal.exists() else 0

    li.refresh()
    largest_wal = 0
    for n in range(20):  # settle: the WAL reaches the size it is reused at after each checkpoint
        site.write_site(title=f"Title {n}")
        site.touch_later(site.root / "site.yaml", n + 1)
        li.refresh()
        largest_wal = max(largest_wal, sizes()[1])
    settled_db = sizes()[0]
    for n in range(20, 40):
        site.write_site(title=f"Title {n}")
        site.touch_later(site.root / "site.yaml", n + 1)
        li.refresh()
        db_size, wal_size = sizes()
        # The database file stays put; the WAL is reused after each checkpoint, so it holds at most a
        # transaction or two more than it ever did (each edit re-publishes every post: ~3.5 MB here),
        # never one more per edit (20 edits would add 70 MB).
        assert db_size <= settled_db * 1.2, (n, settled_db, db_size)
        assert wal_size <= largest_wal * 1.6, (n, largest_wal, wal_size)
    assert [p.title for p in li.current.posts][:1] and li.current.site.title == "Title 39"


def test_deeply_nested_html_is_refused_quickly_and_others_served(site: Any, make_app: Any) -> None:
    site.raw("nested.md", "---\ntitle: Nested\ndate: 2021-01-01\ncategories: [statements]\n---\n" + "<div>" * 220_000)
    site.post("fine")
    app = make_app()
    body = _health(app)
    [problem] = body["problems"]
    assert problem["path"] == "posts/nested.md" and problem["field"] == "body" and "nested" in problem["message"]
    assert body["posts"] == 1


def test_a_transient_permission_error_does_not_switch_watching_off(site: Any, monkeypatch: Any) -> None:
    from feedsvc.content import watch as watch_mod

    (site.root / "posts" / "sub").mkdir()
    site.post("sub/a", title="A")
    watcher = watch_mod.Watcher.open(site.root, "posts", before_load=True)
    assert watcher is not None
    real_add = watcher._ino.add_watch
    failing = {"on": True}

    def add_watch(path: str, mask: int) -> int:
        if failing["on"] and path.endswith("sub"):
            raise PermissionError(13, "Permission denied", path)
        return real_add(path, mask)

    monkeypatch.setattr(watcher._ino, "add_watch", add_watch)
    (site.root / "posts" / "new").mkdir()  # a directory event: the watcher re-adds its watches
    assert watcher.changes() is None  # a rescan, not an error
    failing["on"] = False
    assert watcher.changes() is None  # the unwatched directory is retried: still a rescan until it works
    site.post("sub/b", title="B")
    assert "posts/sub/b.md" in (watcher.changes() or set())
    watcher.close()


def test_the_first_load_in_a_forked_child_gives_the_same_index(site: Any, tmp_path: Path) -> None:
    """What a gunicorn master does at start: the child writes the database, the master reads it."""
    import subprocess
    import sys

    for i in range(12):
        site.post(f"p{i}", f"Body {i}", tags=[f"t{i % 3}"])
    site.raw("broken.md", "---\ntitle: [\n---\n")
    script = (
        "import sys, threading, os\n"
        "from feedsvc.content import LiveIndex, Loader\n"
        "assert threading.active_count() == 1\n"
        "li = LiveIndex(Loader(sys.argv[1], index_path=sys.argv[2]), interval=0)\n"
        "i = li.current\n"
        "print(len(i.posts), len(i.problems), i.version, li.loader._full_scan_due)\n"
    )
    path = tmp_path / "index.sqlite3"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", script, str(site.root), str(path)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    reference = Loader(site.root).load()
    assert out == ["12", "1", reference.version, "False"]
    (site.root / "site.yaml").write_text("title: [\n", encoding="utf-8")
    path.unlink()
    failed = subprocess.run(
        [sys.executable, "-c", script, str(site.root), str(path)], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert failed.returncode != 0 and "site.yaml: yaml:" in failed.stderr


def test_an_index_taken_outside_a_request_never_shares_a_request_s_transaction(site: Any, tmp_path: Path) -> None:
    site.post("a", title="A")
    li = _live(site, tmp_path / "index.sqlite3")
    outside = li.current
    with li.snapshot() as inside:
        site.post("b", title="B")
        li.refresh()
        assert inside.get("b") is None  # the request's snapshot stands still
        assert outside.get("b") is not None  # a non-request Index reads the newest content
    assert li.version() == li.current.version != inside.version
