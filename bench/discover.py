"""Issue 21's targets, side by side in one run; prints one JSON object per measurement.

    python bench/discover.py run [--corpus bench/corpora/100000] [--before /tmp/main-base]
                                 [--tree base=/tmp/h21-base ...] [--posts 300]

``run`` measures code trees on the same corpus, each in fresh subprocesses, in mirrored
order (A B C C B A, ``--rounds`` times): ``--before`` (a checkout of main: ``git worktree add --detach
/tmp/main-base main``), any ``--tree LABEL=PATH`` (e.g. the commit the branch started
from, which isolates the branch's own cost from what main gained since), and this
checkout. Each child builds the app with ``feedsvc.create_app()`` from its own tree,
configured only by FEEDSVC_* variables (its own database beside the corpus, caches off,
live reload off), and drives it through Flask's test client:

- the cache-miss CPU of a post page: ``--posts`` post pages spread over the corpus,
  each requested once (a miss whatever caches remain), after a few warm-up pages;
- (trees with /sitemap.xml) every child sitemap once, then the largest one again: CPU
  and wall time, the Python heap's peak (tracemalloc) and the process's peak RSS growth
  (VmHWM after the render minus VmRSS before it, the peak reset through clear_refs).

The first child of each tree builds that tree's database (bench/corpora/<n>.<label>.db):
about 80 s of CPU at 100k posts; later runs reuse it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from urllib.parse import quote, urlsplit

HERE = Path(__file__).resolve().parent
PY = sys.executable


def _cpu_get(client: object, url: str) -> tuple[float, float, int, bytes]:
    """(CPU ms, wall ms, status, body) of one request."""
    c0, w0 = time.process_time(), time.perf_counter()
    resp = client.get(url)  # type: ignore[attr-defined]
    data = resp.get_data()
    return (time.process_time() - c0) * 1000, (time.perf_counter() - w0) * 1000, resp.status_code, data


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def _stats(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {
        "median_ms": round(statistics.median(xs), 3),
        "p90_ms": round(xs[int(len(xs) * 0.9)], 3),
        "mean_ms": round(statistics.fmean(xs), 3),
        "n": len(xs),
    }


def _slugs(client: object, total: int, n: int) -> list[str]:
    """``n`` post slugs spread evenly over the corpus (newest first order of the API)."""
    per = 100
    pages = sorted({1 + (i * total // n) // per for i in range(n)})
    found: list[str] = []
    for page in pages:
        resp = client.get(f"/api/v1/posts?per_page={per}&page={page}")  # type: ignore[attr-defined]
        while resp.status_code == 429:  # deep pages spend the render budget (RENDER_BUDGET); wait it out
            time.sleep(int(resp.headers.get("Retry-After", "1")))
            resp = client.get(f"/api/v1/posts?per_page={per}&page={page}")  # type: ignore[attr-defined]
        found += [p["slug"] for p in json.loads(resp.get_data())["items"]]
    step = max(1, len(found) // n)
    return found[::step][:n]


def measure(posts: int) -> None:
    """One child: open the app of the tree on sys.path, measure, print JSON."""
    t0 = time.perf_counter()
    from feedsvc import create_app

    app = create_app()
    client = app.test_client()
    resp = client.get("/api/v1/posts?per_page=1")
    if resp.status_code != 200:
        raise SystemExit(f"/api/v1/posts: {resp.status_code}")
    total = int(resp.headers["X-Total-Count"])
    out: dict[str, object] = {"posts": total, "open_s": round(time.perf_counter() - t0, 1)}
    slugs = _slugs(client, total, posts + 5)
    for slug in slugs[:5]:  # templates compiled, lazy state built: not what a miss costs
        _cpu_get(client, f"/posts/{quote(slug, safe='')}")
    cpu, sizes = [], []
    for slug in slugs[5:]:
        ms, _, status, body = _cpu_get(client, f"/posts/{quote(slug, safe='')}")
        if status != 200:
            raise SystemExit(f"/posts/{slug}: {status}")
        cpu.append(ms)
        sizes.append(len(body))
    out["post_page"] = {**_stats(cpu), "median_bytes": statistics.median(sizes)}
    index = client.get("/sitemap.xml")
    if index.status_code == 200:
        out["sitemap"] = _sitemaps(client, index.get_data())
    print(json.dumps(out, sort_keys=True), flush=True)


def _sitemaps(client: object, index_xml: bytes) -> dict[str, object]:
    from lxml import etree

    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    paths = [urlsplit(loc.text or "").path for loc in etree.fromstring(index_xml).iter(f"{ns}loc")]
    sizes: dict[str, tuple[int, float, float]] = {}
    for path in paths:
        ms, wall, status, body = _cpu_get(client, path)
        if status != 200:
            raise SystemExit(f"{path}: {status}")
        urls = len(etree.fromstring(body).findall(f"{ns}url"))
        sizes[path] = (len(body), ms, wall)
        sizes[path + "#urls"] = (urls, 0, 0)
    largest = max(paths, key=lambda p: sizes[p][0])
    again = [_cpu_get(client, largest)[:2] for _ in range(3)]
    rss0 = _status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    _cpu_get(client, largest)
    hwm = _status_kb("VmHWM")
    tracemalloc.start()
    _cpu_get(client, largest)
    _, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "children": len(paths),
        "largest": largest,
        "largest_urls": sizes[largest + "#urls"][0],
        "largest_bytes": sizes[largest][0],
        "first_cpu_ms": round(sizes[largest][1], 1),
        "first_wall_ms": round(sizes[largest][2], 1),
        "again_cpu_ms": round(statistics.median(c for c, _ in again), 1),
        "again_wall_ms": round(statistics.median(w for _, w in again), 1),
        "peak_rss_growth_mb": round((hwm - rss0) / 1024, 1),
        "python_heap_peak_mb": round(heap_peak / 2**20, 1),
        "rss_mb": round(rss0 / 1024, 1),
    }


def _child(tree: Path, corpus: Path, label: str, posts: int) -> dict[str, object]:
    env = {
        **os.environ,
        "FEEDSVC_CONTENT_DIR": str(corpus),
        "FEEDSVC_INDEX_PATH": str(corpus.parent / f"{corpus.name}.{label}.db"),
        "FEEDSVC_RELOAD_INTERVAL": "0",
        "FEEDSVC_CACHE_TYPE": "NullCache",
        "FEEDSVC_CACHE_LOCAL_BYTES": "0",
        "PYTHONPATH": str(tree),
    }
    res = subprocess.run(
        [PY, str(Path(__file__).resolve()), "measure", "--posts", str(posts)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        raise SystemExit(f"{label} child failed: {res.stderr[-3000:]}")
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


def run(a: argparse.Namespace) -> None:
    """Both trees, ABBA, one JSON line each, then the summary line."""
    trees = {"before": Path(a.before).resolve()}
    trees.update((label, Path(path).resolve()) for label, _, path in (t.partition("=") for t in a.tree))
    trees["after"] = HERE.parent
    for label, tree in trees.items():
        if not (tree / "feedsvc").is_dir():
            raise SystemExit(f"{label}: {tree} is no checkout (git worktree add --detach {tree} <commit>)")
        # The catalogues are build products (git-ignored).
        subprocess.run(
            [str(Path(PY).with_name("pybabel")), "compile", "-d", "feedsvc/translations"],
            cwd=tree,
            check=True,
            capture_output=True,
        )
    corpus = Path(a.corpus).resolve()
    results: dict[str, list[dict[str, object]]] = {label: [] for label in trees}
    for label in [*trees, *reversed(trees)] * a.rounds:
        r = _child(trees[label], corpus, label, a.posts)
        results[label].append(r)
        print(json.dumps({"tree": label, **r}, sort_keys=True), flush=True)

    def median(label: str) -> float:
        return statistics.median(float(r["post_page"]["median_ms"]) for r in results[label])  # type: ignore[index]

    after = median("after")
    print(
        json.dumps(
            {
                "summary": {f"post_page_{label}_ms": median(label) for label in trees}
                | {
                    f"post_page_after_vs_{label}_pct": round((after / median(label) - 1) * 100, 1)
                    for label in trees
                    if label != "after"
                }
            }
        ),
        flush=True,
    )


def main() -> None:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="both trees side by side (AB BA)")
    r.add_argument("--corpus", default=str(HERE / "corpora" / "100000"))
    r.add_argument("--before", default="/tmp/main-base", help="checkout of the code before (main)")
    r.add_argument("--tree", action="append", default=[], metavar="LABEL=PATH", help="another checkout to measure")
    r.add_argument("--posts", type=int, default=300, help="post pages measured per child")
    r.add_argument("--rounds", type=int, default=1, help="mirrored rounds (the summary takes medians)")
    m = sub.add_parser("measure", help="(internal) one child")
    m.add_argument("--posts", type=int, default=300)
    a = ap.parse_args()
    if a.cmd == "run":
        run(a)
    else:
        measure(a.posts)


if __name__ == "__main__":
    main()
