"""bench/run's tail part: cache hits at 8, 32 and 64 kept-alive connections, p50/p99/max, against the floor.

For each connection count the floor (bench/floor_app.py, the very bytes feedsvc sent) runs
in its best configuration for that count: a few gthread worker x thread shapes are probed
first (side by side, two rounds) and the one with the most requests per second wins (named
in the report). Then every
cache-hit cell (feed and API page: 200, 304, gzip) runs feedsvc and that floor in
alternating rounds (AB, BA: drift on a shared machine hits both). The report gives the
worst cell, not the mean, and each run's scheduler figures (CPUs' worth of time on a core,
switches per request), and a control: the floor against a copy of itself, the noise floor
of the worst cells on this machine. ``alternatives`` measures other feedsvc configurations (plain
gevent, gthread, worker counts, a connection cap) the same way, each started in turn.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from pathlib import Path

import loadgen
from servers import FLOOR_CONF, OUT, Server, fetch, free_port, log

COUNTS = (8, 32, 64)
#: gthread shapes of the floor: (workers, threads).
FLOOR_SHAPES = ((2, 4), (3, 4), (5, 2), (5, 4), (5, 8))
#: feedsvc configurations measured beside the shipped one (gunicorn.conf.py's environment knobs).
ALTERNATIVES = {
    "gevent, no turns (gunicorn's own worker)": {"GUNICORN_WORKER_CLASS": "gevent"},
    "gthread 5 x 4": {"GUNICORN_WORKER_CLASS": "gthread", "GUNICORN_THREADS": "4"},
    "gthread 5 x 8 (the floor's usual shape)": {"GUNICORN_WORKER_CLASS": "gthread", "GUNICORN_THREADS": "8"},
    "fair gevent, 3 workers": {"WEB_CONCURRENCY": "3"},
    "fair gevent, 9 workers": {"WEB_CONCURRENCY": "9"},
    "fair gevent, 16 connections per worker": {"GUNICORN_WORKER_CONNECTIONS": "16"},
}
ALT_CELLS = ("feed 200", "api 200 gzip")


def _headers(hdr: dict[str, str], etag: str) -> dict[str, str]:
    return {k: (etag if v == "etag" else v) for k, v in hdr.items()}


def _floor(manifest_file: Path, shape: tuple[int, int]) -> Server:
    workers, threads = shape
    floor = Server(
        f"floor-{workers}x{threads}",
        "bench.floor_app:app",
        free_port(),
        {"BENCH_FLOOR_MANIFEST": str(manifest_file), "BENCH_FLOOR_WORKERS": str(workers), "BENCH_FLOOR_THREADS": str(threads)},
        conf=FLOOR_CONF,
    )
    floor.wait_ready("/", 60, any_status=True)
    return floor


def best_floor(manifest_file: Path, path: str, seconds: float, threads: int, force_python: bool) -> dict[str, dict]:
    """For each connection count, the floor shape with the most req/s on ``path`` (and every probe).

    All shapes run at once and are probed in turn, forwards then backwards (the mean of the
    two rounds), so a burst of load from elsewhere on the machine hits them all alike.
    """
    floors = {}
    try:
        for shape in FLOOR_SHAPES:
            floors[f"{shape[0]}x{shape[1]}"] = _floor(manifest_file, shape)
        for floor in floors.values():
            loadgen.run(floor.base + path, 1, max(COUNTS), threads, {}, force_python)  # warm every worker
        probes: dict[str, dict[str, dict]] = {str(c): {} for c in COUNTS}
        for c in COUNTS:
            rounds: dict[str, list[dict]] = {name: [] for name in floors}
            for order in (list(floors), list(floors)[::-1]):
                for name in order:
                    rounds[name].append(loadgen.run(floors[name].base + path, seconds, c, threads, {}, force_python))
            for name, rs in rounds.items():
                probes[str(c)][name] = {"rps": sum(x["rps"] for x in rs) / len(rs), "p99_ms": sorted(x["p99_ms"] for x in rs)[-1]}
    finally:
        for floor in floors.values():
            floor.stop()
    best = {}
    for c, runs in probes.items():
        name = max(runs, key=lambda k: runs[k]["rps"])
        best[c] = {"shape": name, "probes": runs}
        log(
            f"  floor at {c} connections: best gthread {name} workers x threads "
            f"({runs[name]['rps']:.0f} req/s; " + ", ".join(f"{k} {v['rps']:.0f}" for k, v in runs.items()) + ")"
        )
    return best


def _pair(
    app: Server, floor: Server, path: str, hdr: dict[str, str], c: int, a: argparse.Namespace, rounds: int, seconds: float
) -> dict[str, dict]:
    """feedsvc and the floor on one cell, alternating; medians of p50/p99, worst max, mean req/s."""
    servers = {"feedsvc": app, "floor": floor}
    for srv in servers.values():
        loadgen.run(srv.base + path, 1, c, a.threads, hdr, a.python_load)  # warm every worker
    runs: dict[str, list[dict]] = {"feedsvc": [], "floor": []}
    for k in range(rounds):
        for who in ("feedsvc", "floor") if k % 2 == 0 else ("floor", "feedsvc"):
            cpu0, sched0, t0 = servers[who].cpu_s(), servers[who].sched(), time.perf_counter()
            r = loadgen.run(servers[who].base + path, seconds, c, a.threads, hdr, a.python_load)
            wall, sched1, done = time.perf_counter() - t0, servers[who].sched(), max(1, int(r["requests"]))
            r["cpu_us"] = (servers[who].cpu_s() - cpu0) / done * 1e6
            # What the scheduler gave the server while it ran: CPUs' worth of time on a core, threads
            # runnable but waiting for one, and switches onto a core per request (a thread that blocks
            # in a send is switched in again; a worker that never waits is preempted).
            r["cores"] = (sched1[0] - sched0[0]) / wall
            r["runnable_waiting"] = (sched1[1] - sched0[1]) / wall
            r["switches_per_request"] = (sched1[2] - sched0[2]) / done
            runs[who].append(r)
    out = {}
    for who, rs in runs.items():
        mid = len(rs) // 2
        out[who] = {
            "rps": sum(x["rps"] for x in rs) / len(rs),
            "p50_ms": sorted(x["p50_ms"] for x in rs)[mid],
            "p99_ms": sorted(x["p99_ms"] for x in rs)[mid],
            "max_ms": max(x["max_ms"] for x in rs),
            "errors": sum(x["errors"] for x in rs),
            "cpu_us_per_request": sum(x["cpu_us"] for x in rs) / len(rs),
            **{k: sum(x[k] for x in rs) / len(rs) for k in ("cores", "runnable_waiting", "switches_per_request")},
            "rounds_rps": [x["rps"] for x in rs],
            "rounds_p99_ms": [x["p99_ms"] for x in rs],
        }
    f, fl = out["feedsvc"], out["floor"]
    out["rps_ratio"] = f["rps"] / fl["rps"] if fl["rps"] else math.nan
    out["p99_ratio"] = f["p99_ms"] / fl["p99_ms"] if fl["p99_ms"] else math.nan
    # Server CPU per request (master + workers, from /proc): what req/s would be on an idle machine,
    # whatever share of the shared cores each side got while it ran.
    out["cpu_ratio"] = fl["cpu_us_per_request"] / f["cpu_us_per_request"] if f["cpu_us_per_request"] else math.nan
    return out


def cells(
    app: Server,
    docs: dict[str, str],
    manifest: dict[str, dict],
    manifest_file: Path,
    best: dict[str, dict],
    scenarios: list,
    a: argparse.Namespace,
    only: tuple[str, ...] = (),
) -> dict:
    """Every cache-hit cell at every connection count: feedsvc vs the best floor for that count."""
    table: dict[str, dict] = {}
    for c in COUNTS:
        shape = tuple(int(x) for x in best[str(c)]["shape"].split("x"))
        floor = _floor(manifest_file, shape)  # type: ignore[arg-type]
        try:
            for name, key, hdr in scenarios:
                if only and name not in only:
                    continue
                path = docs[key]
                variants = manifest[path]["variants"]
                if "gzip" in hdr.get("Accept-Encoding", "") and "gzip" not in variants:
                    continue
                r = _pair(
                    app, floor, path, _headers(hdr, variants["identity"]["etag"]), c, a, a.rounds if not only else 1, a.duration
                )
                r["floor_shape"] = best[str(c)]["shape"]
                table.setdefault(name, {})[str(c)] = r
                f, fl = r["feedsvc"], r["floor"]
                log(
                    f"  c{c:<3} {name:14} feedsvc {f['rps']:7.0f} req/s p50 {f['p50_ms']:6.2f} p99 {f['p99_ms']:7.2f} "
                    f"max {f['max_ms']:7.1f} | floor {fl['rps']:7.0f} p50 {fl['p50_ms']:6.2f} p99 {fl['p99_ms']:7.2f} "
                    f"max {fl['max_ms']:7.1f} ms | {r['rps_ratio']:.2f}x req/s, p99 {r['p99_ratio']:.2f}x, "
                    f"CPU/request {f['cpu_us_per_request']:.0f} vs {fl['cpu_us_per_request']:.0f} us, on a core "
                    f"{f['cores']:.2f} vs {fl['cores']:.2f} CPUs"
                )
        finally:
            floor.stop()
    return table


def control(
    docs: dict[str, str],
    manifest: dict[str, dict],
    manifest_file: Path,
    best: dict[str, dict],
    scenarios: list,
    a: argparse.Namespace,
) -> dict:
    """The floor against a second copy of itself (same shape, same bytes), measured exactly as feedsvc is.

    An A/A run: identical servers differ only by what the machine does to them meanwhile,
    so its worst cells are the noise floor of the targets (>= 1.0x req/s, <= 2x p99 in
    every cell). On an idle machine they sit near 1.0x; a worst cell far from it says
    the machine, not feedsvc, decides the main table's worst cells.
    """
    table: dict[str, dict] = {}
    for c in COUNTS:
        shape = tuple(int(x) for x in best[str(c)]["shape"].split("x"))
        twins = [_floor(manifest_file, shape), _floor(manifest_file, shape)]  # type: ignore[arg-type]
        try:
            for name, key, hdr in scenarios:
                path = docs[key]
                variants = manifest[path]["variants"]
                if "gzip" in hdr.get("Accept-Encoding", "") and "gzip" not in variants:
                    continue
                r = _pair(twins[0], twins[1], path, _headers(hdr, variants["identity"]["etag"]), c, a, a.rounds, a.duration)
                table.setdefault(name, {})[str(c)] = r
                log(
                    f"  control c{c:<3} {name:14} floor {r['feedsvc']['rps']:7.0f} vs floor {r['floor']['rps']:7.0f} "
                    f"req/s: {r['rps_ratio']:.2f}x, p99 {r['p99_ratio']:.2f}x"
                )
        finally:
            for twin in twins:
                twin.stop()
    return table


def worst(table: dict) -> dict[str, object]:
    """The worst cell by req/s ratio and by p99 ratio (the targets: >= 1.0x and <= 2.0x)."""
    flat = [(name, c, r) for name, by in table.items() for c, r in by.items()]
    if not flat:
        return {}
    lo = min(flat, key=lambda x: x[2]["rps_ratio"])
    hi = max(flat, key=lambda x: x[2]["p99_ratio"])
    return {
        "rps_ratio": lo[2]["rps_ratio"],
        "rps_cell": f"{lo[0]} @ {lo[1]}",
        "p99_ratio": hi[2]["p99_ratio"],
        "p99_cell": f"{hi[0]} @ {hi[1]}",
        "meets": lo[2]["rps_ratio"] >= 1.0 and hi[2]["p99_ratio"] <= 2.0,
    }


def run(
    app: Server, docs: dict[str, str], manifest: dict[str, dict], n: int, scenarios: list, a: argparse.Namespace, results: dict
) -> dict:
    """The tail part for one corpus: the floor's best shape per connection count, then every cell."""
    manifest_file = OUT / f"floor-{n}.json"
    probe = _floor(manifest_file, (1, 1))
    try:
        for path, doc in manifest.items():  # the floor must send the very same bytes
            for enc, v in doc["variants"].items():
                hdr = {"Accept-Encoding": "gzip"} if enc == "gzip" else {}
                if fetch(probe.base + path, hdr)[2] != Path(v["file"]).read_bytes():
                    raise RuntimeError(f"floor bytes differ for {path} {enc}")
    finally:
        probe.stop()
    out: dict = results.setdefault("tail", {}).setdefault(str(n), {})
    probed = [t["floor_best"] for t in results["tail"].values() if "floor_best" in t]
    if probed:  # the floor's shapes serve ready bytes: probed once, on the smallest corpus
        best = probed[0]
    else:
        log(f"[{n}] tail: the floor's best gthread shape per connection count")
        best = best_floor(manifest_file, docs["feed"], min(a.duration, 2.0), a.threads, a.python_load)
    out["floor_best"] = best
    log(f"[{n}] tail: every cache-hit cell at {', '.join(map(str, COUNTS))} connections")
    out["cells"] = cells(app, docs, manifest, manifest_file, best, scenarios, a)
    out["worst"] = worst(out["cells"])
    log(f"[{n}] tail: worst cells {out['worst']}")
    if n == a.sizes[0]:  # the noise floor of this machine, once per run
        log(f"[{n}] tail control: the floor against a copy of itself (A/A)")
        out["control"] = control(docs, manifest, manifest_file, best, scenarios, a)
        out["control_worst"] = worst(out["control"])
        log(f"[{n}] tail control: worst cells {out['control_worst']}")
    return out


def alternatives(
    n: int,
    docs: dict[str, str],
    manifest: dict[str, dict],
    scenarios: list,
    a: argparse.Namespace,
    results: dict,
    start: Callable[[str, dict[str, str]], Server],
) -> None:
    """Other feedsvc configurations on two cells at every count, against the same best floors."""
    out = results["tail"][str(n)]
    out["alternatives"] = {}
    for label, env in {"shipped": {}, **ALTERNATIVES}.items():
        log(f"[{n}] tail alternative: {label}")
        alt = start(label, env)
        try:
            table = cells(alt, docs, manifest, OUT / f"floor-{n}.json", out["floor_best"], scenarios, a, only=ALT_CELLS)
        finally:
            alt.stop()
        out["alternatives"][label] = {"env": env, "cells": table, "worst": worst(table)}
        log(f"[{n}]   {label}: {out['alternatives'][label]['worst']}")
