"""Live reload: add, edit, delete, broken edit, unpublish, vanished directory."""

from __future__ import annotations

import shutil
import time

from feedsvc.content import LiveIndex, Loader
from feedsvc.extensions import state


def live(site, **kw):
    return LiveIndex(Loader(site.root, **kw), interval=0)


def test_add_edit_delete(site):
    site.post("a", "First")
    li = live(site)
    v0 = li.current.version
    site.post("b", "Second")
    idx = li.refresh()
    assert [p.slug for p in idx.posts] == ["a", "b"]
    assert idx.version != v0
    path = site.post("a", "First, edited", title="Edited")
    site.touch_later(path)
    idx2 = li.refresh()
    assert idx2.get("a").title == "Edited" and idx2.version != idx.version
    (site.root / "posts" / "b.md").unlink()
    idx3 = li.refresh()
    assert [p.slug for p in idx3.posts] == ["a"] and idx3.version not in (idx.version, idx2.version)


def test_only_changed_files_are_parsed(site, monkeypatch):
    for i in range(5):
        site.post(f"p{i}")
    li = live(site)
    import feedsvc.content.parse as parse_mod

    parsed: list[str] = []
    real = parse_mod.parse_post
    monkeypatch.setattr(parse_mod, "parse_post", lambda raw, src, *a, **k: parsed.append(src) or real(raw, src, *a, **k))
    li.refresh()
    assert parsed == []
    site.touch_later(site.post("p3", "changed"))
    li.refresh()
    assert parsed == ["posts/p3.md"]


def test_broken_edit_keeps_last_good_version(site):
    site.post("a", "Good body", title="Good")
    li = live(site)
    good = li.current.get("a")
    p = site.raw("a.md", "---\ntitle: [broken\n---\n")
    site.touch_later(p)
    idx = li.refresh()
    assert idx.get("a") == good
    [problem] = idx.problems
    assert problem.path == "posts/a.md" and problem.field == "yaml"
    assert "serving the last good version" in problem.message
    site.touch_later(site.post("a", "Fixed", title="Fixed"), 4)
    idx = li.refresh()
    assert idx.get("a").title == "Fixed" and idx.problems == ()


def test_broken_new_file_is_reported_and_others_served(site):
    site.post("a")
    li = live(site)
    site.raw("new.md", "no front matter")
    idx = li.refresh()
    assert [p.slug for p in idx.posts] == ["a"] and idx.problems[0].path == "posts/new.md"


def test_unpublish_and_delete_move_last_modified(site):
    site.post("a", date="2021-01-02")
    b = site.post("b", date="2021-01-01")
    site.age()  # mtimes are the only record of a delete: start from an hour ago
    li = live(site)
    lm0 = li.current.query_last_modified()
    b.unlink()
    idx = li.refresh()
    assert idx.query_last_modified() > lm0
    site.age()
    idx = li.refresh()
    lm1 = idx.query_last_modified()
    site.touch_later(site.post("a", draft=True, date="2021-01-02"), 0)
    idx = li.refresh()
    assert idx.posts == () and idx.query_last_modified() > lm1


def test_vanished_content_dir_keeps_last_good_index(site, tmp_path):
    site.post("a")
    li = live(site)
    good = li.current
    moved = tmp_path / "moved"
    shutil.move(site.root, moved)
    idx = li.refresh()
    assert idx.posts == good.posts and idx.degraded
    shutil.move(moved, site.root)
    idx = li.refresh()
    assert not idx.degraded and [p.slug for p in idx.posts] == ["a"]


def test_site_yaml_broken_on_reload_keeps_last_good_site(site):
    site.post("a")
    li = live(site)
    (site.root / "site.yaml").write_text("title: [")
    site.touch_later(site.root / "site.yaml")
    idx = li.refresh()
    assert idx.site.title == "Test Network" and [p.slug for p in idx.posts] == ["a"]
    assert idx.problems[0].path == "site.yaml"


def test_site_change_reparses_everything(site):
    site.post("a", "[x](/y)")
    li = live(site)
    site.write_site(base_url="https://new.example.org")
    site.touch_later(site.root / "site.yaml")
    idx = li.refresh()
    assert "https://new.example.org/y" in idx.get("a").content_html


def test_restart_reparses_only_changed_files(site, tmp_path, monkeypatch):
    for i in range(3):
        site.post(f"p{i}", f"Body {i}")
    db_path = tmp_path / "index.sqlite3"
    first = Loader(site.root, index_path=db_path)
    v1, posts1 = first.load().version, list(first.load().posts)
    first.close()
    import feedsvc.content.parse as parse_mod

    parsed: list[str] = []
    real = parse_mod.parse_post
    monkeypatch.setattr(parse_mod, "parse_post", lambda raw, src, *a, **k: parsed.append(src) or real(raw, src, *a, **k))
    second = Loader(site.root, index_path=db_path)
    idx = second.load()
    assert parsed == [] and idx.version == v1 and list(idx.posts) == posts1
    second.close()
    site.touch_later(site.post("p1", "changed"))
    third = Loader(site.root, index_path=db_path)
    idx3 = third.load()
    assert parsed == ["posts/p1.md"] and "changed" in idx3.get("p1").content_text
    v3 = idx3.version
    third.close()
    # A corrupt database is rebuilt from the content: nothing is lost.
    db_path.write_bytes(b"garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"index.sqlite3{suffix}").unlink(missing_ok=True)
    fourth = Loader(site.root, index_path=db_path)
    assert fourth.load().version == v3
    fourth.close()


def test_reload_through_http_within_interval(site, make_app):
    site.post("a")
    app = make_app(RELOAD_INTERVAL=0.2)
    client = app.test_client()
    assert client.get("/healthz").json["posts"] == 1
    site.post("b")
    site.raw("broken.md", "---\n: :\n---\n")
    deadline = time.monotonic() + 10
    body = {}
    while time.monotonic() < deadline:
        body = client.get("/healthz").json
        if body["posts"] == 2 and body["skipped"] == 1:
            break
        time.sleep(0.05)
    assert body["posts"] == 2 and body["skipped"] == 1
    assert body["problems"][0]["path"] == "posts/broken.md"
    # A post in a directory that did not exist (inotify had no watch there: a full rescan)
    # and a deleted one (the kernel names it), through the API.
    site.post("2022/c", title="In a new directory")
    (site.root / "posts" / "a.md").unlink()
    deadline = time.monotonic() + 10
    slugs: list[str] = []
    while time.monotonic() < deadline:
        slugs = sorted(p["slug"] for p in client.get("/api/v1/posts").json["items"])
        if slugs == ["b", "c"]:
            break
        time.sleep(0.05)
    assert slugs == ["b", "c"]
    state(app).live.stop()


def test_healthz_reports_degraded(site, make_app, tmp_path):
    site.post("a")
    app = make_app()
    client = app.test_client()
    assert client.get("/healthz").json["status"] == "ok"
    shutil.move(site.root, tmp_path / "gone")
    state(app).live.refresh()
    body = client.get("/healthz").json
    assert body["status"] == "degraded" and body["reasons"] and body["posts"] == 1
