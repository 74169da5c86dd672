#!/usr/bin/env python3
"""Worker memory under mixed load: PSS of each gunicorn worker before, during and after N seconds.

Usage: bench/memory_mixed.py [--posts 2000] [--seconds 60] [--workers 2] [--clients 8] [ENV=VALUE ...]

Generates a corpus with bench/gen_corpus.py (kept in bench/corpora/<posts>), starts the
shipped gunicorn.conf.py on it, warms every worker up, then runs a mix of clients for
``--seconds``: feeds of every category and tag (Atom, RSS, JSON), API pages deep and
shallow, post pages by slug (every post in turn), distinct searches (``q``) in feeds and the
API, and calendars. Prints each worker's PSS (anonymous part: heaps) every 10 s and its
growth over the warm-up figure. ENV=VALUE pairs are passed to the server (FEEDSVC_*).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import random
import subprocess
import sys
import threading
import time
import urllib.request

from servers import BENCH, PY, Server, app_env, free_port, log

CATEGORIES = ["statements", "publications", "letters", "events", "press", "briefings"]
WORDS = ["climate", "rights", "water", "health", "report", "council", "women", "trade", "debt", "youth"]


def _urls(slugs: list[str], tags: list[str], rng: random.Random) -> itertools.cycle[str]:
    urls: list[str] = []
    for c in CATEGORIES:
        urls += [
            f"/feeds/categories/{c}/atom.xml",
            f"/feeds/categories/{c}/rss.xml",
            f"/feeds/categories/{c}/feed.json",
            *(f"/api/v1/posts?category={c}&page={p}" for p in range(1, 40)),
        ]
    for t in tags:
        urls += [f"/feeds/tags/{t}/atom.xml", f"/feeds/tags/{t}/calendar.ics", f"/api/v1/posts?tag={t}"]
    urls += [f"/posts/{s}" for s in slugs]
    urls += [f"/feeds/atom.xml?q={a}+{b}" for a in WORDS for b in WORDS]
    urls += [f"/api/v1/posts?q={a}&page={p}" for a in WORDS for p in range(1, 6)]
    urls += ["/feeds/calendar.ics", "/feeds/atom.xml", "/feeds/rss.xml", "/api/v1/posts"]
    rng.shuffle(urls)
    return itertools.cycle(urls)


def _client(port: int, urls: itertools.cycle[str], lock: threading.Lock, stop: threading.Event, counts: dict[int, int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set():
        with lock:
            url = next(urls)
        try:
            conn.request("GET", url, headers={"Accept-Encoding": "gzip"})
            resp = conn.getresponse()
            resp.read()
            counts[resp.status] = counts.get(resp.status, 0) + 1
        except (OSError, http.client.HTTPException):
            counts[0] = counts.get(0, 0) + 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("env", nargs="*", help="ENV=VALUE for the server")
    args = ap.parse_args()
    corpus = BENCH / "corpora" / str(args.posts)
    if not (corpus / "site.yaml").exists():
        log(f"generating {args.posts} posts in {corpus}")
        subprocess.run([PY, str(BENCH / "gen_corpus.py"), str(args.posts), str(corpus)], check=True)
    index = corpus.with_suffix(".memory.db")
    extra = dict(e.split("=", 1) for e in args.env)
    env = app_env(corpus, index, [], WEB_CONCURRENCY=str(args.workers), GUNICORN_ACCESSLOG="", **extra)
    server = Server("memory-mixed", "wsgi:app", free_port(), env)
    try:
        server.wait_ready("/healthz", 900)
        slugs: list[str] = []
        for page in range(1, args.posts // 100 + 2):
            with urllib.request.urlopen(f"{server.base}/api/v1/posts?per_page=100&page={page}") as resp:
                slugs += [p["slug"] for p in json.loads(resp.read())["items"]]
            if len(slugs) >= args.posts:
                break
        with urllib.request.urlopen(f"{server.base}/api/v1/tags") as resp:
            tags = [t["slug"] for t in json.loads(resp.read())][:60]
        rng = random.Random(1)
        urls = _urls(slugs, tags, rng)
        lock, stop, counts = threading.Lock(), threading.Event(), {}
        for url in ["/feeds/atom.xml", "/api/v1/posts?q=water", "/posts/" + slugs[0]] * (4 * args.workers):
            urllib.request.urlopen(server.base + url).read()  # fresh connections: reach every worker
        time.sleep(1)
        warm = server.memory()
        base, base_pss = warm["worker_anon_mb"], warm["pss_each_mb"][1:]
        print(f"workers {server.workers()}; after warm-up: PSS {_mb(base_pss)}, anon {_mb(base)}")
        threads = [
            threading.Thread(target=_client, args=(server.port, urls, lock, stop, counts), daemon=True)
            for _ in range(args.clients)
        ]
        for t in threads:
            t.start()
        t0 = time.monotonic()
        while time.monotonic() - t0 < args.seconds:
            time.sleep(min(10.0, args.seconds - (time.monotonic() - t0)))
            mem = server.memory()
            grow = [a - b for a, b in zip(mem["worker_anon_mb"], base, strict=False)]
            print(
                f"{time.monotonic() - t0:5.0f} s: PSS {_mb(mem['pss_each_mb'][1:])}, anon {_mb(mem['worker_anon_mb'])}, "
                f"anon growth {_mb(grow)}; answers {dict(sorted(counts.items()))}",
                flush=True,
            )
        stop.set()
        for t in threads:
            t.join(timeout=30)
        mem = server.memory()
        grow = [a - b for a, b in zip(mem["pss_each_mb"][1:], base_pss, strict=False)]
        print(f"PSS growth per worker over {args.seconds:.0f} s: {_mb(grow)} (max {max(grow):.1f} MB)")
    finally:
        server.stop()


def _mb(values: object) -> str:
    assert isinstance(values, list)
    return "[" + ", ".join(f"{v:.1f}" for v in values) + "] MB"


if __name__ == "__main__":
    sys.exit(main())
