"""In-process CPU figures for bench/run; prints one JSON object. Run in a fresh process.

    python bench/inproc.py cost      # config from FEEDSVC_* variables (content dir, database...)

The app is built by ``feedsvc.create_app()`` and driven through Flask's test client, so
only public interfaces are used (no feedsvc.content internals): what the core is made of
(in-memory index, SQLite) does not matter. Every measured URL is requested once, so each
is a cache miss whatever caches the app keeps. Figures are CPU ms (``time.process_time``).

- API pages with category+tag+lang, with q, with q+category+lang;
- 50-entry full-text Atom / RSS / JSON Feed documents of every category and tag with at
  least 50 posts, beside bare feedgen writing the same entries (taken from the Atom
  document just served) in this process, twice: ``feedgen_alone`` the older yardstick
  (id, title, updated, link, author, HTML content), ``feedgen_same`` the fair one (issue 23):
  every Atom field the document holds (feed head, and per entry id, title, updated,
  published, author, summary, categories, every link with its attributes, enclosures
  included, content). Only the elements of other namespaces (media:thumbnail) and
  ``xml:lang`` on entries are left out: feedgen has no call for them.
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
WORDS = [
    "rights",
    "naloxone",
    "funding",
    "prison",
    "women",
    "stigma",
    "overdose",
    "reform",
    "données",
    "salud",
    "community",
    "evidence",
    "hepatitis",
    "programme",
    "youth",
    "decriminalisation",
    "sécurité",
    "drogas",
    "treatment",
    "violence",
    "police",
    "access",
    "global",
    "network",
]


def _out(**kw: object) -> None:
    print(json.dumps(kw, sort_keys=True))


def _stats(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {"median_ms": statistics.median(xs), "p90_ms": xs[int(len(xs) * 0.9)], "n": len(xs)} if xs else {}


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
        entries.append(
            (
                e.findtext(f"{ATOM}id"),
                e.findtext(f"{ATOM}title"),
                e.findtext(f"{ATOM}updated"),
                link,
                author.text if author is not None else "Author",
                e.findtext(f"{ATOM}content") or "",
            )
        )
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


def _person(el: object) -> dict[str, str]:
    """name/email/uri of an Atom person element, as feedgen takes them."""
    return {k: v for k in ("name", "email", "uri") if (v := el.findtext(f"{ATOM}{k}")) is not None} if el is not None else {}  # type: ignore[attr-defined]


def _links(el: object) -> list[dict[str, str]]:
    """Every atom:link child of ``el`` with all its attributes."""
    return [dict(x.attrib) for x in el.findall(f"{ATOM}link")]  # type: ignore[attr-defined]


def feedgen_same(atom: bytes) -> float:
    """CPU ms of bare feedgen writing every Atom field of ``atom`` (parsed beforehand, not counted)."""
    from feedgen.feed import FeedGenerator
    from lxml import etree

    root = etree.fromstring(atom)
    head = {k: root.findtext(f"{ATOM}{k}") for k in ("id", "title", "subtitle", "updated", "rights", "icon", "logo")}
    gen = root.find(f"{ATOM}generator")
    entries = []
    for e in root.iter(f"{ATOM}entry"):
        content, summary = e.find(f"{ATOM}content"), e.find(f"{ATOM}summary")
        entries.append(
            {
                "id": e.findtext(f"{ATOM}id"),
                "title": e.findtext(f"{ATOM}title"),
                "updated": e.findtext(f"{ATOM}updated"),
                "published": e.findtext(f"{ATOM}published"),
                "author": _person(e.find(f"{ATOM}author")),
                "links": _links(e),
                "categories": [dict(c.attrib) for c in e.findall(f"{ATOM}category")],
                "summary": None if summary is None else (summary.text or "", summary.get("type", "text")),
                "content": None if content is None else (content.text or "", content.get("type", "text")),
            }
        )
    c0 = time.process_time()
    fg = FeedGenerator()
    fg.id(head["id"])
    fg.title(head["title"])
    if head["subtitle"]:
        fg.subtitle(head["subtitle"])
    fg.updated(head["updated"])
    fg.language(root.get("{http://www.w3.org/XML/1998/namespace}lang") or "en")
    fg.author(_person(root.find(f"{ATOM}author")))
    for link in _links(root):
        fg.link(**link)
    for key in ("icon", "logo", "rights"):
        if head[key]:
            getattr(fg, key)(head[key])
    if gen is not None:
        fg.generator(gen.text or "", version=gen.get("version"), uri=gen.get("uri"))
    for x in entries:
        fe = fg.add_entry(order="append")
        fe.id(x["id"])
        fe.title(x["title"])
        fe.updated(x["updated"])
        if x["published"]:
            fe.published(x["published"])
        fe.author(x["author"])
        for link in x["links"]:
            fe.link(**link)
        if x["categories"]:
            fe.category(x["categories"])
        if x["summary"] is not None:
            fe.summary(x["summary"][0], type=x["summary"][1])
        if x["content"] is not None:
            fe.content(x["content"][0], type=x["content"][1])
    fg.atom_str()
    return (time.process_time() - c0) * 1000


def open_app() -> tuple[object, dict[str, object], list[dict], list[dict]]:
    """The app's test client (index opened), the opening figures, categories and tags with 50+ posts."""
    t0, c0 = time.perf_counter(), time.process_time()
    from feedsvc import create_app

    app = create_app()
    client = app.test_client()
    _, status, _ = _cpu(client, "/api/v1/posts?page=2")  # opens/loads the index
    info: dict[str, object] = {"open_s": time.perf_counter() - t0, "open_cpu_s": time.process_time() - c0}
    if status != 200:
        raise SystemExit(f"/api/v1/posts: {status}")
    info["posts"] = int(client.get("/api/v1/posts?per_page=1").headers.get("X-Total-Count", "0"))
    cats = [c for c in json.loads(client.get("/api/v1/categories").data) if c["post_count"] >= 50]
    tags = [t for t in json.loads(client.get("/api/v1/tags").data) if t["post_count"] >= 50]
    for warm in ("/feeds/atom.xml", "/feeds/rss.xml", "/feeds/feed.json", "/api/v1/posts?q=health"):
        _cpu(client, warm)
    return client, info, cats, tags


def api_costs(client: object, cats: list[dict], tags: list[dict]) -> dict[str, object]:
    """CPU of API pages, each URL once: category+tag+lang, q alone, q+category+lang."""
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
    qf = [
        _cpu(client, f"/api/v1/posts?category={c}&lang={lang}&q={q}")[0]
        for (c, _, lang), q in zip(combos[150:200], queries, strict=False)
    ]
    return {"api_filters": _stats(filt), "api_q": _stats(qs), "api_q_filters": _stats(qf)}


def feed_costs(client: object, scopes: list[str], formats: tuple[str, ...]) -> dict[str, object]:
    """CPU of each feed document of ``scopes`` once, and of both feedgen yardsticks beside each Atom one."""
    out: dict[str, object] = {}
    fg, ratios, same, same_ratios = [], [], [], []
    for fmt in formats:
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
                fair = feedgen_same(body)
                same.append(fair)
                same_ratios.append(ms / fair)
        out[fmt] = {**_stats(samples), "median_bytes": statistics.median(sizes) if sizes else 0}
    if "atom.xml" in formats:
        out["feedgen_alone"] = _stats(fg)
        out["atom_over_feedgen_median"] = statistics.median(ratios) if ratios else None
        out["feedgen_same"] = _stats(same)
        out["atom_over_feedgen_same_median"] = statistics.median(same_ratios) if same_ratios else None
    out["feed_docs"] = len(scopes)
    return out


def cmd_cost() -> None:
    """API and feed cache-miss CPU, and the feedgen yardsticks, in one process."""
    client, info, cats, tags = open_app()
    out: dict[str, object] = {"posts": info["posts"], "open_s": info["open_s"]}
    out.update(api_costs(client, cats, tags))
    scopes = [f"categories/{c['slug']}" for c in cats] + [f"tags/{t['slug']}" for t in tags]
    out.update(feed_costs(client, scopes, ("atom.xml", "rss.xml", "feed.json")))
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
