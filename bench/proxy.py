"""bench/run's proxy part: feedsvc as deployed (deploy/nginx-proxy.conf in front) against nginx static files.

One nginx (Debian's, under its own prefix, two worker processes) runs two servers side by
side: the shipped proxy config in front of the running feedsvc, and a plain static server
holding the very bytes feedsvc sent (gzip_static for the .gz twins, nginx's own ETags).
Cache hits run on both in alternating rounds (proxy first, then static first, ...) at 8, 32
and 64 connections; a cell's ratio is the median of its rounds' ratios (each round's two runs
are back to back, so a loaded machine weighs on both alike), its req/s the means. Then a polling
mix through the proxy: pollers each walk every feed of the corpus (all scopes, Atom, RSS,
JSON Feed), with the Accept-Encoding values feed readers send or none, each sending If-None-Match with the ETag it last saw; the
X-Cache-Status header of every answer gives the proxy_cache hit ratio.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import loadgen
from servers import OUT, ROOT, SCENARIOS, Server, _stat_cpu, fetch, free_port, log

COUNTS = (8, 32, 64)
CELLS = SCENARIOS
STATIC_NAMES = {"feed": "feed.xml", "api": "api.json"}
CONF = ROOT / "deploy" / "nginx-proxy.conf"
#: Accept-Encoding of the polling mix's pollers (in turn): none, and what feed readers send.
CODINGS = ("", "gzip", "gzip, deflate", "gzip, deflate, br")


def nginx_bin() -> str | None:
    """Debian's nginx, if installed."""
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


class Nginx:
    """deploy/nginx-proxy.conf (ports and cache path rewritten) plus a static server, stopped by PID.

    The static server is tuned as the proxy is (sendfile, open_file_cache; tcp_nopush on, as in
    Debian's nginx.conf, which only the proxy must turn off): the ratio is the cost of proxying
    and caching, nothing else.
    """

    def __init__(self, prefix: Path, upstream_port: int, static_root: Path, types: dict[str, str], config: Path = CONF) -> None:
        shutil.rmtree(prefix, ignore_errors=True)
        prefix.mkdir(parents=True)
        self.proxy_port, self.static_port = free_port(), free_port()
        conf = config.read_text()
        for old, new in (
            ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};"),
            ("listen 80;", f"listen 127.0.0.1:{self.proxy_port};"),
            ("/var/cache/nginx/feedsvc", str(prefix / "cache")),
        ):
            if old not in conf:
                raise RuntimeError(f"{config} no longer has {old!r}")
            conf = conf.replace(old, new)
        (prefix / "feedsvc.conf").write_text(conf)
        static = "".join(
            f'        location = /{name} {{ types {{ }} default_type "{ctype}"; }}\n' for name, ctype in types.items()
        )
        user = "user root;" if os.geteuid() == 0 else ""
        (prefix / "main.conf").write_text(f"""{user}
daemon off; worker_processes 2; pid {prefix}/nginx.pid; error_log {prefix}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy; fastcgi_temp_path {prefix}/fcgi;
    uwsgi_temp_path {prefix}/uwsgi; scgi_temp_path {prefix}/scgi;
    include {prefix}/feedsvc.conf;
    server {{
        listen 127.0.0.1:{self.static_port};
        root {static_root};
        keepalive_timeout 65s;
        sendfile on; tcp_nopush on; open_file_cache max=10000 inactive=60s;
        etag on; gzip_static on; gzip_vary on;
{static}    }}
}}
""")
        self.log = open(prefix / "stderr.log", "wb")
        self.proc = subprocess.Popen([str(nginx_bin()), "-p", str(prefix), "-c", str(prefix / "main.conf")], stderr=self.log)
        for _ in range(200):
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: see {prefix / 'error.log'}")
            try:
                fetch(f"http://127.0.0.1:{self.static_port}/", timeout=2)
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not start")

    def cpu_s(self) -> float:
        """CPU seconds (user + system) of the worker processes so far."""
        pid = self.proc.pid
        workers = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return sum(_stat_cpu(int(w)) for w in workers)

    def measure(self, url: str, a: argparse.Namespace, c: int, headers: dict[str, str]) -> dict:
        """One load run, with the nginx workers' CPU per request (only this server is loaded meanwhile)."""
        before = self.cpu_s()
        r = loadgen.run(url, a.duration, c, a.threads, headers, a.python_load)
        r["cpu_us_per_req"] = (self.cpu_s() - before) / r["requests"] * 1e6 if r.get("requests") else float("nan")
        return r

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def _feed_urls(base: str, limit: int = 300) -> list[str]:
    """Every feed of the corpus up to ``limit``: site-wide and per category and tag, in three formats."""
    scopes = ["/feeds/"]
    for kind, key in (("categories", "slug"), ("tags", "slug")):
        status, _, body = fetch(f"{base}/api/v1/{kind}")
        if status == 200:
            scopes += [f"/feeds/{kind}/{item[key]}/" for item in json.loads(body) if isinstance(item, dict)]
    urls = [scope + fmt for scope in scopes for fmt in ("atom.xml", "rss.xml", "feed.json")]
    return urls[:limit]


def polling_mix(port: int, urls: list[str], pollers: int, passes: int, seed: int = 1) -> dict[str, object]:
    """Pollers walk every URL ``passes`` times, conditional after the first; counts of X-Cache-Status."""
    statuses: Counter[str] = Counter()
    codes: Counter[int] = Counter()
    lock = threading.Lock()

    def poller(k: int) -> None:
        rnd = random.Random(seed * 1000 + k)
        enc = {"Accept-Encoding": CODINGS[k % len(CODINGS)]} if CODINGS[k % len(CODINGS)] else {}
        etags: dict[str, str] = {}
        mine: Counter[str] = Counter()
        mycodes: Counter[int] = Counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(passes):
            order = urls[:]
            rnd.shuffle(order)
            for url in order:
                hdr = {**enc, **({"If-None-Match": etags[url]} if url in etags else {})}
                conn.request("GET", url, headers=hdr)
                resp = conn.getresponse()
                resp.read()
                if resp.getheader("ETag"):
                    etags[url] = resp.getheader("ETag", "")
                mine[resp.getheader("X-Cache-Status", "none")] += 1
                mycodes[resp.status] += 1
        conn.close()
        with lock:
            statuses.update(mine)
            codes.update(mycodes)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=poller, args=(k,)) for k in range(pollers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    total = sum(statuses.values())
    return {
        "requests": total,
        "seconds": time.perf_counter() - t0,
        "feeds": len(urls),
        "pollers": pollers,
        "passes": passes,
        "cache_status": dict(statuses),
        "http_status": {str(k): v for k, v in codes.items()},
        "hit_ratio": statuses.get("HIT", 0) / total if total else 0.0,
        "codings": list(CODINGS),
    }


def run(app: Server, docs: dict[str, str], manifest: dict[str, dict], n: int, a: argparse.Namespace, results: dict) -> None:
    """Cache hits through deploy/nginx-proxy.conf vs nginx static, then the polling mix's hit ratio."""
    if not nginx_bin():
        log(f"[{n}] proxy: no nginx binary (apt-get install nginx-light): part skipped")
        return
    static_root = OUT / f"static-{n}"
    static_root.mkdir(parents=True, exist_ok=True)
    types = {}
    for key, path in docs.items():
        variants = manifest[path]["variants"]
        name = STATIC_NAMES[key]
        shutil.copyfile(variants["identity"]["file"], static_root / name)
        if "gzip" in variants:
            shutil.copyfile(variants["gzip"]["file"], static_root / (name + ".gz"))
        types[name] = manifest[path]["content_type"]
    nginx = Nginx(OUT / f"nginx-{n}", app.port, static_root, types, getattr(a, "config", CONF))
    out: dict = results.setdefault("proxy", {}).setdefault(str(n), {})
    try:
        proxy, static = f"http://127.0.0.1:{nginx.proxy_port}", f"http://127.0.0.1:{nginx.static_port}"
        cells: dict = {}
        for name, key, hdr in CELLS:
            target = {"proxy": proxy + docs[key], "static": f"{static}/{STATIC_NAMES[key]}"}
            heads = {}
            for who, url in target.items():  # each side's own ETag for the 304 cells; fills the proxy cache
                h = {"Accept-Encoding": hdr["Accept-Encoding"]} if "Accept-Encoding" in hdr else {}
                status, got, body = fetch(url, h)
                if status != 200:
                    raise RuntimeError(f"{url}: {status}")
                heads[who] = {k: (got.get("ETag", "") if v == "etag" else v) for k, v in hdr.items()}
            for who, url in target.items():  # nginx keys a Vary variant on the exact header value: fill it
                loadgen.run(url, 1, max(COUNTS), a.threads, heads[who], a.python_load)
            for c in COUNTS:
                runs: dict[str, list[dict]] = {"proxy": [], "static": []}
                for k in range(a.rounds):
                    for who in ("proxy", "static") if k % 2 == 0 else ("static", "proxy"):
                        runs[who].append(nginx.measure(target[who], a, c, heads[who]))
                r = {
                    who: {
                        "rps": sum(x["rps"] for x in rs) / len(rs),
                        "p50_ms": sorted(x["p50_ms"] for x in rs)[0],
                        "p99_ms": max(x["p99_ms"] for x in rs),
                        "max_ms": max(x["max_ms"] for x in rs),
                        "errors": sum(x["errors"] for x in rs),
                        "cpu_us_per_req": statistics.median(x["cpu_us_per_req"] for x in rs),
                    }
                    for who, rs in runs.items()
                }
                r["cpu_ratio"] = r["proxy"]["cpu_us_per_req"] / r["static"]["cpu_us_per_req"]
                # Each round's two runs are back to back: their ratio sees the same machine load.
                pairs = sorted(p["rps"] / s["rps"] for p, s in zip(runs["proxy"], runs["static"], strict=True) if s["rps"])
                r["round_ratios"] = pairs
                r["rps_ratio"] = statistics.median(pairs) if pairs else float("nan")
                cells.setdefault(name, {})[str(c)] = r
                log(
                    f"[{n}] proxy c{c:<3} {name:14} proxy {r['proxy']['rps']:7.0f} req/s p99 "
                    f"{r['proxy']['p99_ms']:6.2f} ms | static {r['static']['rps']:7.0f} req/s p99 "
                    f"{r['static']['p99_ms']:6.2f} ms | {r['rps_ratio']:.2f}x | nginx CPU/req "
                    f"{r['proxy']['cpu_us_per_req']:.0f} vs {r['static']['cpu_us_per_req']:.0f} us"
                )
        out["cells"] = cells
        ratios = [(r["rps_ratio"], f"{name} @ {c}") for name, by in cells.items() for c, r in by.items()]
        out["worst"] = {"rps_ratio": min(ratios)[0], "cell": min(ratios)[1]}
        urls = _feed_urls(proxy)
        mix = polling_mix(nginx.proxy_port, urls, pollers=getattr(a, "pollers", 16), passes=getattr(a, "passes", 3))
        out["polling_mix"] = mix
        log(
            f"[{n}] proxy polling mix: {mix['requests']} requests over {mix['feeds']} feeds, "
            f"hit ratio {mix['hit_ratio']:.1%} {mix['cache_status']} {mix['http_status']}"
        )
    finally:
        nginx.stop()


def _shown(path: Path) -> str:
    """A path as the report names it: relative to the checkout when inside it (a report is read on other machines)."""
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    """This part alone: feedsvc on one corpus, then ``run``; the report's table on stdout."""
    import report
    import scale
    from servers import app_config_keys

    import bench

    ap = argparse.ArgumentParser(prog="bench/proxy.py", description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=10000, help="corpus size (bench/run: its smallest, 10000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per load run")
    ap.add_argument("--rounds", type=int, default=2, help="alternating proxy/static runs per cell (AB, BA, ...)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pollers", type=int, default=16)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--config", type=Path, default=CONF, help="the proxy config to measure")
    ap.add_argument("--python-load", action="store_true", help="the pure-Python load generator even if wrk exists")
    ap.add_argument("--start-timeout", type=float, default=1800)
    ap.add_argument("--json", type=Path, default=OUT / "proxy.json", help="where the figures go")
    a = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    bench.CORPORA.mkdir(parents=True, exist_ok=True)
    root, index, keys = bench.corpus(a.size, a.seed), bench.CORPORA / f"{a.size}.db", app_config_keys()
    results: dict = {"machine": {"load_start": os.getloadavg(), "config": _shown(a.config)}}
    app, _ = scale.start(f"feedsvc-{a.size}-proxy", root, index, keys, a, a.size)
    try:
        scale.warm(app)
        docs, manifest, _ = scale._documents(app, a.size)
        run(app, docs, manifest, a.size, a, results)
    finally:
        app.stop()
    results["machine"]["load_end"] = os.getloadavg()
    a.json.write_text(json.dumps(results, indent=1, default=str))
    print(report.proxy_tables(results))
    log(f"load average at the start {results['machine']['load_start']}, at the end {results['machine']['load_end']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
