"""In-process CPU figures for bench/run; prints one JSON object. Run in a fresh process.

    python bench/inproc.py cost      # config from FEEDSVC_* variables (content dir, database...)

The app is built by ``feedsvc.create_app()`` and driven through Flask's test client, so
only public interfaces are used (no feedsvc.content internals): what the core is made of
(in-memory index, SQLite) does not matter. Every measured URL is requested once, so each
is a cache miss whatever caches the app keeps. Figures are CPU ms (``time.process_time``).

- API pages with category+tag+lang, with q, with q+category+lang;
- 50-entry full-text Atom / RSS / JSON Feed documents of every category and tag with at
  least 50 posts, beside bare feedgen writing the same entries (taken from the Atom
  document just served: id, title, updated, link, author, HTML content) in this process.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ATOM = "{http://www.w3.org/2005/Atom}"
WORDS = ["rights", "naloxone", "funding", "prison", "women", "stigma", "overdose", "reform", "données",
         "salud", "community", "evidence", "hepatitis", "programme", "youth", "decriminalisation",
         "sécurité", "drogas", "treatment", "violence", "police", "access", "global", "network"]


def _out(**kw: object) -> None:
    print(json.dumps(kw, sort_keys=True))


def _stats(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {"median_ms": statistics.median(xs), "p90_ms": xs[int(len(xs) * .9)], "n": len(xs)} if xs else {}


def _cpu(client: object, url: str) -> tuple[float, int, bytes]:
    c0 = time.process_time()
    resp = client.get(url)  # type: ignore[attr-defined]
    data = resp.data
    return (time.process_time() - c0) * 1000, resp.status_code, data


def feedgen_alone(atom: bytes) -> float:
    """CPU ms of bare feedgen writing the entries of an Atom document (parsed beforehand, not counted)."""
    from feedgen.feed import FeedGenerator
    from lxml import etree

    root = etree.fromstring(atom)
    entries = []
    for e in root.iter(f"{ATOM}entry"):
        link = next((x.get("href") for x in e.iter(f"{ATOM}link") if x.get("rel", "alternate") == "alternate"), "")
        author = e.find(f"{ATOM}author/{ATOM}name")
        entries.append((e.findtext(f"{ATOM}id"), e.findtext(f"{ATOM}title"), e.findtext(f"{ATOM}updated"),
                        link, author.text if author is not None else "Author", e.findtext(f"{ATOM}content") or ""))
    c0 = time.process_time()
    fg = FeedGenerator()
    fg.id("tag:example.org,2021:feed")
    fg.title("Feed")
    fg.updated(entries[0][2] if entries else "2026-01-01T00:00:00Z")
    fg.link(href="https://example.org/feed.xml", rel="self")
    for eid, title, updated, link, author, html in entries:
        fe = fg.add_entry(order="append")
        fe.id(eid)
        fe.title(title)
        fe.updated(updated)
        fe.link(href=link)
        fe.author(name=author)
        fe.content(html, type="html")
    fg.atom_str()
    return (time.process_time() - c0) * 1000


def cmd_cost() -> None:
    """API and feed cache-miss CPU, and the feedgen yardstick, in one process."""
    t0 = time.perf_counter()
    from feedsvc import create_app

    app = create_app()
    client = app.test_client()
    _, status, _ = _cpu(client, "/api/v1/posts?page=2")  # opens/loads the index
    open_s = time.perf_counter() - t0
    if status != 200:
        raise SystemExit(f"/api/v1/posts: {status}")
    total = int(client.get("/api/v1/posts?per_page=1").headers.get("X-Total-Count", "0"))
    cats = [c for c in json.loads(client.get("/api/v1/categories").data) if c["post_count"] >= 50]
    tags = [t for t in json.loads(client.get("/api/v1/tags").data) if t["post_count"] >= 50]
    for warm in ("/feeds/atom.xml", "/feeds/rss.xml", "/feeds/feed.json", "/api/v1/posts?q=health"):
        _cpu(client, warm)
    out: dict[str, object] = {"posts": total, "open_s": open_s}

    rng = random.Random(1)
    combos = sorted({(c["slug"], t["slug"], lang) for c in cats for t in tags for lang in ("en", "fr", "es")})
    rng.shuffle(combos)
    filt = []
    for c, t, lang in combos[:150]:
        ms, status, _ = _cpu(client, f"/api/v1/posts?category={c}&tag={t}&lang={lang}")
        if status not in (200, 404):
            raise SystemExit(f"filters: {status}")
        filt.append(ms)
    queries = WORDS + [f"{a}+{b}" for a, b in zip(WORDS, reversed(WORDS), strict=True)]
    qs = []
    for q in queries:
        ms, status, _ = _cpu(client, f"/api/v1/posts?q={q}")
        if status not in (200, 404):
            raise SystemExit(f"q: {status}")
        qs.append(ms)
    qf = [_cpu(client, f"/api/v1/posts?category={c}&lang={lang}&q={q}")[0]
          for (c, _, lang), q in zip(combos[150:200], queries, strict=False)]
    out["api_filters"] = _stats(filt)
    out["api_q"] = _stats(qs)
    out["api_q_filters"] = _stats(qf)

    scopes = [f"categories/{c['slug']}" for c in cats] + [f"tags/{t['slug']}" for t in tags]
    fg, ratios = [], []
    for fmt in ("atom.xml", "rss.xml", "feed.json"):
        samples, sizes = [], []
        for scope in scopes:
            ms, status, body = _cpu(client, f"/feeds/{scope}/{fmt}")
            if status != 200:
                raise SystemExit(f"/feeds/{scope}/{fmt}: {status}")
            samples.append(ms)
            sizes.append(len(body))
            if fmt == "atom.xml":
                alone = feedgen_alone(body)
                fg.append(alone)
                ratios.append(ms / alone)
        out[fmt] = {**_stats(samples), "median_bytes": statistics.median(sizes) if sizes else 0}
    out["feedgen_alone"] = _stats(fg)
    out["atom_over_feedgen_median"] = statistics.median(ratios) if ratios else None
    out["feed_docs"] = len(scopes)
    _out(**out)


def main() -> None:
    """Dispatch a subcommand."""
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "cost":
        cmd_cost()
    else:
        raise SystemExit(f"usage: inproc.py cost (got {cmd!r})")


if __name__ == "__main__":
    main()
