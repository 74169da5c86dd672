"""bench/run per corpus size: starts, memory, and cache hits against the floor, side by side.

feedsvc runs under the shipped gunicorn.conf.py (whatever worker model it chooses); the
floor (bench/floor_app.py, the very bytes feedsvc sent) under bench/floor_gunicorn.conf.py,
its own best configuration (gthread, keep-alive). wrk keeps connections alive for both.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
from pathlib import Path

import proxy
import tail
from servers import OUT, PY, ROOT, SCENARIOS, Server, app_env, drop_index, fetch, free_port, log

READY = "/api/v1/posts?per_page=1"
WARM = [
    "/feeds/atom.xml",
    "/feeds/rss.xml",
    "/feeds/feed.json",
    "/api/v1/posts?q=health",
    "/api/v1/posts?q=rights+women",
    "/api/v1/posts?page=3",
    "/api/v1/categories",
    "/api/v1/tags",
]


def warm(app: Server, rounds: int = 12) -> None:
    """Touch the usual documents from every worker (each round reaches whichever worker answers)."""
    for _ in range(rounds):
        for path in WARM:
            fetch(app.base + path)


def start(
    name: str, root: Path, index: Path, keys: list[str], a: argparse.Namespace, total: int, port: int = 0, **extra: str
) -> tuple[Server, float]:
    """feedsvc under gunicorn.conf.py; seconds until it answers with all ``total`` posts."""
    app = Server(name, "wsgi:app", port or free_port(), app_env(root, index, keys, **extra))
    try:
        return app, app.wait_ready(READY, a.start_timeout, total=total)
    except Exception:
        app.stop()
        raise


def _documents(app: Server, n: int) -> tuple[dict[str, str], dict[str, dict], dict[str, object]]:
    """The feed and API page of the load runs; the floor's manifest of their exact bytes."""
    status, _, body = fetch(app.base + "/api/v1/categories")
    cats = sorted(json.loads(body), key=lambda c: -c["post_count"]) if status == 200 else []
    cat = cats[0]["slug"] if cats else "statements"
    docs = {"feed": f"/feeds/categories/{cat}/atom.xml", "api": "/api/v1/posts?page=1"}
    manifest: dict[str, dict] = {}
    info: dict[str, object] = {}
    ddir = OUT / f"docs-{n}"
    ddir.mkdir(parents=True, exist_ok=True)
    for key, path in docs.items():
        variants = {}
        ctype = "application/octet-stream"
        for enc, hdr in (("identity", {}), ("gzip", {"Accept-Encoding": "gzip"})):
            status, headers, body = fetch(app.base + path, hdr)
            if status != 200:
                raise RuntimeError(f"{path}: {status} {body[:200]!r}")
            got = headers.get("Content-Encoding", "identity")
            if got != enc:
                log(f"[{n}] {path}: asked {enc}, got {got}")
                continue
            f = ddir / f"{key}.{enc}"
            f.write_bytes(body)
            ctype = headers.get("Content-Type", ctype)
            variants[enc] = {"file": str(f), "etag": headers.get("ETag", "")}
            info[f"{key} {enc}"] = {
                "path": path,
                "bytes": len(body),
                "etag": headers.get("ETag", ""),
                "decoded_bytes": len(gzip.decompress(body)) if enc == "gzip" else len(body),
            }
        manifest[path] = {"content_type": ctype, "variants": variants}
    return docs, manifest, info


def versus_floor(app: Server, n: int, a: argparse.Namespace, results: dict) -> tuple[dict[str, str], dict]:
    """Cache hits (feed and API page: 200, 304, gzip) at 8, 32 and 64 connections against the floor's best
    shape for each count (bench/tail.py); the 32-connection cells also fill the report's older table."""
    docs, manifest, info = _documents(app, n)
    results.setdefault("docs", {})[str(n)] = info
    (OUT / f"floor-{n}.json").write_text(json.dumps(manifest))
    out = tail.run(app, docs, manifest, n, SCENARIOS, a, results)
    for name, by in out["cells"].items():
        r = by.get("32") or next(iter(by.values()))
        for who in ("feedsvc", "floor"):
            cell = {"tool": "wrk" if shutil.which("wrk") and not a.python_load else "python", **r[who], "requests": 0}
            results.setdefault("http", {}).setdefault(str(n), {}).setdefault(name, {})[who] = cell
    return docs, manifest


def cost(root: Path, index: Path, keys: list[str], timeout: float) -> dict:
    """bench/inproc.py cost in a fresh process, configured by FEEDSVC_* variables, caches off."""
    import os

    env = {
        **os.environ,
        **app_env(
            root,
            index,
            keys,
            FEEDSVC_RELOAD_INTERVAL="0",
            FEEDSVC_CACHE_TYPE="NullCache",
            FEEDSVC_CACHE_LOCAL_BYTES="0",
            FEEDSVC_RENDER_BUDGET="off",
        ),
    }
    res = subprocess.run(
        [PY, str(Path(__file__).with_name("inproc.py")), "cost"],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )
    if res.returncode != 0:
        raise RuntimeError(f"inproc cost: {res.stderr[-2000:]}")
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


def size_run(n: int, root: Path, index: Path, keys: list[str], a: argparse.Namespace, skip: set[str], results: dict) -> None:
    """First start (no database), memory, cache hits vs the floor, second start, cache-miss CPU."""
    out: dict[str, object] = results.setdefault("sizes_run", {}).setdefault(str(n), {})
    kept = any(index.parent.glob(index.name + "*")) or index.with_suffix(".pcache").exists()
    fresh = "start" not in skip or not kept
    if fresh:
        drop_index(index)
    log(f"[{n}] {'first start (no database)' if fresh else 'start (database kept: --skip start)'}")
    app, first = start(f"feedsvc-{n}", root, index, keys, a, n, port=a.port)
    try:
        out["first_start_s"] = first if fresh else None
        out["first_start_cpu_s"] = app.cpu_s()
        log(f"[{n}]   ready with {n} posts after {first:.1f}s ({out['first_start_cpu_s']:.1f}s CPU)")
        warm(app)
        out["memory_warm"] = app.memory()
        docs = None
        if "http" not in skip:
            docs, manifest = versus_floor(app, n, a, results)
            if "proxy" not in skip and n == a.sizes[0]:  # cache hits cost the same at every size
                proxy.run(app, docs, manifest, n, a, results)
        warm(app)
        mem = app.memory()
        out["memory"] = mem
        log(
            f"[{n}]   PSS master+workers {mem['pss_total_mb']:.0f} MB (anon {mem['anon_total_mb']:.0f}, "
            f"file {mem['file_total_mb']:.0f}; workers' anon {mem['worker_anon_mb']})"
        )
    finally:
        app.stop()
    if docs is not None and "alternatives" not in skip and n == a.sizes[0]:
        tail.alternatives(
            n,
            docs,
            manifest,
            SCENARIOS,
            a,
            results,
            lambda label, env: start(f"feedsvc-{n}-alt", root, index, keys, a, n, **env)[0],
        )
    log(f"[{n}] second start (database present, nothing changed)")
    app, second = start(f"feedsvc-{n}-second", root, index, keys, a, n, port=a.port)
    app.stop()
    out["second_start_s"] = second
    log(f"[{n}]   ready after {second:.2f}s")
    if "cost" not in skip:
        log(f"[{n}] cache-miss CPU in one process (API pages, feeds, bare feedgen)")
        c = cost(root, index, keys, a.start_timeout + 900)
        out["cost"] = c
        log(
            f"[{n}]   filters {c['api_filters']['median_ms']:.1f} ms, q {c['api_q']['median_ms']:.1f} ms, atom "
            f"{c['atom.xml']['median_ms']:.1f} ms vs feedgen {c['feedgen_alone']['median_ms']:.1f} ms "
            f"(ratio {c['atom_over_feedgen_median']:.2f}; same fields: {c['atom_over_feedgen_same_median']:.2f})"
        )
