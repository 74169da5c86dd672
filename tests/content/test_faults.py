"""Faults: broken files, files that break, a content dir that vanishes or cannot be read, hostile Markdown.

Everything goes through HTTP (the Flask test client); reloads are driven with
``state(app).live.refresh()`` so no test waits on a timer.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import feedparser
import pytest

from feedsvc.extensions import state

BROKEN = {
    "invalid-yaml": b"---\ntitle: [unclosed\ndate: 2021-01-01\n---\nbody\n",
    "bad-date": b"---\ntitle: Bad date\ndate: 2021-13-45\ncategories: [statements]\n---\nbody\n",
    "no-title": b"---\ndate: 2021-01-01\ncategories: [statements]\n---\nbody\n",
    "unknown-category": b"---\ntitle: X\ndate: 2021-01-01\ncategories: [nope]\n---\nbody\n",
    "not-utf8": b"---\ntitle: \xff\xfe\ndate: 2021-01-01\ncategories: [statements]\n---\n\x80\x81\n",
    "not-a-mapping": b"---\n- a\n- b\n---\nbody\n",
    "empty": b"",
    "nul-bytes": b"---\ntitle: N\ndate: 2021-01-01\ncategories: [statements]\n---\nbin\x00ary\n",
    "unknown-field": b"---\ntitle: T\ndate: 2021-01-01\ncategories: [statements]\ndraf: true\n---\nx\n",
}


def get_json(client: Any, url: str) -> Any:
    """GET ``url``; assert 200 and return the parsed JSON."""
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code, resp.get_data(as_text=True)[:300])
    return resp.get_json()


def slugs(client: Any) -> set[str]:
    """Slugs listed by the API (first 100)."""
    return {p["slug"] for p in get_json(client, "/api/v1/posts?per_page=100")["items"]}


def feed_titles(client: Any) -> list[str]:
    """Entry titles of the main Atom feed (it must parse cleanly)."""
    resp = client.get("/feeds/atom.xml")
    assert resp.status_code == 200, resp.status_code
    parsed = feedparser.parse(resp.get_data())
    assert not parsed.bozo, parsed.bozo_exception
    return [e.title for e in parsed.entries]


def refresh(app: Any) -> None:
    """Rescan the content now (what the reload thread does every few seconds)."""
    state(app).live.refresh()


@pytest.fixture
def two_good(site: Any) -> Any:
    """A site with two good posts."""
    site.post("alpha", "Alpha body.", title="Alpha")
    site.post("beta", "Beta body.", title="Beta", date="2021-04-02")
    return site


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_broken_file_keeps_everything_else_served(two_good: Any, make_app: Any, kind: str) -> None:
    two_good.raw(f"broken-{kind}.md", BROKEN[kind])
    app = make_app()
    with app.test_client() as c:
        assert slugs(c) == {"alpha", "beta"}
        assert sorted(feed_titles(c)) == ["Alpha", "Beta"]
        health = get_json(c, "/healthz")
        assert health["posts"] == 2 and health["skipped"] == 1
        (problem,) = health["problems"]
        assert problem["path"] == f"posts/broken-{kind}.md" and problem["message"]


def test_symlink_outside_the_content_dir_is_refused(two_good: Any, make_app: Any, tmp_path: Path) -> None:
    secret = tmp_path / "outside.md"
    secret.write_text("---\ntitle: Secret\ndate: 2021-01-01\ncategories: [statements]\n---\ns3cr3t\n")
    (two_good.root / "posts" / "link.md").symlink_to(secret)
    with make_app().test_client() as c:
        assert slugs(c) == {"alpha", "beta"}
        assert get_json(c, "/api/v1/posts?q=s3cr3t")["items"] == []
        assert any(p["path"] == "posts/link.md" for p in get_json(c, "/healthz")["problems"])


@pytest.mark.parametrize("kind", ["invalid-yaml", "bad-date", "not-utf8", "empty"])
def test_a_file_that_breaks_keeps_its_last_good_version(two_good: Any, make_app: Any, kind: str) -> None:
    app = make_app()
    with app.test_client() as c:
        assert get_json(c, "/api/v1/posts/alpha")["title"] == "Alpha"
        path = two_good.root / "posts" / "alpha.md"
        path.write_bytes(BROKEN[kind])
        two_good.touch_later(path)
        refresh(app)
        assert get_json(c, "/api/v1/posts/alpha")["title"] == "Alpha"  # last good version
        assert "Alpha" in feed_titles(c)
        health = get_json(c, "/healthz")
        (problem,) = [p for p in health["problems"] if p["path"] == "posts/alpha.md"]
        assert "last good" in problem["message"]
        two_good.post("alpha", "Fixed.", title="Alpha fixed")
        two_good.touch_later(path, 4)
        refresh(app)
        assert get_json(c, "/api/v1/posts/alpha")["title"] == "Alpha fixed"
        assert get_json(c, "/healthz")["problems"] == []


def test_broken_site_yaml_keeps_the_last_good_site(two_good: Any, make_app: Any) -> None:
    app = make_app()
    with app.test_client() as c:
        assert slugs(c) == {"alpha", "beta"}  # loaded before the fault
        path = two_good.root / "site.yaml"
        path.write_text("title: [broken\n")
        two_good.touch_later(path)
        refresh(app)
        assert slugs(c) == {"alpha", "beta"}
        assert feed_titles(c)
        assert any(p["path"] == "site.yaml" for p in get_json(c, "/healthz")["problems"])


def assert_degraded_but_serving(c: Any) -> None:
    """The last good index is served and /healthz says degraded, with a reason."""
    assert slugs(c) == {"alpha", "beta"}
    assert sorted(feed_titles(c)) == ["Alpha", "Beta"]
    assert get_json(c, "/api/v1/posts/alpha")["title"] == "Alpha"
    health = c.get("/healthz")
    assert health.status_code in (200, 503)
    body = health.get_json()
    assert body["status"] == "degraded", body
    assert body["reasons"] and all(isinstance(r, str) and r for r in body["reasons"])
    assert body["posts"] == 2


def assert_recovered(c: Any) -> None:
    """Back to normal once the directory is back."""
    health = get_json(c, "/healthz")
    assert health["status"] == "ok" and health["reasons"] == [], health
    assert slugs(c) == {"alpha", "beta"}


def test_content_dir_that_disappears(two_good: Any, make_app: Any, tmp_path: Path) -> None:
    app = make_app()
    with app.test_client() as c:
        assert slugs(c) == {"alpha", "beta"}
        moved = tmp_path / "moved-away"
        two_good.root.rename(moved)
        refresh(app)
        assert_degraded_but_serving(c)
        moved.rename(two_good.root)
        refresh(app)
        assert_recovered(c)


def test_posts_dir_deleted(two_good: Any, make_app: Any, tmp_path: Path) -> None:
    app = make_app()
    with app.test_client() as c:
        assert slugs(c) == {"alpha", "beta"}  # loaded before the fault
        backup = tmp_path / "posts-backup"
        shutil.copytree(two_good.root / "posts", backup)
        shutil.rmtree(two_good.root / "posts")
        refresh(app)
        assert_degraded_but_serving(c)
        shutil.copytree(backup, two_good.root / "posts")
        refresh(app)
        assert_recovered(c)


def make_unreadable(posts: Path) -> tuple[str, Any]:
    """Make ``posts`` unreadable for this process; returns (how, undo).

    chmod 000 when it works; as root (which reads through any mode) the directory is
    replaced by a symlink to itself, which fails every read with ELOOP, even for root.
    """
    os.chmod(posts, 0)
    try:
        os.listdir(posts)
    except PermissionError:
        return "chmod 000", lambda: os.chmod(posts, 0o755)
    os.chmod(posts, 0o755)
    aside = posts.with_name("posts.aside")
    posts.rename(aside)
    posts.symlink_to(posts.name)  # posts -> posts: ELOOP on every access

    def undo() -> None:
        posts.unlink()
        aside.rename(posts)

    with pytest.raises(OSError):
        os.listdir(posts)
    return "symlink loop (running as root: chmod does not block reads)", undo


def test_unreadable_posts_dir_keeps_the_last_good_index(two_good: Any, make_app: Any) -> None:
    app = make_app()
    with app.test_client() as c:
        assert slugs(c) == {"alpha", "beta"}
        how, undo = make_unreadable(two_good.root / "posts")
        try:
            refresh(app)
            assert_degraded_but_serving(c)
        finally:
            undo()
        refresh(app)
        assert_recovered(c)


def test_posts_dir_replaced_by_a_file(two_good: Any, make_app: Any, tmp_path: Path) -> None:
    app = make_app()
    with app.test_client() as c:
        assert slugs(c) == {"alpha", "beta"}  # loaded before the fault
        posts = two_good.root / "posts"
        aside = tmp_path / "posts-aside"
        posts.rename(aside)
        posts.write_text("not a directory")
        refresh(app)
        assert_degraded_but_serving(c)
        posts.unlink()
        aside.rename(posts)
        refresh(app)
        assert_recovered(c)


def test_unreadable_file_keeps_its_last_good_version(two_good: Any, make_app: Any) -> None:
    app = make_app()
    with app.test_client() as c:
        assert slugs(c) == {"alpha", "beta"}  # loaded before the fault
        path = two_good.root / "posts" / "alpha.md"
        aside = path.with_name("alpha.aside")
        path.rename(aside)
        path.symlink_to(path.name)  # a file that cannot be read, even by root
        refresh(app)
        assert get_json(c, "/api/v1/posts/alpha")["title"] == "Alpha"
        assert slugs(c) == {"alpha", "beta"}
        path.unlink()
        aside.rename(path)
        two_good.touch_later(path)
        refresh(app)
        assert get_json(c, "/api/v1/posts/alpha")["title"] == "Alpha"


@pytest.mark.parametrize("name", [b"\xff\xfe-latin1.md", b"caf\xe9/post.md"])
def test_a_file_name_that_is_not_utf8_is_named_and_the_rest_published(two_good: Any, make_app: Any, name: bytes) -> None:
    """A name SQLite and JSON cannot hold (a Latin-1 name, its bytes as the OS keeps them) failed every load with
    UnicodeEncodeError: a first start crashed, and while running nothing more was published."""
    posts = os.fsencode(two_good.root / "posts")
    shown = "posts/" + name.decode("utf-8", "backslashreplace")
    good = (two_good.root / "posts" / "alpha.md").read_bytes().replace(b"Alpha", b"Latin")
    os.makedirs(os.path.dirname(os.path.join(posts, name)), exist_ok=True)
    with open(os.path.join(posts, name), "wb") as f:
        f.write(good)
    app = make_app()
    with app.test_client() as c:
        assert slugs(c) == {"alpha", "beta"}
        problems = get_json(c, "/healthz")["problems"]
        assert problems == [{"path": shown, "field": "file", "message": "the file name is not UTF-8 text: rename it"}]
        two_good.post("gamma", title="Gamma")
        refresh(app)
        assert slugs(c) == {"alpha", "beta", "gamma"}  # publishing goes on
        os.unlink(os.path.join(posts, name))
        refresh(app)
        assert get_json(c, "/healthz")["problems"] == []


def test_directories_nested_deeper_than_python_recursion(two_good: Any, make_app: Any) -> None:
    """1,200 nested directories (a 2,400-character path, within PATH_MAX): the post at the bottom is published.

    The walk recursed once per directory: RecursionError on every scan, so no reload
    (nor a first start) could ever finish while such a tree existed.
    """
    made = [two_good.root / "posts" / "d"]
    made[0].mkdir()
    for _ in range(1199):
        made.append(made[-1] / "d")
        made[-1].mkdir()
    bottom = two_good.post(str((made[-1] / "bottom").relative_to(two_good.root / "posts")), title="Bottom")
    try:
        app = make_app()
        with app.test_client() as c:
            assert slugs(c) == {"alpha", "beta", "bottom"}
            assert get_json(c, "/healthz")["problems"] == []
            two_good.post("gamma", title="Gamma")
            refresh(app)  # a full rescan walks the deep tree again
            assert slugs(c) == {"alpha", "beta", "bottom", "gamma"}
    finally:
        bottom.unlink()
        for d in reversed(made):  # shutil.rmtree recurses too
            d.rmdir()


# -- big and pathological content ------------------------------------------------------------------
PATHOLOGICAL = {
    "blockquotes-10k": ">" * 10000 + " deep",
    "brackets-10k": "[" * 10000 + "a" + "]" * 10000,
    "link-openers-50k": "[a](" * 50000,
    "emphasis-50k": "a" + "*a" * 50000,
    "strong-20k": "**" * 20000 + "x" + "**" * 20000,
    "nested-list-3k": "".join("  " * i + "- x\n" for i in range(3000)),
    "divs-10k": "<div>" * 10000 + "x" + "</div>" * 10000,
    "unclosed-spans-50k": "<span>" * 50000,
    "backticks-30k": "`" * 30000 + "a",
    "table-500-cols": "|" + "a|" * 500 + "\n|" + "-|" * 500 + "\n" + ("|" + "b|" * 500 + "\n") * 50,
    "entities-100k": "&amp;&#0;&#xFFFFFF;" * 30000,
    "autolinks-20k": "www.example.com/x " * 20000,
    "control-chars": "".join(chr(i) for i in range(32)) * 1000 + "\ufffe\uffff\ud7ff",
}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_pathological_markdown_completes_and_the_service_answers(site: Any, make_app: Any, name: str) -> None:
    site.post("ok", "Fine.", title="Ok")
    site.post("nasty", PATHOLOGICAL[name], title=f"Nasty {name}")
    with make_app().test_client() as c:
        health = get_json(c, "/healthz")
        assert "ok" in slugs(c)
        if "nasty" in slugs(c):  # published: every representation answers
            post = get_json(c, "/api/v1/posts/nasty")
            assert isinstance(post["content_html"], str)
            assert c.get("/posts/nasty").status_code == 200
            assert len(feed_titles(c)) == 2
            json.loads(c.get("/feeds/feed.json").get_data())
        else:  # refused: with a reason
            assert any(p["path"] == "posts/nasty.md" for p in health["problems"])


def test_huge_post_is_served(site: Any, make_app: Any) -> None:
    para = "Harm reduction saves lives. " * 40 + "\n\n"
    body = para * (5 * 1024 * 1024 // len(para))  # ~5 MB
    site.post("huge", body, title="Huge")
    site.post("small", "Small.", title="Small", date="2021-04-02")
    with make_app().test_client() as c:
        post = get_json(c, "/api/v1/posts/huge")
        assert len(post["content_html"]) > 4 * 1024 * 1024
        assert get_json(c, "/api/v1/posts?q=saves")["meta"]["total_items"] == 1
        assert sorted(feed_titles(c)) == ["Huge", "Small"]
        assert c.get("/posts/huge").status_code == 200
        assert get_json(c, "/healthz")["status"] == "ok"


def test_post_over_the_size_limit_is_reported_not_parsed(site: Any, make_app: Any) -> None:
    site.post("big", "x" * 300_000, title="Big")
    site.post("small", "Small.", title="Small")
    with make_app(MAX_POST_BYTES=100_000).test_client() as c:
        assert slugs(c) == {"small"}
        (problem,) = get_json(c, "/healthz")["problems"]
        assert problem["path"] == "posts/big.md" and "100000" in problem["message"]


def test_thousands_of_tags(site: Any, make_app: Any) -> None:
    """Thousands of tags across posts are served; one post with thousands is refused with a reason."""
    tags = [f"Tag {i} ünïcode" for i in range(4500)]
    site.post("tagged", "Many tags.", title="Tagged", tags=tags)
    for i in range(30):
        site.post(f"p{i}", "x", title=f"P{i}", tags=tags[i * 150 : (i + 1) * 150], date=f"2021-03-{i % 28 + 1:02d}")
    with make_app().test_client() as c:
        health = get_json(c, "/healthz")
        tagged = [p for p in health["problems"] if p["path"] == "posts/tagged.md"]
        if tagged:  # the content format caps tags per post: refused, with the field named
            assert tagged[0]["field"] in ("tags", "front matter") and tagged[0]["message"]
        else:
            assert len(get_json(c, "/api/v1/posts/tagged")["tags"]) == 4500
        listed = get_json(c, "/api/v1/tags")
        assert len(listed) == 4500
        one = listed[1234]["slug"]
        assert c.get(f"/feeds/tags/{one}/atom.xml").status_code == 200
        assert c.get(f"/tags/{one}").status_code == 200
        assert len(feed_titles(c)) in (30, 31)
        assert c.get("/feeds/opml.xml").status_code == 200
        assert c.get("/").status_code == 200


def test_thousands_of_posts_and_a_broken_tenth(site: Any, make_app: Any) -> None:
    for i in range(1500):
        if i % 10 == 0:
            site.raw(f"b{i}.md", BROKEN["bad-date"])
        else:
            site.post(f"p{i}", f"Body {i}.", title=f"P{i}", date=f"20{10 + i % 12}-0{1 + i % 9}-1{i % 10}")
    with make_app().test_client() as c:
        health = get_json(c, "/healthz")
        assert health["posts"] == 1350 and health["skipped"] == 150
        meta = get_json(c, "/api/v1/posts?per_page=100&page=14")["meta"]
        assert meta["total_items"] == 1350 and meta["total_pages"] == 14
        assert len(feed_titles(c)) == 50  # the entry cap holds


def test_a_damaged_memory_database_is_rebuilt_in_memory(site: Any, tmp_path: Path, monkeypatch: Any) -> None:
    """The CLI's and exports' database lives in memory: found damaged, it is rebuilt there, never into a
    file named ``:memory:`` in the working directory (it was, and renamed into place)."""
    import sqlite3

    from feedsvc.content import Loader
    from feedsvc.content.store import fulltext

    for i in range(3):
        site.post(f"p-{i}", "Naloxone saves lives.")
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    real, calls = fulltext.add, []

    def damaged_once(*args: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise sqlite3.DatabaseError("database disk image is malformed")
        real(*args)

    monkeypatch.setattr(fulltext, "add", damaged_once)
    index = Loader(site.root).load()
    assert len(calls) > 1, "the damage was never met: nothing rebuilt"
    assert [p.slug for p in index.query(q="naloxone")] == ["p-0", "p-1", "p-2"]
    assert list(work.iterdir()) == []
