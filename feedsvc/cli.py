"""Command line: `flask --app feedsvc content check|new|stats`."""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
import yaml
from flask import Flask, current_app
from flask.cli import AppGroup

from .config import default_index_path
from .content import ContentError, Loader, SiteError, load_site, parse_post, values
from .content.changes import stale_updates
from .content.model import Problem
from .content.slugs import derive_slug
from .content.store.schema import connect

content_cli = AppGroup("content", help="Check and write content files.")


def _progress(label: str):  # type: ignore[no-untyped-def]
    """A progress callback printing to stderr on long runs (interactive or not)."""
    state = {"last": 0}

    def report(done: int, total: int) -> None:
        if total >= 1000 and (done - state["last"] >= max(500, total // 20) or done == total):
            state["last"] = done
            click.echo(f"{label}: {done}/{total} files", err=True)

    return report


@contextmanager
def _problems_not_logged() -> Iterator[None]:
    """The loader logs each problem as a warning (a server's log); ``check`` prints them itself.

    Without this every problem came out twice: once as a log line on stderr (path relative
    to the content directory), once as the command's own line on stdout.
    """
    logger = logging.getLogger("feedsvc.content")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _served_hints(root: Path, sources: set[str]) -> list[Problem]:
    """Hints from the index database a server keeps for ``root``: posts edited without moving ``updated``.

    Read only, and only when that database exists: the server's writer records the edits
    it sees (content/changes.py); a check alone cannot know what readers were served.
    """
    cfg = current_app.config
    same_dir = root.resolve() == Path(cfg["CONTENT_DIR"]).resolve()
    path = Path(cfg["INDEX_PATH"]) if same_dir and cfg.get("INDEX_PATH") else Path(default_index_path(root))
    if not path.is_file():
        return []
    try:
        conn = connect(str(path), readonly=True)
        try:
            return stale_updates(conn, sources)
        finally:
            conn.close()
    except sqlite3.Error:
        return []  # another schema (being rebuilt) or unreadable: no hints, never a failed check


@content_cli.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def check(directory: Path | None) -> None:
    """Validate every content file in DIRECTORY (default: FEEDSVC_CONTENT_DIR).

    Prints one `file: field: message` line per problem and exits 1 if there is any.
    Hints (on stderr, never failing the check) name posts a running server saw change
    without their `updated` moving: feed readers keep the old modification date. The
    scheduled posts (`date` ahead) and the expiring ones (`expires` set) are listed on
    stderr too, each with its time in the site's timezone.
    """
    root = directory or Path(current_app.config["CONTENT_DIR"])
    loader = Loader(root)
    try:
        with _problems_not_logged():
            index = loader.load(progress=_progress("checking"))
    except SiteError as exc:
        for p in exc.problems:
            click.echo(f"{root / p.path}: {p.field}: {p.message}")
        sys.exit(1)
    except (OSError, LookupError) as exc:  # LookupError: nothing could be loaded (NoContentYet)
        fault = loader.unreadable or exc
        where = fault.filename if isinstance(fault, OSError) and fault.filename else root
        why = fault.strerror if isinstance(fault, OSError) and fault.strerror else fault
        click.echo(f"{where}: file: cannot read: {why}")
        sys.exit(1)
    for p in index.problems:
        click.echo(f"{root / p.path}: {p.field}: {p.message}")
    for p in _served_hints(root, {post.source for post in index.posts}):
        click.echo(f"{root / p.path}: {p.field}: hint: {p.message}", err=True)
    tz = index.site.tz
    for item in index.pending():  # published (scheduled) or withdrawn (expiring) at that time by the server
        when = datetime.fromtimestamp(item.at, tz).isoformat()
        click.echo(f"{root / item.source}: {item.kind} {when} ({item.slug})", err=True)
    click.echo(f"{len(index.posts)} posts published, {len(index.problems)} problems", err=True)
    sys.exit(1 if index.problems else 0)


@content_cli.command("new")
@click.argument("title")
@click.option("--category", "categories", multiple=True, required=True, help="Category slug (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Tag (repeatable).")
@click.option("--date", "date", help="Publication date or datetime (ISO 8601); default: now.")
@click.option("--slug", help="URL slug; default: from the title.")
@click.option("--lang", help="Language tag; default: the site language.")
@click.option("--summary", help="Summary; default: the first paragraph.")
@click.option("--event-start", help="Event start (ISO 8601 datetime with offset).")
@click.option("--event-end", help="Event end (ISO 8601 datetime with offset).")
@click.option("--event-location", help="Where the event takes place.")
@click.option("--event-url", help="Registration or event URL.")
@click.option("--draft", is_flag=True, help="Write the post as a draft (published nowhere).")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Content directory; default: FEEDSVC_CONTENT_DIR.",
)
def new(
    title: str,
    categories: tuple[str, ...],
    tags: tuple[str, ...],
    date: str | None,
    slug: str | None,
    lang: str | None,
    summary: str | None,
    event_start: str | None,
    event_end: str | None,
    event_location: str | None,
    event_url: str | None,
    draft: bool,
    directory: Path | None,
) -> None:
    """Write a correctly named, valid post file titled TITLE and print its path."""
    root = directory or Path(current_app.config["CONTENT_DIR"])
    try:
        site = load_site(root / "site.yaml")
    except SiteError as exc:
        raise click.ClickException(str(exc)) from None
    when = date or datetime.now(UTC).astimezone(site.tz).replace(microsecond=0).isoformat()
    try:
        published = values.parse_when(when, site.tz)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--date") from None
    slug = slug or derive_slug(title)
    if not slug:
        raise click.UsageError("the title has no letter or digit to make a slug from: give --slug")
    fm: dict[str, object] = {"title": title, "date": when, "categories": list(categories)}
    if tags:
        fm["tags"] = list(tags)
    if derive_slug(slug) != slug:  # the file name alone would not give this slug
        fm["slug"] = slug
    for key, value in (("lang", lang), ("summary", summary)):
        if value:
            fm[key] = value
    if event_start or event_end or event_location or event_url:
        if not event_start:
            raise click.UsageError("--event-start is required for an event")
        fm["event"] = {
            k: v for k, v in (("start", event_start), ("end", event_end), ("location", event_location), ("url", event_url)) if v
        }
    if draft:
        fm["draft"] = True
    path = root / "posts" / f"{published:%Y}" / f"{published:%Y-%m-%d}-{slug}.md"
    text = "---\n" + yaml.safe_dump(fm, allow_unicode=True, sort_keys=False) + "---\n\nWrite the post here.\n"
    try:
        parse_post(text.encode(), path.relative_to(root).as_posix(), site)
    except ContentError as exc:
        raise click.ClickException(f"the post would be invalid: {exc.field}: {exc.message}") from None
    existing = Loader(root).load()
    if existing.get(slug) is not None:
        raise click.ClickException(f"slug {slug!r} is already used by {existing.get(slug).source}")  # type: ignore[union-attr]
    if path.exists():
        raise click.ClickException(f"{path} already exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    click.echo(str(path))


@content_cli.command("stats")
def stats() -> None:
    """Print counts of posts, categories, tags and problems."""
    idx = Loader(current_app.config["CONTENT_DIR"]).load(progress=_progress("loading"))
    click.echo(f"posts: {len(idx.posts)}")
    for c in idx.categories:
        click.echo(f"category {c.category.slug}: {c.count}")
    click.echo(f"tags: {len(idx.tags)}; languages: {', '.join(idx.languages)}")
    click.echo(f"problems: {len(idx.problems)}; version: {idx.version}")


def init_app(app: Flask) -> None:
    """Register the CLI groups."""
    from .preview import preview_command

    content_cli.add_command(preview_command)
    app.cli.add_command(content_cli)
