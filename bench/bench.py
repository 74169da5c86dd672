"""bench/run's driver: corpora, in-process figures, HTTP load against feedsvc and the floor.

Everything it starts listens on 127.0.0.1 only, every load run is bounded in time, and
every server it starts is stopped by PID. Writes bench/RESULTS.md and bench/results.png.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
sys.path.insert(0, str(BENCH))
import inproc as inproc_mod  # noqa: E402
import loadgen  # noqa: E402

CORPORA = BENCH / "corpora"
OUT = BENCH / "out"


def log(msg: str) -> None:
    """Progress on stderr, with the time."""
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- corpora ------------------------------------------------------------------------
def corpus(n: int, seed: int) -> Path:
    """bench/corpora/<n>, generated once per (n, seed, generator source)."""
    path = CORPORA / str(n)
    for backup in path.glob(f"posts/**/{inproc_mod.BACKUP}*"):  # an interrupted reload run
        inproc_mod.restore(backup)
    stamp = hashlib.sha256((BENCH / "gen_corpus.py").read_bytes() + f"|{n}|{seed}".encode()).hexdigest()
    if (path / ".stamp").exists() and (path / ".stamp").read_text() == stamp:
        return path
    log(f"generating corpus of {n} posts")
    t0 = time.perf_counter()
    subprocess.run([PY, str(BENCH / "gen_corpus.py"), str(n), str(path), "--seed", str(seed)], check=True)
    (path / ".stamp").write_text(stamp)
    shutil.rmtree(CORPORA / f"{n}.pcache", ignore_errors=True)
    log(f"corpus of {n} posts written in {time.perf_counter() - t0:.1f}s")
    return path


def inproc(*args: str, timeout: float = 900) -> dict:
    """Run one bench/inproc.py measurement in a fresh process."""
    res = subprocess.run([PY, str(BENCH / "inproc.py"), *args], capture_output=True, text=True,
                         timeout=timeout, cwd=ROOT)
    if res.returncode != 0:
        raise RuntimeError(f"inproc {args}: {res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# -- servers ------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port nobody listens on at 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn master started with the shipped gunicorn.conf.py, stopped by PID."""

    def __init__(self, name: str, app: str, port: int, env: dict[str, str]) -> None:
        self.name, self.port = name, port
        self.base = f"http://127.0.0.1:{port}"
        self.logfile = open(OUT / f"{name}.log", "wb")  # noqa: SIM115
        full = {**os.environ, **env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
        full.pop("PORT", None)
        self.proc = subprocess.Popen([GUNICORN, "-c", str(ROOT / "gunicorn.conf.py"), app], cwd=ROOT, env=full,
                                     stdout=self.logfile, stderr=subprocess.STDOUT)

    def wait_ready(self, path: str, timeout: float) -> float:
        """Seconds until ``path`` answers (any HTTP status)."""
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: see {self.logfile.name}")
            try:
                urllib.request.urlopen(self.base + path, timeout=2).read()
                return time.perf_counter() - t0
            except urllib.error.HTTPError:
                return time.perf_counter() - t0
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout}s")

    def pids(self) -> list[int]:
        """Master and worker PIDs."""
        pids = [self.proc.pid]
        try:
            kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            pids += [int(k) for k in kids]
        except OSError:
            pass
        return pids

    def pss_mb(self) -> tuple[float, list[float]]:
        """PSS summed over master and workers (and each), from /proc/<pid>/smaps_rollup."""
        each = []
        for pid in self.pids():
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    each.append(int(line.split()[1]) / 1024)
        return sum(each), each

    def cpu_s(self) -> float:
        """User+system CPU seconds of master and workers so far."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self.pids():
            try:
                f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(f[11]) + int(f[12])) / tick
            except OSError:
                pass
        return total

    def stop(self) -> None:
        """SIGTERM the master, wait, then SIGKILL it and any worker left."""
        pids = self.pids()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for pid in pids[1:]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.logfile.close()


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET without decoding: status, headers, raw body."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers.items()), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers.items()), e.read()


# -- HTTP figures ---------------------------------------------------------------------
def http_size(n: int, root: Path, cache: Path, a: argparse.Namespace, results: dict) -> None:
    """Cache-hit 200 (identity, gzip), 304 and API page: feedsvc and the floor, side by side."""
    port, fport = (a.port, a.port + 1) if a.port else (free_port(), free_port())
    env = {"FEEDSVC_CONTENT_DIR": str(root), "FEEDSVC_PARSE_CACHE_DIR": str(cache)}
    log(f"[{n}] starting feedsvc on :{port}")
    app = Server(f"feedsvc-{n}", "wsgi:app", port, env)
    floor = None
    try:
        ready = app.wait_ready("/healthz", a.start_timeout)
        log(f"[{n}] feedsvc ready in {ready:.1f}s")
        status, _, body = fetch(app.base + "/api/v1/categories")
        cats = sorted(json.loads(body), key=lambda c: -c["post_count"]) if status == 200 else []
        cat = cats[0]["slug"] if cats else "statements"
        docs = {"atom": f"/feeds/categories/{cat}/atom.xml", "api": "/api/v1/posts?page=1"}
        manifest: dict[str, dict] = {}
        ddir = OUT / f"docs-{n}"
        ddir.mkdir(parents=True, exist_ok=True)
        for key, path in docs.items():
            variants = {}
            for enc, hdr in (("identity", {}), ("gzip", {"Accept-Encoding": "gzip"})):
                status, headers, body = fetch(app.base + path, hdr)
                fetch(app.base + path, hdr)  # every worker's cache is filled by the load below anyway
                if status != 200:
                    raise RuntimeError(f"{path}: {status} {body[:200]!r}")
                got_enc = headers.get("Content-Encoding", "identity")
                if got_enc != enc:
                    log(f"[{n}] {path}: asked {enc}, got {got_enc}; floor serves the same")
                    if enc == "gzip":
                        continue
                f = ddir / f"{key}.{enc}"
                f.write_bytes(body)
                variants[enc] = {"file": str(f), "etag": headers.get("ETag", "")}
                results.setdefault("docs", {})[f"{key}.{enc}.{n}"] = {
                    "path": path, "bytes": len(body), "etag": headers.get("ETag", ""),
                    "decoded_bytes": len(gzip.decompress(body)) if got_enc == "gzip" else len(body)}
            manifest[path] = {"content_type": headers.get("Content-Type", "application/octet-stream"),
                              "variants": variants}
        atom = docs["atom"]
        entries = fetch(app.base + atom)[2].count(b"<entry")
        results.setdefault("atom_entries", {})[str(n)] = entries
        scen = [("atom 200 identity", atom, {}),
                ("atom 200 gzip", atom, {"Accept-Encoding": "gzip"}),
                ("atom 304", atom, {"If-None-Match": manifest[atom]["variants"]["identity"]["etag"]}),
                ("api page 200", docs["api"], {})]
        (OUT / f"floor-{n}.json").write_text(json.dumps(manifest))
        log(f"[{n}] starting floor on :{fport}")
        floor = Server(f"floor-{n}", "bench.floor_app:app", fport, {"BENCH_FLOOR_MANIFEST": str(OUT / f"floor-{n}.json")})
        floor.wait_ready("/", 60)
        for path, doc in manifest.items():  # the floor must send the very same bytes
            for enc, v in doc["variants"].items():
                hdr = {"Accept-Encoding": "gzip"} if enc == "gzip" else {}
                if fetch(floor.base + path, hdr)[2] != Path(v["file"]).read_bytes():
                    raise RuntimeError(f"floor bytes differ for {path} {enc}")
        servers = {"feedsvc": app, "floor": floor}
        for name, path, hdr in scen:
            for srv in servers.values():
                loadgen.run(srv.base + path, 1, a.connections, a.threads, hdr, a.python_load)  # warm every worker
            runs: dict[str, list[dict]] = {"feedsvc": [], "floor": []}
            for k in range(a.rounds):  # alternate AB, BA, ... so drift on a shared machine hits both
                for who in (("feedsvc", "floor") if k % 2 == 0 else ("floor", "feedsvc")):
                    runs[who].append(loadgen.run(servers[who].base + path, a.duration, a.connections, a.threads,
                                                 hdr, a.python_load))
            for who, rs in runs.items():
                r = {"tool": rs[0]["tool"], "rps": sum(x["rps"] for x in rs) / len(rs),
                     "p50_ms": sorted(x["p50_ms"] for x in rs)[len(rs) // 2],
                     "p90_ms": sorted(x["p90_ms"] for x in rs)[len(rs) // 2],
                     "p99_ms": sorted(x["p99_ms"] for x in rs)[len(rs) // 2],
                     "requests": sum(x["requests"] for x in rs), "errors": sum(x["errors"] for x in rs),
                     "rounds_rps": [x["rps"] for x in rs]}
                results.setdefault("http", {}).setdefault(str(n), {}).setdefault(name, {})[who] = r
                log(f"[{n}] {name:18} {who:8} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:.2f} ms  "
                    f"p99 {r['p99_ms']:.2f} ms  errors {r['errors']}  rounds {[round(x) for x in r['rounds_rps']]}")
        if n == max(a.sizes):
            for w in ("/api/v1/posts?q=health", "/api/v1/posts?q=rights+women", "/feeds/atom.xml"):
                for _ in range(12):  # reach every worker: search index and feeds built where they are used
                    fetch(app.base + w)
            total, each = app.pss_mb()
            results["memory"] = {"posts": n, "pss_total_mb": total, "pss_each_mb": each,
                                 "floor_pss_total_mb": floor.pss_mb()[0]}
            log(f"[{n}] PSS master+workers {total:.0f} MB ({', '.join(f'{x:.0f}' for x in each)})")
    finally:
        app.stop()
        if floor:
            floor.stop()


def http_reload(root10k: Path, cache: Path, a: argparse.Namespace, results: dict) -> None:
    """One file edited in the 10k corpus: seconds until served over HTTP, and server CPU."""
    interval = a.reload_interval
    port = a.port + 2 if a.port else free_port()
    app = Server("feedsvc-reload", "wsgi:app", port, {
        "FEEDSVC_CONTENT_DIR": str(root10k), "FEEDSVC_PARSE_CACHE_DIR": str(cache),
        "FEEDSVC_RELOAD_INTERVAL": str(interval)})
    backup = None
    try:
        app.wait_ready("/healthz", a.start_timeout)
        files = sorted((root10k / "posts").rglob("*.md"))
        target = files[len(files) // 3]
        for _ in range(20):
            fetch(app.base + "/api/v1/posts?q=health")  # every worker loads its index and search first
        time.sleep(interval * 2 + 1)
        cpu_idle0 = app.cpu_s()
        time.sleep(interval * 5)
        idle_per_s = (app.cpu_s() - cpu_idle0) / (interval * 5)
        marker = f"Reloaded{int(time.time())}"
        cpu0 = app.cpu_s()
        t0 = time.perf_counter()
        backup = inproc_mod.edit(target, marker)
        first = all_workers = None
        streak = 0
        while time.perf_counter() - t0 < interval + 30:
            _, _, b = fetch(app.base + f"/api/v1/posts?q={marker.lower()}")
            seen = marker.encode() in b
            now = time.perf_counter() - t0
            if seen and first is None:
                first = now
            streak = streak + 1 if seen else 0
            if streak >= 15:
                all_workers = now
                break
            time.sleep(0.01)
        time.sleep(interval + 0.5)
        window = time.perf_counter() - t0
        cpu = app.cpu_s() - cpu0 - idle_per_s * window
        workers = len(app.pids()) - 1
        results["reload_http"] = {"posts": len(files), "interval_s": interval, "first_served_s": first,
                                  "all_workers_s": all_workers,
                                  "cpu_over_idle_ms": cpu * 1000, "workers": workers,
                                  "idle_cpu_ms_per_s": idle_per_s * 1000}
        log(f"reload over HTTP: first served after {first}s, 15 in a row after {all_workers}s; "
            f"CPU over idle {cpu * 1000:.0f} ms across {workers} workers; idle {idle_per_s * 1000:.0f} ms/s")
    finally:
        if backup is not None:
            inproc_mod.restore(backup)
        app.stop()


def export(root: Path, cache: Path, a: argparse.Namespace, results: dict) -> None:
    """`flask --app feedsvc export OUTDIR` on a corpus: seconds and files/s."""
    out = Path(tempfile.mkdtemp(prefix="feedsvc-bench-export-"))
    try:
        env = {**os.environ, "FEEDSVC_CONTENT_DIR": str(root), "FEEDSVC_PARSE_CACHE_DIR": str(cache),
               "FEEDSVC_RELOAD_INTERVAL": "0"}
        t0 = time.perf_counter()
        try:
            res = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "feedsvc", "export", str(out / "site")],
                                 cwd=ROOT, env=env, capture_output=True, text=True, timeout=a.export_timeout)
        except subprocess.TimeoutExpired:
            results["export"] = {"error": f"timed out after {a.export_timeout}s", "posts": len(list(root.rglob("*.md")))}
            return
        wall = time.perf_counter() - t0
        files = sum(1 for p in (out / "site").rglob("*") if p.is_file()) if (out / "site").exists() else 0
        size = sum(p.stat().st_size for p in (out / "site").rglob("*") if p.is_file()) if files else 0
        results["export"] = {"posts": sum(1 for _ in (root / "posts").rglob("*.md")),
                             "seconds": wall, "files": files, "files_per_s": files / wall if wall else 0,
                             "mb": size / 1e6, "exit": res.returncode,
                             "stderr_tail": res.stderr[-300:] if res.returncode else ""}
        log(f"export: exit {res.returncode}, {files} files in {wall:.1f}s")
    finally:
        shutil.rmtree(out, ignore_errors=True)


# -- report -------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    """What this ran on."""
    cpu = "?"
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = next((ln.split()[1] for ln in open("/proc/meminfo") if ln.startswith("MemTotal")), "0")
    vers = subprocess.run([PY, "-c", "import importlib.metadata as m;print(' '.join(f'{p}=={m.version(p)}' for p in "
                           "['Flask','Werkzeug','gunicorn','feedgen','marshmallow','Flask-Caching','cmarkgfm','nh3']))"],
                          capture_output=True, text=True).stdout.strip()
    wrkv = "absent (Python load generator)"
    if shutil.which("wrk"):
        wrkv = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    import multiprocessing
    return {"cpu": f"{cpu} x {multiprocessing.cpu_count()}", "memory": f"{int(mem) / 1024 / 1024:.1f} GiB",
            "os": platform.platform(), "python": platform.python_version(), "packages": vers, "wrk": wrkv,
            "commit": commit, "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "workers": os.environ.get("WEB_CONCURRENCY", f"{multiprocessing.cpu_count() * 2 + 1} (cpu_count*2+1)")}


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, measure, report."""
    ap = argparse.ArgumentParser(prog="bench/run", description="feedsvc benchmark (see README, Benchmarks)")
    ap.add_argument("--sizes", default="100,10000,100000", help="corpus sizes (comma-separated)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration", type=float, default=5, help="seconds per load run")
    ap.add_argument("--rounds", type=int, default=2, help="alternating feedsvc/floor runs per scenario")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "0")),
                    help="feedsvc port (floor: +1, reload run: +2); default: free ports (env BENCH_PORT)")
    ap.add_argument("--reload-interval", type=float, default=1.0)
    ap.add_argument("--start-timeout", type=float, default=600)
    ap.add_argument("--export-timeout", type=float, default=420)
    ap.add_argument("--python-load", action="store_true", help="use the pure-Python load generator even if wrk exists")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: build,render,api,reload,http,export")
    ap.add_argument("--no-report", action="store_true", help="print figures but leave RESULTS.md and results.png alone")
    a = ap.parse_args(argv)
    a.sizes = sorted(int(s) for s in a.sizes.split(","))
    skip = set(filter(None, a.skip.split(",")))
    OUT.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    results: dict = {"machine": machine(), "args": " ".join(sys.argv[1:]) if argv is None else " ".join(argv),
                     "sizes": a.sizes, "build": {}, "tool": "wrk" if shutil.which("wrk") and not a.python_load else "python"}
    results["load"] = {"duration_s": a.duration, "rounds": a.rounds, "connections": a.connections, "threads": a.threads}
    roots = {n: corpus(n, a.seed) for n in a.sizes}
    caches = {n: CORPORA / f"{n}.pcache" for n in a.sizes}
    mid = 10000 if 10000 in roots else a.sizes[-1]
    big = a.sizes[-1]
    for n in a.sizes:
        if "build" in skip and (caches[n] / "parse-cache.pickle").exists():
            continue
        shutil.rmtree(caches[n], ignore_errors=True)
        log(f"[{n}] index build, first start (empty parse cache: parses every file, then writes the cache)")
        first = inproc("build", str(roots[n]), "--cache", str(caches[n]), timeout=1800)
        log(f"[{n}]   {first['wall_s']:.2f}s wall, {first['cpu_s']:.2f}s CPU in the loading process, "
            f"peak RSS {first['maxrss_mb']:.0f} MB")
        second = inproc("build", str(roots[n]), "--cache", str(caches[n]), timeout=1800)
        log(f"[{n}]   second start, with the parse cache: {second['wall_s']:.2f}s wall, {second['cpu_s']:.2f}s CPU")
        results["build"][str(n)] = {"first": first, "second": second}
    if "render" not in skip:
        log(f"[{mid}] cache-miss render CPU per document")
        results["render"] = inproc("render", str(roots[mid]), str(caches[mid]))
        log(f"[{mid}]   {json.dumps(results['render'])}")
    if "api" not in skip:
        log(f"[{big}] cache-miss API pages")
        results["api"] = inproc("api", str(roots[big]), str(caches[big]))
        log(f"[{big}]   {json.dumps(results['api'])}")
    if "reload" not in skip:
        results["reload"] = inproc("reload", str(roots[mid]), str(caches[mid]))
        log(f"[{mid}] reload in-process: {json.dumps(results['reload'])}")
    if "http" not in skip:
        for n in a.sizes:
            http_size(n, roots[n], caches[n], a, results)
        if "reload" not in skip:
            http_reload(roots[mid], caches[mid], a, results)
    if "export" not in skip:
        log(f"[{mid}] static export")
        export(roots[mid], caches[mid], a, results)
    results["total_s"] = time.perf_counter() - t_start
    (OUT / "results.json").write_text(json.dumps(results, indent=1, sort_keys=True))
    import report
    text = report.table(results)
    print(text)
    if not a.no_report:
        report.write(results, BENCH / "RESULTS.md", BENCH / "results.png")
        log("wrote bench/RESULTS.md and bench/results.png")
    log(f"total {results['total_s'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
