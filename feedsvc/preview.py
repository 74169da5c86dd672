"""Editor preview: `flask content preview FILE` renders one post file as it would be served, touching nothing served.

The post (a draft, a scheduled post or a published one alike) is copied, with ``draft``
turned off, into a throwaway content directory beside ``site.yaml`` (and the post its
``translation_of`` names, when that exists), and a throwaway app over it, with its own
index, queue and no shared cache, renders it through the real views: the page, the Atom,
RSS and JSON feeds, the API object and the widget's data. The served index is only ever
read (read-only connection), to check the post's links and ``translation_of``.
"""

from __future__ import annotations

import html
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import lxml.html
from flask import Flask, current_app
from flask.cli import with_appcontext
from werkzeug.exceptions import HTTPException

from .content import ContentError, Index, Loader, Post, SiteError, load_site, parse_post
from .content.frontmatter import join, split
from .content.index import read_header
from .content.parse import decode_post
from .content.scan import NOT_UTF8_NAME, read_regular
from .content.scan import shown as shown_path
from .content.schedule import is_live
from .content.store.schema import connect

#: Search engines cut longer titles in their results.
MAX_TITLE = 110
#: The files written, in the order they are listed.
OUTPUTS = ("page.html", "entry.atom.xml", "item.rss.xml", "item.feed.json", "api.json", "widget.html")


@dataclass
class Report:
    """What the preview found: problems (the post is wrong) and warnings (it is served, but worse)."""

    source: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def problem(self, fld: str, message: str) -> None:
        """Record a problem, as `file: field: message`."""
        self.problems.append(f"{self.source}: {fld}: {message}")

    def warning(self, fld: str, message: str) -> None:
        """Record a warning, as `file: field: message`."""
        self.warnings.append(f"{self.source}: {fld}: {message}")


def served_index(app: Flask, tmp: Path) -> Index:
    """The served index, read-only; a throwaway one of the content directory when none was built yet."""
    root = Path(app.config["CONTENT_DIR"])
    path = str(app.config["INDEX_PATH"])
    if Path(path).exists():
        try:
            conn = connect(path, readonly=True)
            return read_header(conn, path, owner=conn)
        except (LookupError, sqlite3.Error):  # an unreadable or empty file: index the files instead
            pass
    loader = Loader(root, app.config["MAX_POST_BYTES"], app.config["BASE_URL"], tmp / "site.sqlite3")
    return loader.load()


def _site_path(url: str, base_url: str) -> str | None:
    """The path of ``url`` under the site's base URL, or None when it points elsewhere."""
    base = base_url.rstrip("/")
    if url != base and not url.startswith(base + "/"):
        return None
    return urlsplit(url[len(base) :] or "/").path or "/"


def missing_link(app: Flask, index: Index, path: str, own_slug: str) -> bool:
    """Whether a path of the site answers nothing: no route, or a post, category or tag the index lacks."""
    try:
        endpoint, args = app.url_map.bind("preview").match(path, method="GET")
    except HTTPException:
        return True
    slug = str(args.get("slug") or args.get("tag") or "")
    if endpoint in ("web.post_page", "api.post"):
        return slug != own_slug and index.get(slug) is None and index.alias_target(slug) is None
    if endpoint in ("web.category_page", "api.category", "api.category_posts") or "category_" in endpoint:
        return index.site.category(slug) is None
    if endpoint == "web.tag_page" or "tag_" in endpoint:
        return index.tag_slug(slug) is None
    return False


def check(report: Report, fm: dict[str, Any], post: Post, index: Index, app: Flask) -> None:
    """The warnings of one parsed post against the served index."""
    if not fm.get("summary"):
        report.warning("summary", "no summary: feeds and the widget show the first paragraph")
    if len(post.title) > MAX_TITLE:
        report.warning("title", f"is {len(post.title)} characters; search engines cut titles over {MAX_TITLE}")
    if fm.get("image") and not fm.get("image_alt"):
        report.warning("image_alt", "the image has no text alternative (image_alt)")
    if post.translation_of and index.get(post.translation_of) is None:
        report.warning("translation_of", f"no published post has the slug {post.translation_of!r}")
    other = index.get(post.slug)
    if other is not None and other.source != post.source:
        report.problem("slug", f"{post.slug!r} is already used by {other.source}")
    if post.content_html.strip():
        seen = set()
        for href in lxml.html.fragment_fromstring(post.content_html, create_parent="div").xpath("//a/@href"):
            path = _site_path(str(href), index.site.base_url)
            if path is not None and path not in seen and missing_link(app, index, path, post.slug):
                seen.add(path)
                report.warning("body", f"links to {href}, which does not exist on the site")


def _shadow_app(shadow: Path, cfg: Any, post: Post) -> Flask:
    from . import create_app

    # Shown as it is now, or at its date when it is not live now (scheduled, or expired): it renders either way.
    now = time.time()
    instant = now if is_live(post.date_ts, post.expires_ts, now) else post.date_ts
    return create_app(
        {
            "CLOCK": lambda: instant,
            "CONTENT_DIR": str(shadow / "content"),
            "INDEX_PATH": str(shadow / "index.sqlite3"),
            "OUTBOX_PATH": str(shadow / "outbox.sqlite3"),
            "RELOAD_INTERVAL": 0,
            "CACHE_TYPE": "NullCache",
            "CACHE_LOCAL_BYTES": 0,
            "CACHE_ODD_BYTES": 0,
            "WEBHOOKS_FILE": None,
            "RATELIMIT": None,
            "BASE_URL": cfg["BASE_URL"],
            "MAX_POST_BYTES": cfg["MAX_POST_BYTES"],
        }
    )


def widget_html(api_page: Any, embed_js: str, base_url: str, lang: str, title: str) -> str:
    """A page showing the widget with this data, needing no server: embed.js inline, its one request answered here."""
    data = json.dumps(api_page, ensure_ascii=False).replace("<", "\\u003c")
    script_url = json.dumps(base_url.rstrip("/") + "/embed.js")
    shim = (
        "(function(){var page=" + data + ";"
        "Object.defineProperty(document,'currentScript',{configurable:true,get:function(){return {src:"
        + script_url
        + "};}});window.fetch=function(){return Promise.resolve(new Response(JSON.stringify(page),"
        "{status:200,headers:{'Content-Type':'application/json'}}));};})();"
    )
    safe_js = embed_js.replace("</", "<\\/")
    lang, heading = html.escape(lang), html.escape(title)
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head><meta charset="utf-8"><title>Widget preview: {heading}'
        f'</title></head>\n<body>\n<div data-feedsvc data-summary data-lang="{lang}"></div>\n'
        f"<script>{shim}</script>\n<script>{safe_js}</script>\n</body>\n</html>\n"
    )


def render(app: Flask, slug: str, lang: str | None, base_url: str, out: Path) -> list[str]:
    """Write the post's documents, rendered by ``app``'s own views, into ``out``; the names written."""
    client = app.test_client()
    qs = f"?lang={lang}" if lang else ""
    written = []
    fetched = {
        "page.html": f"/posts/{slug}",
        "entry.atom.xml": f"/feeds/atom.xml{qs}",
        "item.rss.xml": f"/feeds/rss.xml{qs}",
        "item.feed.json": f"/feeds/feed.json{qs}",
        "api.json": f"/api/v1/posts/{slug}",
    }
    for name, url in fetched.items():
        resp = client.get(url, headers={"Accept-Encoding": "identity"})
        if resp.status_code == 200:
            (out / name).write_bytes(resp.get_data())
            written.append(name)
    api = client.get(f"/api/v1/posts{qs}")
    js = client.get("/embed.js")
    if api.status_code == 200 and js.status_code == 200:
        page = api.get_json()
        page["items"] = [p for p in page["items"] if p["slug"] == slug]
        item = page["items"][0] if page["items"] else {}
        (out / "widget.html").write_text(
            widget_html(page, js.get_data(as_text=True), base_url, item.get("lang", "en"), item.get("title", slug)),
            encoding="utf-8",
        )
        written.append("widget.html")
    return written


def preview(file: Path, out: Path | None) -> int:
    """Render FILE into OUT (a fresh temporary directory by default), print what was found; the exit status."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    root = Path(app.config["CONTENT_DIR"])
    try:
        site = load_site(root / "site.yaml")
    except SiteError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        rel = file.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        rel = f"posts/{file.name}"
    report = Report(shown_path(str(file)))  # a name that is not UTF-8 printed with \xNN escapes
    try:
        if shown_path(rel) != rel:
            raise ContentError("file", NOT_UTF8_NAME)
        # As the server reads a post: a regular file within the size limit, the same checks of its text.
        raw = read_regular(file, app.config["MAX_POST_BYTES"])
        fm, body = split(decode_post(raw))
        fm["draft"] = False  # a draft is previewed as it will be once published
        text = join(fm, body)
        post = parse_post(text.encode("utf-8"), rel, site)
    except ContentError as exc:
        report.problem(exc.field, exc.message)
        post = None
    except OSError as exc:
        report.problem("file", f"cannot read: {exc.strerror or exc}")
        post = None
    out = out or Path(tempfile.mkdtemp(prefix="feedsvc-preview-"))
    out.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    if post is not None:
        with tempfile.TemporaryDirectory(prefix="feedsvc-preview-site-") as tmp:
            shadow = Path(tmp)
            index = served_index(app, shadow)
            check(report, fm, post, index, app)
            content = shadow / "content"
            (content / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / "site.yaml", content / "site.yaml")
            (content / rel).write_text(text, encoding="utf-8")
            original = index.get(post.translation_of) if post.translation_of else None
            if original is not None and original.source != rel:
                (content / original.source).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(root / original.source, content / original.source)
            shadow_app = _shadow_app(shadow, app.config, post)
            from .extensions import state

            shown = state(shadow_app).live.current
            for p in shown.problems:
                if p.path == rel and p.field != "translation_of":  # that one is a warning, above
                    report.problem(p.field, p.message)
            if shown.get(post.slug) is not None:
                written = render(shadow_app, post.slug, post.lang if original is not None else None, shown.site.base_url, out)
    for line in report.problems:
        click.echo(line)
    for line in report.warnings:
        click.echo(f"warning: {line}")
    click.echo(f"preview written to {out}" if written else f"nothing rendered; output directory {out}")
    for name in written:
        click.echo(f"  {out / name}")
    return 1 if report.problems or not written else 0


@click.command("preview")
@with_appcontext
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write into (created if needed); default: a fresh temporary directory.",
)
def preview_command(file: Path, out: Path | None) -> None:
    """Render one post FILE (draft, scheduled or broken alike) without publishing it.

    Writes page.html, entry.atom.xml, item.rss.xml, item.feed.json, api.json and widget.html
    (the embed widget with its data inline: open it from disk, no server needed), prints
    their directory, the post's problems (`file: field: message`; exit status 1) and
    warnings: no summary, a title over 110 characters, an image without image_alt, a link
    to a page of the site that does not exist, a translation_of naming no published post.
    Nothing served changes: the served index is only read.
    """
    sys.exit(preview(file, out))
