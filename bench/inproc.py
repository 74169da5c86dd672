"""In-process measurements for bench/run; each subcommand prints one JSON object.

build ROOT [--cache DIR]   index build (wall, CPU, peak RSS)
reload ROOT CACHE          idle rescan and one edited file: CPU of the reload and of the search index
render ROOT CACHE          cache-miss CPU ms per 50-entry full-text Atom/RSS/JSON Feed document
api ROOT CACHE             cache-miss CPU ms of API pages with filters and with q
Run in a fresh process each, so one measurement's memory never affects another's.
"""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _out(**kw: object) -> None:
    print(json.dumps(kw, sort_keys=True))


def cmd_build(root: str, cache: str | None) -> None:
    from feedsvc.content.loader import Loader

    t0, c0 = time.perf_counter(), time.process_time()
    index = Loader(root, parse_cache_dir=cache).load()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    _out(posts=len(index.posts), problems=len(index.problems), wall_s=wall, cpu_s=cpu,
         maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


BACKUP = ".bench-orig-"


def edit(path: Path, marker: str) -> Path:
    """Put an edited copy in place of ``path``; the original is kept aside, untouched.

    ``restore`` renames the original back (same inode, size and mtime), so the corpus and
    its parse cache stay valid. Returns the backup path.
    """
    backup = path.with_name(BACKUP + path.name)
    text = path.read_text(encoding="utf-8").replace("\ntitle: \"", f"\ntitle: \"{marker} ", 1)
    os.rename(path, backup)
    path.write_text(text, encoding="utf-8")
    return backup


def restore(backup: Path) -> None:
    """Undo ``edit``."""
    os.replace(backup, backup.with_name(backup.name[len(BACKUP):]))


def cmd_reload(root: str, cache: str) -> None:
    """Reload CPU as the server's reload thread spends it: ask the watcher, load what changed.

    Also the full rescan (no inotify, and the safety scan every minute), idle and after
    an edit, for comparison.
    """
    from feedsvc.content import LiveIndex, Loader
    from feedsvc.content.loader import POSTS_DIR
    from feedsvc.content.watch import Watcher

    live = LiveIndex(Loader(root, parse_cache_dir=cache), interval=0)
    live.current.query(q="health")  # build the search index of the first snapshot
    watcher = Watcher.open(root, POSTS_DIR)
    if watcher is None:
        raise SystemExit("reload: inotify unavailable here")
    watcher.changes()  # the first answer is always "rescan"
    idle, idle_watch = [], []
    for _ in range(3):
        c0 = time.process_time()
        live.refresh()
        idle.append(time.process_time() - c0)
        c0 = time.process_time()
        assert watcher.changes() == set()
        idle_watch.append(time.process_time() - c0)
    files = sorted(Path(root, "posts").rglob("*.md"))
    target = files[len(files) // 2]

    def edited_reload(marker: str, full: bool) -> tuple[float, float, object]:
        backup = edit(target, marker)
        try:
            c0 = time.process_time()
            paths = None if full else watcher.changes()
            new = live.refresh(paths)
            spent = time.process_time() - c0
            c0 = time.process_time()
            new.query(q="health")
            return spent, time.process_time() - c0, new
        finally:
            restore(backup)
            live.refresh()  # back to the original for the next measurement
            watcher.changes()

    reload_s, search_s, new = edited_reload("Edited", full=False)
    full_s, _, _ = edited_reload("Rescanned", full=True)
    c0 = time.process_time()
    new.query(q="rights")  # type: ignore[attr-defined]
    query = time.process_time() - c0
    edited = [p for p in new.posts if p.title.startswith("Edited ")]  # type: ignore[attr-defined]
    watcher.close()
    _out(posts=len(new.posts), idle_rescan_ms=statistics.median(idle) * 1000,  # type: ignore[attr-defined]
         idle_watch_ms=statistics.median(idle_watch) * 1000, reload_ms=reload_s * 1000,
         reload_full_scan_ms=full_s * 1000, search_rebuild_ms=search_s * 1000, first_query_ms=query * 1000,
         edited_seen=len(edited) == 1)


def _app(root: str, cache: str) -> object:
    from feedsvc import create_app

    return create_app({"CONTENT_DIR": root, "PARSE_CACHE_DIR": cache, "CACHE_TYPE": "NullCache",
                       "RELOAD_INTERVAL": 0.0, "RATELIMIT": None})


def _cpu_ms(client: object, url: str, headers: dict[str, str] | None = None) -> tuple[float, int, int]:
    c0 = time.process_time()
    resp = client.get(url, headers=headers or {})  # type: ignore[attr-defined]
    ms = (time.process_time() - c0) * 1000
    return ms, resp.status_code, len(resp.data)


def cmd_render(root: str, cache: str) -> None:
    from feedsvc.extensions import state

    app = _app(root, cache)
    index = state(app).live.current  # type: ignore[arg-type]
    client = app.test_client()  # type: ignore[attr-defined]
    cats = [c.category.slug for c in index.categories if c.count >= 50]
    tags = [s for s, t in index.tags.items() if t.count >= 50]
    out: dict[str, object] = {"posts": len(index.posts)}
    for fmt in ("atom.xml", "rss.xml", "feed.json"):
        urls = [f"/feeds/{fmt}"] + [f"/feeds/categories/{c}/{fmt}" for c in cats] + \
               [f"/feeds/tags/{t}/{fmt}" for t in tags[:20]]
        for u in urls[:3]:  # warm imports and code paths
            _cpu_ms(client, u)
        samples, sizes = [], []
        for _ in range(3):
            for u in urls:
                ms, status, size = _cpu_ms(client, u)
                if status != 200:
                    raise SystemExit(f"{u}: {status}")
                samples.append(ms)
                sizes.append(size)
        out[fmt] = {"median_ms": statistics.median(samples), "p90_ms": sorted(samples)[int(len(samples) * .9)],
                    "docs": len(samples), "median_bytes": statistics.median(sizes)}
    out["feedgen_alone_ms"] = _feedgen_alone(index, cats + [f"tag:{t}" for t in tags[:20]])
    _out(**out)


def _feedgen_alone(index: object, scopes: list[str]) -> float:
    """The issue's yardstick on this machine: bare feedgen writing the same 50 full-text entries.

    Median CPU ms of FeedGenerator + atom_str with id, title, updated, link, author and the
    HTML content of each entry, bodies decompressed beforehand (not counted).
    """
    from feedgen.feed import FeedGenerator

    samples = []
    for _ in range(3):
        for scope in scopes:
            posts = (index.query(tag=scope[4:]) if scope.startswith("tag:")  # type: ignore[attr-defined]
                     else index.query(category=scope))[:50]  # type: ignore[attr-defined]
            bodies = [p.content_html for p in posts]
            c0 = time.process_time()
            fg = FeedGenerator()
            fg.id("tag:example.org,2021:feed")
            fg.title("Feed")
            fg.updated(posts[0].updated)
            fg.link(href="https://example.org/feed.xml", rel="self")
            for p, html in zip(posts, bodies, strict=True):
                fe = fg.add_entry(order="append")
                fe.id(p.id)
                fe.title(p.title)
                fe.updated(p.updated)
                fe.link(href=f"https://example.org/{p.slug}")
                fe.author(name=p.author.name)
                fe.content(html, type="html")
            fg.atom_str()
            samples.append((time.process_time() - c0) * 1000)
    return statistics.median(samples)


def cmd_api(root: str, cache: str) -> None:
    from feedsvc.extensions import state

    app = _app(root, cache)
    index = state(app).live.current  # type: ignore[arg-type]
    client = app.test_client()  # type: ignore[attr-defined]
    rng = random.Random(1)
    cats = [c.category.slug for c in index.categories]
    tags = list(index.tags)
    langs = list(index.languages)
    combos = sorted({(c, t, lang) for c in cats for t in tags for lang in langs})
    rng.shuffle(combos)
    _cpu_ms(client, "/api/v1/posts")
    filt = []
    for c, t, lang in combos[:150]:
        ms, status, _ = _cpu_ms(client, f"/api/v1/posts?category={c}&tag={t}&lang={lang}")
        if status not in (200, 404):
            raise SystemExit(f"filters: {status}")
        filt.append(ms)
    first_q, status, _ = _cpu_ms(client, "/api/v1/posts?q=health")
    words = ["rights", "naloxone", "funding", "prison", "women", "stigma", "overdose", "reform", "données",
             "salud", "community", "evidence", "hepatitis", "programme", "youth", "decriminalisation",
             "sécurité", "drogas", "treatment", "violence", "police", "access", "global", "network"]
    queries = words + [f"{a} {b}" for a, b in zip(words, reversed(words), strict=True)]
    qs = []
    for q in queries:
        ms, status, _ = _cpu_ms(client, f"/api/v1/posts?q={q}")
        if status not in (200, 404):
            raise SystemExit(f"q: {status}")
        qs.append(ms)
    qf = []
    for (c, _, lang), q in zip(combos[150:200], queries, strict=False):
        ms, status, _ = _cpu_ms(client, f"/api/v1/posts?category={c}&lang={lang}&q={q}")
        qf.append(ms)
    _out(posts=len(index.posts), filters_median_ms=statistics.median(filt), filters_p90_ms=sorted(filt)[int(len(filt) * .9)],
         q_first_ms=first_q, q_median_ms=statistics.median(qs), q_p90_ms=sorted(qs)[int(len(qs) * .9)],
         q_filtered_median_ms=statistics.median(qf), n_filters=len(filt), n_q=len(qs))


def main() -> None:
    """Dispatch a subcommand."""
    cmd, root, *rest = sys.argv[1:]
    if cmd == "build":
        cmd_build(root, rest[1] if rest[:1] == ["--cache"] else None)
    elif cmd == "reload":
        cmd_reload(root, rest[0])
    elif cmd == "render":
        cmd_render(root, rest[0])
    elif cmd == "api":
        cmd_api(root, rest[0])
    else:
        raise SystemExit(f"unknown subcommand {cmd}")


if __name__ == "__main__":
    main()
