"""`flask content preview FILE`: one post rendered by the real views, nothing served changed."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import feedparser
import lxml.html
import pytest
from support.browser import open_page

from feedsvc.extensions import state

READ_FIRST = """
var host = document.querySelector('[data-feedsvc]'), root = host.shadowRoot, t = root.querySelector('.title');
return {state: host.dataset.feedsvcState, titles: Array.prototype.map.call(root.querySelectorAll('.title'),
        function (e) { return e.textContent; }), href: t && t.getAttribute('href'),
        summary: root.querySelector('.summary') && root.querySelector('.summary').textContent};
"""
LONG_TITLE = "A statement " + "on the situation " * 7


def preview(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["content", "preview", *args])


def served_state(app: Any, client: Any) -> tuple[str, int, dict[str, str]]:
    """The served index database's bytes and mtime, and the served ETags."""
    path = Path(state(app).live.loader.database.path)
    etags = {u: client.get(u).headers["ETag"] for u in ("/feeds/atom.xml", "/api/v1/posts", "/", "/feeds/rss.xml")}
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns, etags


@pytest.fixture
def served(site: Any, make_app: Any) -> Any:
    site.post("published", "A published post.", title="Published", summary="Here.", lang="en")
    site.post("other", "Another.", title="Other", date="2021-03-01")
    app = make_app()
    client = app.test_client()
    assert client.get("/feeds/atom.xml").status_code == 200
    return app, client


def test_a_draft_is_rendered_everywhere_and_nothing_served_changes(site: Any, served: Any, tmp_path: Path) -> None:
    app, client = served
    draft = site.post(
        "draft-news",
        "See [the post](/posts/published), [a gone one](https://news.example.org/posts/"
        "gone), [a category](/categories/nowhere) and [elsewhere](https://other.example/x).",
        title="Draft news",
        date="2021-05-01",
        draft=True,
        image="/img/photo.jpg",
    )
    before = served_state(app, client)
    out = tmp_path / "out"
    result = preview(app, str(draft), "--out", str(out))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"warning: {draft}: summary: no summary: feeds and the widget show the first paragraph" in lines
    assert f"warning: {draft}: image_alt: the image has no text alternative (image_alt)" in lines
    assert any("links to https://news.example.org/posts/gone, which does not exist" in x for x in lines)
    assert any("links to https://news.example.org/categories/nowhere, which does not exist" in x for x in lines)
    assert not any("published," in x or "other.example" in x for x in lines), "existing and foreign links are fine"

    atom = feedparser.parse((out / "entry.atom.xml").read_bytes())
    assert not atom.bozo and [e.title for e in atom.entries] == ["Draft news"]
    assert atom.entries[0].link == "https://news.example.org/posts/draft-news"
    rss = feedparser.parse((out / "item.rss.xml").read_bytes())
    assert not rss.bozo and [e.title for e in rss.entries] == ["Draft news"]
    assert rss.entries[0].media_content[0]["url"] == "https://news.example.org/img/photo.jpg"
    jf = json.loads((out / "item.feed.json").read_text())
    assert [i["title"] for i in jf["items"]] == ["Draft news"]
    api = json.loads((out / "api.json").read_text())
    assert api["slug"] == "draft-news" and api["image"] == "https://news.example.org/img/photo.jpg"
    page = lxml.html.fromstring((out / "page.html").read_bytes())
    assert page.findtext(".//h1").strip() == "Draft news"
    assert page.xpath("//link[@rel='canonical']/@href") == ["https://news.example.org/posts/draft-news"]
    widget = (out / "widget.html").read_text()
    doc = lxml.html.fromstring(widget)
    assert doc.xpath("//div[@data-feedsvc]") and not doc.xpath("//script[@src]"), "the widget needs no server"
    assert "feedsvcEmbed" in widget and '"slug": "draft-news"' in widget

    assert served_state(app, client) == before, "the served index and documents are unchanged"
    assert client.get("/posts/draft-news").status_code == 404


def test_problems_and_other_warnings(site: Any, served: Any, tmp_path: Path) -> None:
    app, _ = served
    broken = site.post("broken", title="Broken", categories=["no-such-category"])
    result = preview(app, str(broken), "--out", str(tmp_path / "b"))
    assert result.exit_code == 1
    assert f"{broken}: categories: unknown category 'no-such-category' (declare it in site.yaml)" in result.output
    assert "nothing rendered" in result.output

    long = site.post("long", title=LONG_TITLE.strip(), summary="S.", translation_of="missing-original", lang="fr")
    result = preview(app, str(long), "--out", str(tmp_path / "l"))
    assert result.exit_code == 0, result.output
    assert f"warning: {long}: title: is {len(LONG_TITLE.strip())} characters" in result.output
    assert f"warning: {long}: translation_of: no published post has the slug 'missing-original'" in result.output
    assert "summary" not in result.output and "image_alt" not in result.output

    dup = site.raw("dup.md", "---\ntitle: Dup\ndate: 2021-04-02\ncategories: [statements]\nslug: published\nsummary: s\n---\nx\n")
    result = preview(app, str(dup), "--out", str(tmp_path / "d"))
    assert result.exit_code == 1 and f"{dup}: slug: 'published' is already used by posts/published.md" in result.output


def test_files_the_server_refuses_are_refused_with_the_servers_words(site: Any, served: Any, tmp_path: Path) -> None:
    """preview read files its own way: a UTF-16 file was 'cannot read: 'utf-8' codec can't decode…', a FIFO
    blocked it for ever, a name that is not UTF-8 printed only 'nothing rendered'; now each is the line
    content check and /healthz give."""
    app, _ = served
    text = "---\ntitle: T\ndate: 2021-04-02\ncategories: [statements]\nsummary: s\n---\nBody.\n"
    utf16 = "file: is UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8"
    cr = "file: lines end with a lone CR (old Mac line endings): save it with LF or CRLF line endings"
    cases = {
        site.raw("u16.md", text.encode("utf-16")): utf16,
        site.raw("cr.md", text.replace("\n", "\r")): cr,
        site.raw("nul.md", text + "\x00"): "file: contains NUL bytes (binary file?)",
        site.raw("big.md", text + "x" * (8 * 1024 * 1024)): f"file: is {len(text) + 8 * 1024 * 1024} bytes; the limit is 8388608",
        site.raw("caf\udce9.md", text): "file: the file name is not UTF-8 text: rename it",
    }
    fifo = site.root / "posts" / "fifo.md"
    os.mkfifo(fifo)
    cases[fifo] = "file: not a regular file"
    for i, (path, line) in enumerate(cases.items()):
        result = preview(app, str(path), "--out", str(tmp_path / str(i)))
        assert result.exit_code == 1, (path, result.output, result.exception)
        printed = os.fsencode(path).decode("utf-8", "backslashreplace")  # caf\xe9.md
        assert result.output.splitlines()[0] == f"{printed}: {line}", result.output
        assert "nothing rendered" in result.output


def test_a_translation_shows_its_original_and_the_default_directory_is_printed(site: Any, served: Any) -> None:
    app, _ = served
    fr = site.post(
        "publie", "Texte.", title="Publié", summary="Ici.", lang="fr", translation_of="published", date="2031-01-01"
    )  # a scheduled post renders too
    result = preview(app, str(fr))
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    out = Path(re.search(r"preview written to (\S+)", result.output).group(1))
    assert out.is_dir() and out.name.startswith("feedsvc-preview-")
    page = lxml.html.fromstring((out / "page.html").read_bytes())
    assert "https://news.example.org/posts/published" in page.xpath("//a/@href"), "the other version is linked"
    atom = feedparser.parse((out / "entry.atom.xml").read_bytes())
    assert [e.title for e in atom.entries] == ["Publié"]


def test_help_names_the_outputs(app: Any) -> None:
    result = app.test_cli_runner().invoke(args=["content", "preview", "--help"])
    assert result.exit_code == 0
    for word in ("page.html", "entry.atom.xml", "item.rss.xml", "item.feed.json", "api.json", "widget.html", "--out"):
        assert word in result.output


@pytest.mark.browser
def test_the_widget_file_shows_the_post_in_a_browser_from_disk(site: Any, served: Any, tmp_path: Path, browser: Any) -> None:
    app, _ = served
    draft = site.post("draft-news", "Body.", title="Draft news", summary="The summary.", draft=True)
    assert preview(app, str(draft), "--out", str(tmp_path / "o")).exit_code == 0
    open_page(browser, (tmp_path / "o" / "widget.html").as_uri(), widgets=1)
    shown = browser.execute_script(READ_FIRST)
    assert shown == {
        "state": "ready",
        "titles": ["Draft news"],
        "href": "https://news.example.org/posts/draft-news",
        "summary": "The summary.",
    }
