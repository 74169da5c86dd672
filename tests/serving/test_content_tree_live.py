"""Real gunicorn over a content tree that breaks while it serves: a directory under posts/ that cannot be read."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.gunicorn_server import Server
from support.privileges import obeying_modes

pytestmark = pytest.mark.slow

#: Seconds a change may take to be served before the test gives up.
WAIT = 20.0
LOCKED = "cannot read this directory (Permission denied); the posts in it stay as last read until it can be read"


def _health(server: Server) -> dict[str, Any]:
    status, _, body = server.get("/healthz")
    assert status == 200
    return dict(json.loads(body))


def _titles(server: Server) -> set[str]:
    status, _, body = server.get("/api/v1/posts")
    assert status == 200
    return {item["title"] for item in json.loads(body)["items"]}


def _until(what: Any, limit: float = WAIT) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(0.05)
    return False


def _problems(server: Server) -> list[tuple[str, str, str]]:
    return [(p["path"], p["field"], p["message"]) for p in _health(server)["problems"]]


@pytest.fixture
def tree(site: Any) -> Iterator[Any]:
    """Posts in two directories, a/ and b/ (b/ is made readable again after the test)."""
    site.post("a/one", title="One", date="2021-03-01")
    site.post("b/two", title="Two", date="2021-03-02")
    try:
        yield site
    finally:
        (site.root / "posts" / "b").chmod(0o755)


def _start(site: Any, tmp_path: Path) -> Server:
    return Server(
        site.root,
        tmp_path / "gunicorn.out",
        prefix=obeying_modes(),
        FEEDSVC_RELOAD_INTERVAL="0.2",
        FEEDSVC_INDEX_PATH=str(tmp_path / "index.sqlite"),
        GUNICORN_ACCESSLOG="",
    )


def test_an_unreadable_directory_keeps_its_posts_and_the_others_publish(tree, tmp_path):
    server = _start(tree, tmp_path)
    try:
        before = server.get("/feeds/atom.xml")
        assert before[0] == 200 and _titles(server) == {"One", "Two"}
        locked = tree.root / "posts" / "b"
        locked.chmod(0)
        assert _until(lambda: ("posts/b", "file", LOCKED) in _problems(server)), _problems(server)
        assert server.get("/feeds/atom.xml")[1]["ETag"] == before[1]["ETag"]  # b/two kept as last read
        tree.post("a/three", title="Three", date="2021-03-03")
        assert _until(lambda: _titles(server) == {"One", "Two", "Three"}), _titles(server)  # publishing goes on
        (tree.root / "posts" / "a" / "three.md").unlink()
        locked.chmod(0o755)
        assert _until(lambda: _problems(server) == [] and _titles(server) == {"One", "Two"}), _problems(server)
        after = server.get("/feeds/atom.xml")
        assert (after[0], after[1]["ETag"], after[2]) == (200, before[1]["ETag"], before[2])
        assert _health(server)["status"] == "ok"
    finally:
        server.stop()
    assert "Traceback" not in server.out.read_text()


def test_a_file_unreadable_when_read_is_read_again_once_its_mode_is_fixed(tree, tmp_path):
    """A post written without read permission (an editor's umask, a deploy that fixes modes after
    copying) and then made readable: chmod moves no mtime, size nor inode, and the file was
    recorded with its signature, so it was never read again: 'cannot read' stayed at /healthz
    and the post was never published (or its edit, for a post already published)."""
    server = _start(tree, tmp_path)
    try:
        staged = tree.root / "three.md"  # beside posts/: renamed into place unreadable, as a deploy does
        staged.write_text("---\ntitle: Three\ndate: 2021-03-03\ncategories: [statements]\n---\nBody.\n")
        staged.chmod(0)
        edit = tree.root / "one.md"
        edit.write_bytes((tree.root / "posts" / "a" / "one.md").read_bytes().replace(b"title: One", b"title: One edited"))
        edit.chmod(0)
        staged.rename(tree.root / "posts" / "a" / "three.md")
        edit.rename(tree.root / "posts" / "a" / "one.md")
        unreadable = {
            ("posts/a/one.md", "file", "cannot read: Permission denied (serving the last good version)"),
            ("posts/a/three.md", "file", "cannot read: Permission denied"),
        }
        assert _until(lambda: set(_problems(server)) == unreadable), _problems(server)
        assert _titles(server) == {"One", "Two"}
        for name in ("one", "three"):
            (tree.root / "posts" / "a" / f"{name}.md").chmod(0o644)
        assert _until(lambda: _titles(server) == {"One edited", "Two", "Three"}), (_titles(server), _problems(server))
        assert _problems(server) == []
    finally:
        server.stop()


def test_a_published_file_made_unreadable_is_reported_and_kept(tree, tmp_path):
    """chmod 000 on a published, unchanged post: inotify reports it, but its signature had not
    moved, so nothing was said until a rebuild of the database dropped the post."""
    server = _start(tree, tmp_path)
    try:
        before = server.get("/feeds/atom.xml")
        one = tree.root / "posts" / "a" / "one.md"
        one.chmod(0)
        kept = ("posts/a/one.md", "file", "cannot read: Permission denied (serving the last good version)")
        assert _until(lambda: _problems(server) == [kept]), _problems(server)
        assert _titles(server) == {"One", "Two"}
        one.chmod(0o644)
        assert _until(lambda: _problems(server) == []), _problems(server)
        after = server.get("/feeds/atom.xml")
        assert (after[1]["ETag"], after[2]) == (before[1]["ETag"], before[2])
    finally:
        server.stop()


def test_starts_with_an_unreadable_directory(tree, tmp_path):
    (tree.root / "posts" / "b").chmod(0)
    server = _start(tree, tmp_path)  # used to fail: the first load could not read the tree
    try:
        assert _titles(server) == {"One"}
        assert _problems(server) == [("posts/b", "file", LOCKED)]
        assert server.get("/feeds/atom.xml")[0] == 200
    finally:
        server.stop()


def test_unreadable_posts_directory_at_first_start_is_named(site, tmp_path):
    """Nothing can be served: start-up stops at once, naming the directory (it waited 600 s, then blamed the database)."""
    site.post("one")
    posts = site.root / "posts"
    posts.rename(site.root / "posts.aside")
    posts.symlink_to("posts")  # a symlink to itself: unreadable, even by root
    with pytest.raises(RuntimeError, match="gunicorn exited") as failed:
        Server(site.root, tmp_path / "gunicorn.out", FEEDSVC_INDEX_PATH=str(tmp_path / "index.sqlite"))
    assert f"{posts}: file: cannot read: Too many levels of symbolic links (nothing was loaded yet)" in str(failed.value)
    assert "cannot hold the content" not in (tmp_path / "gunicorn.out").read_text()
