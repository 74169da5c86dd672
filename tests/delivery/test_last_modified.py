"""Last-Modified moves when, and only when, a document's bytes move (issue 18, point 3).

Through the HTTP test client and real reloads: ``If-Modified-Since`` alone never gets 304
for changed bytes, and changes that leave a document alone leave its Last-Modified alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from feedsvc.extensions import state

OLD = 1_600_000_000  # 2020-09-13: an mtime far behind any instant the writer records

STATEMENTS = [
    "/feeds/categories/statements/atom.xml",
    "/feeds/categories/statements/feed.json",
    "/api/v1/categories/statements/posts",
    "/categories/statements",
    "/posts/a",
    "/api/v1/posts/a",
]
EVENTS = [
    "/feeds/categories/events/atom.xml",
    "/feeds/categories/events/rss.xml",
    "/feeds/categories/events/feed.json",
    "/feeds/categories/events/calendar.ics",
    "/api/v1/categories/events/posts",
    "/categories/events",
    "/posts/b",
    "/api/v1/posts/b",
]


def _content(site: Any) -> None:
    site.post("a", "Statement body.", title="Statement A", date="2021-04-01", categories=["statements"], tags=["CND"])
    site.post(
        "b",
        "Event body.",
        title="Event B",
        date="2021-05-01",
        categories=["events"],
        tags=["Treaty"],
        event={"start": "2021-07-01T10:00:00+02:00", "location": "Geneva"},
    )


def _get(app: Any, url: str, **headers: str) -> Any:
    r = app.test_client().get(url, headers=headers)
    assert r.status_code in (200, 304), (url, r.status_code)
    return r


def _validators(app: Any, urls: list[str]) -> dict[str, tuple[str, str]]:
    out = {}
    for url in urls:
        r = _get(app, url)
        assert r.status_code == 200
        out[url] = (r.headers["ETag"], r.headers["Last-Modified"])
    return out


def _refresh(app: Any) -> None:
    state(app).live.refresh()


def _keep_mtime(path: Path, when: int = OLD) -> None:
    """What rsync -a, tar x and cp -p do: the new bytes carry an old mtime."""
    os.utime(path, (when, when))


def _rename_save(path: Path, text: str) -> None:
    """What sed -i and most editors do: write a new file beside it, rename it over the old one."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _assert_revalidation_gets_new_bytes(app: Any, url: str, before: Any) -> None:
    r = _get(app, url, **{"If-Modified-Since": before.headers["Last-Modified"]})
    assert r.status_code == 200, f"{url}: 304 for changed bytes"
    assert r.get_data() != before.get_data(), url
    assert parsedate_to_datetime(r.headers["Last-Modified"]) > parsedate_to_datetime(before.headers["Last-Modified"])


def test_an_edit_keeping_an_older_mtime_is_not_answered_304(site: Any, make_app: Any) -> None:
    _content(site)
    app = make_app()
    before = {u: _get(app, u) for u in STATEMENTS}
    path = site.post(
        "a",
        "Corrected statement body.",
        title="Statement A (corrected)",
        date="2021-04-01",
        categories=["statements"],
        tags=["CND"],
    )
    _keep_mtime(path)
    _refresh(app)
    for url in STATEMENTS:
        _assert_revalidation_gets_new_bytes(app, url, before[url])


def test_two_edits_within_one_second_each_move_last_modified(site: Any, make_app: Any) -> None:
    _content(site)
    app = make_app()
    path = site.root / "posts" / "a.md"
    second = int(parsedate_to_datetime(_get(app, STATEMENTS[0]).headers["Last-Modified"]).timestamp())
    seen = []
    for title in ("First edit", "Second edit"):
        site.post("a", "Statement body.", title=title, date="2021-04-01", categories=["statements"], tags=["CND"])
        os.utime(path, (second, second))  # both edits within one second, as the file system records them
        _refresh(app)
        seen.append({u: _get(app, u) for u in STATEMENTS})
    for url in STATEMENTS:
        _assert_revalidation_gets_new_bytes(app, url, seen[0][url])


def test_a_translation_title_edit_moves_the_originals_documents(site: Any, make_app: Any) -> None:
    site.post("orig", "Original.", title="Original", date="2021-04-01", lang="en", categories=["statements"])
    fr = site.post(
        "trad", "Traduction.", title="Traduction", date="2021-04-01", lang="fr", translation_of="orig", categories=["statements"]
    )
    app = make_app()
    urls = [
        "/feeds/feed.json?lang=en",
        "/feeds/categories/statements/feed.json?lang=en",
        "/api/v1/posts?lang=en",
        "/posts/orig",
        "/api/v1/posts/orig",
    ]
    before = {u: _get(app, u) for u in urls}
    fr.write_text(fr.read_text(encoding="utf-8").replace("title: Traduction", "title: Traduction revue"), encoding="utf-8")
    _keep_mtime(fr)
    _refresh(app)
    for url in urls:
        assert "Traduction revue" in _get(app, url).get_data(as_text=True), url
        _assert_revalidation_gets_new_bytes(app, url, before[url])


def _noop_rename(site: Any) -> None:
    path = site.root / "posts" / "a.md"
    _rename_save(path, path.read_text(encoding="utf-8"))


def _edit_rename(site: Any) -> None:
    path = site.root / "posts" / "a.md"
    _rename_save(path, path.read_text(encoding="utf-8").replace("Statement body.", "Another statement body."))


def _add_and_delete(site: Any) -> None:
    site.post("2022/c", "Unrelated.", title="Unrelated", date="2022-01-01", categories=["publications"])
    site.post("d", "Another statement.", title="Statement D", date="2022-02-01", categories=["statements"])
    (site.root / "posts" / "d.md").unlink()


def _mkdir(site: Any) -> None:
    (site.root / "posts" / "2031" / "drafts").mkdir(parents=True)


def _noop_save(site: Any) -> None:
    path = site.root / "posts" / "b.md"
    path.write_bytes(path.read_bytes())
    site.touch_later(path, 5)


CHANGES: dict[str, tuple[Callable[[Any], None], list[str]]] = {
    # change -> (what the editor does, documents whose bytes must not move)
    "rename-save, same bytes": (_noop_rename, STATEMENTS + EVENTS),
    "rename-save, new body": (_edit_rename, EVENTS),
    "unrelated add and delete": (_add_and_delete, EVENTS + ["/posts/a", "/api/v1/posts/a"]),
    "mkdir under posts/": (_mkdir, STATEMENTS + EVENTS + ["/feeds/atom.xml", "/api/v1/posts"]),
    "no-op save": (_noop_save, STATEMENTS + EVENTS + ["/feeds/atom.xml", "/api/v1/posts"]),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_changes_that_leave_a_document_alone_leave_its_last_modified_alone(site: Any, make_app: Any, change: str) -> None:
    _content(site)
    site.age()  # every mtime an hour back: whatever the change touches is newer
    app = make_app()
    act, untouched = CHANGES[change]
    before = _validators(app, untouched)
    act(site)
    _refresh(app)
    other = make_app()  # another worker: its own render cache, the same database
    for server in (app, other):
        after = _validators(server, untouched)
        for url in untouched:
            assert after[url][0] == before[url][0], f"{url}: the bytes moved after the {change}"
            assert after[url][1] == before[url][1], f"{url}: Last-Modified moved after the {change}, the bytes did not"
            assert _get(server, url, **{"If-Modified-Since": before[url][1]}).status_code == 304


def test_a_category_feed_moves_when_a_post_leaves_it_and_only_then(site: Any, make_app: Any) -> None:
    _content(site)
    site.post("e", "Older statement.", title="Statement E", date="2020-01-01", categories=["statements"])
    site.age()
    app = make_app()
    urls = ["/feeds/categories/statements/atom.xml", "/feeds/categories/events/atom.xml"]
    before = {u: _get(app, u) for u in urls}
    path = site.post("e", "Older statement.", title="Statement E", date="2020-01-01", categories=["publications"])
    _keep_mtime(path)
    _refresh(app)
    _assert_revalidation_gets_new_bytes(app, urls[0], before[urls[0]])  # its remaining posts are all older
    assert _get(app, urls[1]).headers["Last-Modified"] == before[urls[1]].headers["Last-Modified"]


def test_workers_agree_and_last_modified_never_goes_back(site: Any, make_app: Any) -> None:
    """Two apps on one database (the writer and a reader, as two workers): one Last-Modified per ETag, rising."""
    _content(site)
    site.post("c", "A third.", title="Statement C", date="2021-06-01", categories=["statements"], tags=["CND"])
    site.age()
    writer, reader = make_app(), make_app()
    assert state(writer).live.loader.database.writer and not state(reader).live.loader.database.writer
    urls = STATEMENTS + EVENTS + ["/feeds/atom.xml", "/api/v1/posts", "/"]
    steps: list[Callable[[Any], None]] = [
        _noop_rename,
        _edit_rename,
        _noop_save,
        _mkdir,
        lambda s: (s.root / "posts" / "c.md").unlink(),
        lambda s: _keep_mtime(s.post("c", "Back again.", title="Statement C", date="2021-06-01", categories=["statements"])),
        _noop_rename,
    ]
    by_etag: dict[tuple[str, str], str] = {}
    last: dict[str, float] = {}
    for step in [None, *steps]:
        if step is not None:
            step(site)
            _refresh(writer)
        seen = _validators(writer, urls)
        assert _validators(reader, urls) == seen
        for url, (etag, lm) in seen.items():
            assert by_etag.setdefault((url, etag), lm) == lm, f"{url}: one ETag, two Last-Modified values"
            ts = parsedate_to_datetime(lm).timestamp()
            assert ts >= last.get(url, 0), f"{url}: Last-Modified went back"
            last[url] = ts


def test_a_second_host_from_the_same_content_answers_the_same_etags(site: Any, make_app: Any, tmp_path: Path) -> None:
    _content(site)
    first = make_app(INDEX_PATH=str(tmp_path / "host1.sqlite3"))
    _get(first, "/posts/a")
    for title in ("Edited once", "Edited twice"):
        site.post("a", "Statement body.", title=title, date="2021-04-01", categories=["statements"], tags=["CND"])
        _refresh(first)
    second = make_app(INDEX_PATH=str(tmp_path / "host2.sqlite3"))  # a fresh database, built from the files
    urls = STATEMENTS + EVENTS + ["/feeds/atom.xml", "/api/v1/posts"]
    assert {u: t[0] for u, t in _validators(first, urls).items()} == {u: t[0] for u, t in _validators(second, urls).items()}


def test_content_check_hints_at_updated_after_an_edit_that_did_not_move_it(site: Any, make_app: Any, tmp_path: Path) -> None:
    _content(site)
    index = str(tmp_path / "served.sqlite3")
    app = make_app(INDEX_PATH=index)

    def check() -> Any:
        return app.test_cli_runner().invoke(args=["content", "check"])

    _get(app, "/posts/a")  # the server has loaded and served the post
    assert "hint" not in check().stderr
    site.post("a", "Statement body.", title="Statement A, retitled", date="2021-04-01", categories=["statements"], tags=["CND"])
    _refresh(app)
    result = check()
    assert result.exit_code == 0, result.output
    [hint] = [line for line in result.stderr.splitlines() if ": hint: " in line]
    assert hint.startswith(f"{site.root / 'posts' / 'a.md'}: updated: hint: ")
    assert "LAST-MODIFIED" in hint and "Statement A" not in result.stdout
    site.post(
        "a",
        "Statement body.",
        title="Statement A, retitled",
        date="2021-04-01",
        updated="2021-04-02",
        categories=["statements"],
        tags=["CND"],
    )
    _refresh(app)
    assert "hint" not in check().stderr


def test_a_database_rebuilt_while_running_never_dates_documents_back(site: Any, tmp_path: Path) -> None:
    # Through the writer itself: the service's own path to a rebuild is issue 18's point 6.
    from feedsvc.content import Loader

    _content(site)
    site.age()
    index = tmp_path / "index.sqlite3"
    loader = Loader(site.root, index_path=index)
    before = loader.load().query_last_modified(category="statements")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)  # lost while running: rebuilt at the next reload
    path = site.post(
        "a",
        "Corrected statement body.",
        title="Statement A (corrected)",
        date="2021-04-01",
        categories=["statements"],
        tags=["CND"],
    )
    _keep_mtime(path)  # and meanwhile an edit that keeps an old mtime
    after = loader.load()
    assert after.get("a").title == "Statement A (corrected)"
    assert after.query_last_modified(category="statements") > before
    loader.close()


def _retitle(name: str, title: str, category: str) -> Callable[[Any], None]:
    def act(site: Any) -> None:
        path = site.post(
            name,
            "Body.",
            title=title,
            date="2021-04-01" if name == "a" else "2021-05-01",
            categories=[category],
            tags=["CND"] if name == "a" else ["Treaty"],
        )
        _keep_mtime(path)  # the worst case: an mtime that says nothing changed

    return act


OPS: dict[str, tuple[Callable[[Any], None], bool]] = {
    # name -> (what the editor does, whether it leaves every document's bytes alone)
    "retitle a": (_retitle("a", "Statement A, retitled", "statements"), False),
    "retitle b": (_retitle("b", "Event B, retitled", "events"), False),
    "restore a": (_retitle("a", "Statement A", "statements"), False),
    "move a": (_retitle("a", "Statement A", "publications"), False),
    "add c": (lambda s: s.post("c", "C.", title="Report C", date="2021-06-01", categories=["publications"]), False),
    "delete c": (lambda s: (s.root / "posts" / "c.md").unlink(missing_ok=True), False),
    "rename-save a": (_noop_rename, True),
    "no-op save b": (_noop_save, True),
    "mkdir": (lambda s: (s.root / "posts" / "new-dir").mkdir(exist_ok=True), True),
}
WATCHED = [
    "/feeds/categories/statements/atom.xml",
    "/feeds/categories/events/feed.json",
    "/feeds/categories/publications/rss.xml",
    "/feeds/tags/cnd/atom.xml",
    "/feeds/atom.xml",
    "/api/v1/posts",
    "/posts/b",
    "/api/v1/posts/b",
    "/",
]


@pytest.mark.slow
def test_any_sequence_of_edits_moves_last_modified_with_the_bytes(site: Any, make_app: Any) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.sampled_from(sorted(OPS)), min_size=1, max_size=6))
    def run(ops: list[str]) -> None:
        import shutil

        shutil.rmtree(site.root / "posts")
        (site.root / "posts").mkdir()
        _content(site)
        site.age()
        app = make_app(INDEX_PATH=str(site.root.parent / f"index-{os.urandom(4).hex()}.sqlite3"))
        prev = {u: _get(app, u) for u in WATCHED}
        for op in ops:
            act, noop = OPS[op]
            act(site)
            _refresh(app)
            now = {u: _get(app, u) for u in WATCHED}
            for url in WATCHED:
                old_lm = parsedate_to_datetime(prev[url].headers["Last-Modified"])
                new_lm = parsedate_to_datetime(now[url].headers["Last-Modified"])
                if now[url].get_data() != prev[url].get_data():
                    assert new_lm > old_lm, f"{url}: bytes moved after {op!r}, Last-Modified did not ({ops})"
                    assert _get(app, url, **{"If-Modified-Since": prev[url].headers["Last-Modified"]}).status_code == 200
                else:
                    assert new_lm >= old_lm, f"{url}: Last-Modified went back after {op!r} ({ops})"
                if noop:
                    assert new_lm == old_lm, f"{url}: Last-Modified moved after {op!r}, the bytes did not ({ops})"
            prev = now

    run()
