"""bench/run's driver: corpora, then per size starts/memory/cache hits/cache-miss CPU, then hostile runs.

Everything it starts listens on 127.0.0.1 only, every load run is bounded in time, and
every server it starts is stopped by PID. Writes bench/RESULTS.md and bench/results.png.
It never imports feedsvc: FEEDSVC_* variables, HTTP, the app factory in a subprocess.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale
import stress
from servers import APP_CONF, FLOOR_CONF, OUT, PY, ROOT, app_config_keys, fetch, gunicorn_settings, log

BENCH = Path(__file__).resolve().parent
CORPORA = Path(os.environ.get("BENCH_CORPORA") or BENCH / "corpora")  # share generated corpora between checkouts
FULL = {
    "sizes": "10000,100000,300000",
    "duration": 5.0,
    "rounds": 2,
    "edit_seconds": 30.0,
    "slow_seconds": 40.0,
    "queries": 10000,
}
QUICK = {"sizes": "2000", "duration": 2.0, "rounds": 1, "edit_seconds": 10.0, "slow_seconds": 10.0, "queries": 1000}
PARTS = ("start", "http", "proxy", "alternatives", "cost", "edit", "slow", "queries")


def corpus(n: int, seed: int) -> Path:
    """bench/corpora/<n>, generated once per (n, seed, generator source); an edit loop's leftovers undone."""
    path = CORPORA / str(n)
    stress.Edits.recover(path)
    stamp = hashlib.sha256((BENCH / "gen_corpus.py").read_bytes() + f"|{n}|{seed}".encode()).hexdigest()
    if (path / ".stamp").exists() and (path / ".stamp").read_text() == stamp:
        return path
    log(f"generating corpus of {n} posts")
    t0 = time.perf_counter()
    subprocess.run([PY, str(BENCH / "gen_corpus.py"), str(n), str(path), "--seed", str(seed)], check=True)
    (path / ".stamp").write_text(stamp)
    for p in CORPORA.glob(f"{n}.*"):  # its database and parse cache describe the old files
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    log(f"corpus of {n} posts written in {time.perf_counter() - t0:.1f}s")
    return path


def estimate(a: argparse.Namespace, skip: set[str]) -> tuple[float, float]:
    """(low, high) minutes: low with the SQLite core's start targets, high with the in-memory core's times."""
    fixed = 0.0
    low = high = 0.0
    for n in a.sizes:
        cached = (CORPORA / str(n) / ".stamp").exists()
        fixed += 0 if cached else n / 1500 + 2
        low += n * 0.0005 + 3 + n * 0.00002 + 2  # first start at the target rate, second start
        high += n * 0.0018 + 3 + n * 0.00008 + 2
        first = n == a.sizes[0]  # floor shapes, proxy and alternatives: on the smallest corpus only
        if "http" not in skip:  # bench/tail.py: floor shapes, then 6 cells x 3 counts
            fixed += 5 * (4 + 6 * min(a.duration, 2.0)) * first + 3 * (4 + 6 * (2 + a.rounds * 2 * (a.duration + 0.3)))
            if "proxy" not in skip and first:  # bench/proxy.py: 6 cells x 3 counts, then the polling mix
                fixed += 6 * (2 + 3 * a.rounds * 2 * (a.duration + 0.3)) + 40
            if "alternatives" not in skip and first:  # 6 configurations x 2 cells x 3 counts, one round
                low += 6 * (3 + n * 0.00002)
                high += 6 * (3 + n * 0.00008)
                fixed += 6 * 3 * (4 + 2 * (2 + 2 * (a.duration + 0.3)))
        fixed += 10  # warm-ups, memory
        if "cost" not in skip:
            low += 20 + n * 0.00002
            high += 30 + n * 0.0001
    small = a.sizes[0]
    starts = 0
    if "edit" not in skip:
        fixed += a.edit_seconds + a.reload_interval + 8
        starts += 1
    if "slow" not in skip:
        fixed += a.slow_seconds + 5
        starts += 1
    if "queries" not in skip:
        fixed += a.queries * 0.008 + 5
        starts += 1
    low += starts * (small * 0.00002 + 2)
    high += starts * (small * 0.00008 + 2)
    return (fixed + low) / 60, (fixed + high) / 60


def machine(keys: list[str]) -> dict[str, object]:
    """What this ran on, and how both servers were configured."""
    cpu = "?"
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = next((ln.split()[1] for ln in open("/proc/meminfo") if ln.startswith("MemTotal")), "0")
    vers = subprocess.run(
        [
            PY,
            "-c",
            "import importlib.metadata as m\nfor p in ['Flask','Werkzeug','gunicorn','feedgen',"
            "'marshmallow','gevent','cmarkgfm','nh3']:\n try: print(f'{p}=={m.version(p)}', end=' ')\n"
            " except m.PackageNotFoundError: pass",
        ],
        capture_output=True,
        text=True,
    ).stdout.strip()
    wrkv = "absent (Python load generator)"
    if shutil.which("wrk"):
        wrkv = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    git = ["git", "-C", str(ROOT)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    branch = subprocess.run([*git, "rev-parse", "--abbrev-ref", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
    sqlite = subprocess.run(
        [PY, "-c", "import sqlite3; print(sqlite3.sqlite_version)"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpu": f"{cpu} x {os.cpu_count()}",
        "memory": f"{int(mem) / 1024 / 1024:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite,
        "packages": vers,
        "wrk": wrkv,
        "commit": (commit + (" (with uncommitted changes)" if dirty else "")) if commit else "unknown (not a git checkout)",
        "branch": branch or "unknown",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_start": os.getloadavg(),
        "feedsvc_gunicorn": gunicorn_settings(APP_CONF),
        "floor_gunicorn": gunicorn_settings(FLOOR_CONF),
        "core": "SQLite (FEEDSVC_INDEX_PATH)" if "INDEX_PATH" in keys else "in-memory (FEEDSVC_PARSE_CACHE_DIR)",
    }


def hostile(n: int, root: Path, keys: list[str], a: argparse.Namespace, skip: set[str], results: dict) -> None:
    """Edit loop, slow clients and distinct queries on the smallest corpus, each on a fresh server."""
    index = CORPORA / f"{n}.db"
    if "edit" not in skip:
        log(
            f"[{n}] edit loop: an edit every {a.edit_every}s for {a.edit_seconds}s under steady load "
            f"(FEEDSVC_RELOAD_INTERVAL={a.reload_interval})"
        )
        app, _ = scale.start("feedsvc-edit", root, index, keys, a, n, FEEDSVC_RELOAD_INTERVAL=str(a.reload_interval))
        try:
            scale.warm(app)
            r = stress.edit_loop(app, root, a.edit_seconds, a.edit_every, a.reload_interval, 4)
        finally:
            app.stop()
        r["posts"] = n
        results["edit_loop"] = r
        log(
            f"[{n}]   {r['served']}/{r['edits']} edits served, slowest {r['latency_max_s']} s, failed requests "
            f"{r['failed_requests']}, worker restarts {r['worker_restarts']}"
        )
    if "slow" not in skip:
        log(f"[{n}] slow clients: {a.slow_idle} idle + {a.slow_trickle} trickling connections for {a.slow_seconds}s")
        app, _ = scale.start("feedsvc-slow", root, index, keys, a, n)
        try:
            scale.warm(app)
            _, h, _ = fetch(app.base + "/feeds/atom.xml")
            paths = [
                ("/feeds/atom.xml", {}),
                ("/api/v1/posts?page=1", {}),
                ("/feeds/rss.xml", {"Accept-Encoding": "gzip"}),
                ("/feeds/atom.xml", {"If-None-Match": h.get("ETag", "")}),
            ]
            r = stress.slow_clients(app, a.slow_seconds, a.slow_idle, a.slow_trickle, a.slow_clients, a.slow_timeout, paths)
        finally:
            app.stop()
        r["posts"] = n
        results["slow_clients"] = r
        log(
            f"[{n}]   {r['requests']} normal requests: {r['timeouts']} timeouts, {r['errors']} errors, "
            f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms"
        )
    if "queries" not in skip:
        log(f"[{n}] distinct queries: {a.queries}")
        app, _ = scale.start("feedsvc-queries", root, index, keys, a, n)
        try:
            scale.warm(app)
            cats = {c["slug"]: c["post_count"] for c in json.loads(fetch(app.base + "/api/v1/categories")[2])}
            tags = {t["slug"]: t["post_count"] for t in json.loads(fetch(app.base + "/api/v1/tags")[2])}
            urls = stress.distinct_urls(a.queries, cats, tags, stress_words(), n)
            r = stress.distinct_queries(app, urls, 8, a.queries_max_seconds)
        finally:
            app.stop()
        r["posts"] = n
        results["distinct_queries"] = r
        log(f"[{n}]   PSS {r['pss_before_mb']:.0f} -> {r['pss_after_mb']:.0f} MB")


def stress_words() -> list[str]:
    """Search words: real ones from the corpus vocabulary (hits) and made-up ones (no hits)."""
    import inproc

    return inproc.WORDS + [f"zq{k}x" for k in range(40)]


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options; --quick and the full defaults set several at once."""
    ap = argparse.ArgumentParser(
        prog="bench/run",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="feedsvc benchmark: feedsvc (shipped gunicorn.conf.py) beside the bare-Flask floor "
        "(bench/floor_gunicorn.conf.py: gthread, keep-alive), in one run. See docs/benchmarks.md.",
        epilog="modes:\n"
        "  bench/run --quick   sizes 2000, 2 s load runs, 10 s edit/slow runs, 1,000 queries: ~2 min here\n"
        "                      (before the tail, proxy and alternatives parts; now see --estimate)\n"
        "  bench/run           sizes 10k,100k,300k, 5 s x 2 rounds, 30 s edit loop, 40 s slow clients,\n"
        "                      10,000 distinct queries: 23 min here on the SQLite core of main 9f57807\n"
        "                      (load average 6-9; --estimate said 16-27); the in-memory core needed 20 min\n"
        "                      for 10k+100k alone, 300k would add ~30 min (corpora generated once: +3 min);\n"
        "                      the tail part (8/32/64 connections, bench/tail.py), the proxy part\n"
        "                      (bench/proxy.py) and the alternatives add about 25 min (--estimate)\n"
        "  bench/run --estimate [options]   print the expected duration of those options and exit\n"
        f"parts (--skip): {', '.join(PARTS)}",
    )
    ap.add_argument("--quick", action="store_true", help="the short mode (defaults below become the QUICK ones)")
    ap.add_argument("--estimate", action="store_true", help="print the expected duration and exit")
    ap.add_argument("--sizes", help=f"corpus sizes, comma-separated (full: {FULL['sizes']}; quick: {QUICK['sizes']})")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration", type=float, help="seconds per load run (full 5, quick 2)")
    ap.add_argument("--rounds", type=int, help="alternating feedsvc/floor runs per scenario (full 2, quick 1)")
    ap.add_argument(
        "--connections", type=int, default=16, help="ignored: cache hits run at 8, 32 and 64 connections (bench/tail.py COUNTS)"
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("BENCH_PORT", "0")),
        help="feedsvc port for the size runs (floor: +1); default free ports (env BENCH_PORT)",
    )
    ap.add_argument("--reload-interval", type=float, default=1.0, help="FEEDSVC_RELOAD_INTERVAL of the edit loop")
    ap.add_argument("--edit-seconds", type=float, help="edit loop length (full 30, quick 10)")
    ap.add_argument("--edit-every", type=float, default=0.1, help="seconds between edits")
    ap.add_argument("--slow-seconds", type=float, help="slow-client run length (full 40, quick 10)")
    ap.add_argument("--slow-idle", type=int, default=100)
    ap.add_argument("--slow-trickle", type=int, default=100)
    ap.add_argument("--slow-clients", type=int, default=4, help="threads making normal requests")
    ap.add_argument("--slow-timeout", type=float, default=5.0, help="a normal request slower than this is a timeout")
    ap.add_argument("--queries", type=int, help="distinct query strings (full 10000, quick 1000)")
    ap.add_argument("--queries-max-seconds", type=float, default=600)
    ap.add_argument("--start-timeout", type=float, default=1800)
    ap.add_argument("--python-load", action="store_true", help="the pure-Python load generator even if wrk exists")
    ap.add_argument("--skip", default="", help=f"comma-separated parts to skip: {','.join(PARTS)}")
    ap.add_argument("--no-report", action="store_true", help="print figures; leave RESULTS.md and results.png alone")
    ap.add_argument(
        "--results",
        type=Path,
        default=BENCH / "RESULTS.md",
        help="where the report goes (default bench/RESULTS.md; the chart beside it, named in lower case)",
    )
    a = ap.parse_args(argv)
    for k, v in (QUICK if a.quick else FULL).items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    a.sizes = sorted(int(s) for s in str(a.sizes).split(","))
    return a


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, measure, report."""
    a = parse(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # finally blocks stop the servers by PID
    skip = set(filter(None, a.skip.split(",")))
    if skip - set(PARTS):
        raise SystemExit(f"bench/run: unknown parts to skip: {', '.join(sorted(skip - set(PARTS)))}")
    low, high = estimate(a, skip)
    log(f"expected duration: about {low:.0f}-{high:.0f} min (SQLite start targets - in-memory core)")
    if a.estimate:
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    CORPORA.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    keys = app_config_keys()
    results: dict = {
        "machine": machine(keys),
        "args": " ".join(sys.argv[1:] if argv is None else argv),
        "sizes": a.sizes,
        "tool": "wrk" if shutil.which("wrk") and not a.python_load else "python",
        "load": {"duration_s": a.duration, "rounds": a.rounds, "connections": "8, 32, 64", "threads": a.threads},
        "expected_min": [low, high],
        "report": a.results.stem,
    }
    m = results["machine"]
    log(f"feedsvc: {m['core']} core; gunicorn {m['feedsvc_gunicorn']}; floor: {m['floor_gunicorn']}")
    roots = {n: corpus(n, a.seed) for n in a.sizes}
    for n in a.sizes:
        scale.size_run(n, roots[n], CORPORA / f"{n}.db", keys, a, skip, results)
        _save(results)
    hostile(a.sizes[0], roots[a.sizes[0]], keys, a, skip, results)
    results["total_s"] = time.perf_counter() - t_start
    results["load_end"] = os.getloadavg()
    _save(results)
    import report

    print(report.table(results))
    if not a.no_report:
        png = a.results.with_name(a.results.stem.lower() + ".png")
        report.write(results, a.results, png)
        log(f"wrote {a.results} and {png}")
    log(f"total {results['total_s'] / 60:.1f} min (expected {low:.0f}-{high:.0f})")
    return 0


def _save(results: dict) -> None:
    """bench/out/<report name>.json (RESULTS.json for bench/RESULTS.md): report.py can rewrite the report from it."""
    (OUT / f"{results['report']}.json").write_text(json.dumps(results, indent=1, sort_keys=True, default=str))


if __name__ == "__main__":
    sys.exit(main())
