"""bench/run's hostile runs against feedsvc under its shipped gunicorn.conf.py (loopback only).

- edit loop: an edit every 100 ms under steady load: time until each edit is served,
  failed requests, worker restarts (distinct worker PIDs seen);
- slow clients: idle and header-trickling connections while normal requests are timed;
- distinct queries: PSS before and after many distinct query strings.
Every loop is bounded in time and every socket is closed at the end.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import socket
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import loadgen
from servers import Server, log


def _pct(xs: list[float], p: float) -> float | None:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else None


# -- edit loop ----------------------------------------------------------------------------
_MARK = re.compile(rb"Benchedit e(\d+)")


class Edits:
    """Edit a few posts' titles in place (atomic replace); put the original files back after."""

    def __init__(self, root: Path, count: int) -> None:
        files = sorted((root / "posts").rglob("*.md"))
        self.files = [files[(k + 1) * len(files) // (count + 1)] for k in range(count)]
        self.texts = [f.read_text(encoding="utf-8") for f in self.files]
        self.keep = self.keep_dir(root)
        self.keep.mkdir(parents=True, exist_ok=True)
        self.backups = []
        (self.keep / "map.json").write_text(json.dumps([str(f) for f in self.files]))
        for k, f in enumerate(self.files):  # a hard link keeps the original inode, size and mtime
            b = self.keep / f"{k}.md"
            b.unlink(missing_ok=True)
            os.link(f, b)
            self.backups.append(b)

    def edit(self, k: int) -> None:
        """Edit number k goes to file k % count: its title starts with 'Benchedit e<k>'."""
        i = k % len(self.files)
        text = self.texts[i].replace('\ntitle: "', f'\ntitle: "Benchedit e{k:06d} ', 1)
        tmp = self.keep / "next.md"  # outside the content tree: the core only sees the rename into it
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.files[i])

    def restore(self) -> None:
        """The original files (same inode, size and mtime) back in place."""
        for f, b in zip(self.files, self.backups, strict=True):
            if b.exists():
                os.replace(b, f)
        (self.keep / "map.json").unlink(missing_ok=True)

    @staticmethod
    def keep_dir(root: Path) -> Path:
        """Where the originals wait: beside the corpus (same file system), outside its content."""
        return root.parent / f"{root.name}.edit-originals"

    @staticmethod
    def recover(root: Path) -> None:
        """Put back the originals of an edit loop on this corpus that was killed half-way."""
        keep = Edits.keep_dir(root)
        if (keep / "map.json").exists():
            for k, f in enumerate(json.loads((keep / "map.json").read_text())):
                if (keep / f"{k}.md").exists():
                    os.replace(keep / f"{k}.md", f)
            (keep / "map.json").unlink()


def edit_loop(
    app: Server, root: Path, seconds: float, every: float, reload_interval: float, load_conns: int
) -> dict[str, object]:
    """Edits every ``every`` s for ``seconds`` under steady load; when each is first served."""
    edits = Edits(root, 5)
    times: list[float] = []
    served: dict[int, float] = {}
    seen_workers: set[int] = set(app.workers())
    before = sorted(seen_workers)
    polls = {"ok": 0, "failed": 0}
    stop = threading.Event()
    t0 = time.perf_counter()

    def poll() -> None:
        latest = [-1] * len(edits.files)
        while not stop.is_set():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
                conn.request("GET", "/api/v1/posts?q=benchedit&per_page=20")
                r = conn.getresponse()
                body = r.read()
                conn.close()
                now = time.perf_counter() - t0
                if r.status != 200 and r.status != 404:
                    polls["failed"] += 1
                else:
                    polls["ok"] += 1
                    for m in _MARK.findall(body):
                        k = int(m)
                        latest[k % len(latest)] = max(latest[k % len(latest)], k)
                    for k in range(len(times)):  # an edit is served once it or a later one of its file is
                        if k not in served and latest[k % len(latest)] >= k:
                            served[k] = now
            except (OSError, http.client.HTTPException):
                polls["failed"] += 1
            seen_workers.update(app.workers())
            time.sleep(0.02)

    load: dict[str, dict[str, object]] = {}

    def steady(name: str, path: str) -> None:
        load[name] = loadgen.run(app.base + path, seconds + reload_interval + 4, load_conns, 1, {})

    threads = [
        threading.Thread(target=poll, daemon=True),
        threading.Thread(target=steady, args=("feed", "/feeds/atom.xml"), daemon=True),
        threading.Thread(target=steady, args=("api", "/api/v1/posts?page=1"), daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        time.sleep(1)
        t0 = time.perf_counter()
        start = t0
        k = 0
        while time.perf_counter() - start < seconds:
            times.append(time.perf_counter() - t0)
            edits.edit(k)
            k += 1
            time.sleep(max(0.0, start + k * every - time.perf_counter()))
        deadline = time.perf_counter() + reload_interval + 3
        while len(served) < len(times) and time.perf_counter() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        threads[0].join(15)
        for t in threads[1:]:
            t.join(seconds + reload_interval + 40)
        edits.restore()
    lat = [served[k] - times[k] for k in range(len(times)) if k in served]
    failed = polls["failed"] + sum(int(v.get("errors", 0)) for v in load.values())  # type: ignore[call-overload]
    after = app.workers()
    return {
        "edits": len(times),
        "every_s": every,
        "seconds": seconds,
        "reload_interval_s": reload_interval,
        "served": len(lat),
        "unserved": len(times) - len(lat),
        "latency_max_s": max(lat) if lat else None,
        "latency_p50_s": _pct(lat, 0.5),
        "latency_p99_s": _pct(lat, 0.99),
        "polls": polls["ok"] + polls["failed"],
        "failed_requests": failed,
        "load": load,
        "requests": polls["ok"] + sum(int(v.get("requests", 0)) for v in load.values()),  # type: ignore[call-overload]
        "workers_before": len(before),
        "workers_after": len(after),
        "worker_restarts": len(seen_workers - set(before)),
    }


# -- slow clients ------------------------------------------------------------------------------
def _connect(port: int) -> socket.socket | None:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.setblocking(False)
        return s
    except OSError:
        return None


def slow_clients(
    app: Server, seconds: float, idle: int, trickle: int, clients: int, timeout: float, paths: list[tuple[str, dict[str, str]]]
) -> dict[str, object]:
    """``idle`` silent and ``trickle`` header-trickling connections while ``clients`` threads time requests."""
    stop = threading.Event()
    reopened = [0]
    socks_idle = [_connect(app.port) for _ in range(idle)]
    socks_trickle = [_connect(app.port) for _ in range(trickle)]
    head = b"GET /feeds/atom.xml HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "  # then one byte a second, never ending

    def keep_slow() -> None:  # a header byte per trickling connection per second; reopen what the server closed
        for s in socks_trickle:
            if s:
                try:
                    s.send(head)
                except OSError:
                    pass
        while not stop.wait(1.0):
            for group, payload in ((socks_idle, None), (socks_trickle, b"a")):
                for i, s in enumerate(group):
                    alive = s is not None
                    if alive:
                        try:
                            s.recv(4096)  # EOF or an answer (400, 408...): the server is done with it
                            alive = False
                        except BlockingIOError:  # nothing to read: still waiting for us
                            pass
                        except OSError:
                            alive = False
                    if alive and payload is not None:
                        try:
                            s.send(payload)
                        except OSError:
                            alive = False
                    if not alive:
                        if s:
                            s.close()
                        group[i] = _connect(app.port)
                        reopened[0] += 1
                        if payload is not None and group[i]:
                            try:
                                group[i].send(head)  # type: ignore[union-attr]
                            except OSError:
                                pass

    lat: list[float] = []
    failures = {"timeouts": 0, "errors": 0, "bad_status": 0}
    lock = threading.Lock()

    def client(i: int) -> None:
        rng = random.Random(i)
        while not stop.is_set():
            path, hdr = rng.choice(paths)
            t1 = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=timeout)
                conn.request("GET", path, headers=hdr)
                r = conn.getresponse()
                r.read()
                conn.close()
                with lock:
                    if r.status >= 400:
                        failures["bad_status"] += 1
                    lat.append((time.perf_counter() - t1) * 1000)
            except TimeoutError:
                with lock:
                    failures["timeouts"] += 1
            except (OSError, http.client.HTTPException):
                with lock:
                    failures["errors"] += 1
            stop.wait(0.05)

    threads = [threading.Thread(target=keep_slow, daemon=True)]
    threads += [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(timeout + 5)
    for s in socks_idle + socks_trickle:
        if s:
            s.close()
    return {
        "seconds": seconds,
        "idle": idle,
        "trickle": trickle,
        "clients": clients,
        "client_timeout_s": timeout,
        "requests": len(lat) + failures["timeouts"] + failures["errors"],
        "answered": len(lat),
        **failures,
        "p50_ms": _pct(lat, 0.5),
        "p99_ms": _pct(lat, 0.99),
        "max_ms": max(lat) if lat else None,
        "mean_ms": statistics.fmean(lat) if lat else None,
        "slow_reopened": reopened[0],
    }


# -- distinct queries --------------------------------------------------------------------------
def distinct_urls(count: int, cats: dict[str, int], tags: dict[str, int], words: list[str], total: int) -> list[str]:
    """``count`` distinct, valid URLs that no link on the site produces (deterministic).

    ``cats`` and ``tags`` map slugs to post counts (pages are drawn mostly within range).
    """
    rng = random.Random(13)
    langs = ["en", "fr", "es"]
    scopes = (
        [("", total)]
        + [(f"categories/{quote(c)}/", k) for c, k in cats.items()]
        + [(f"tags/{quote(t)}/", k) for t, k in tags.items()]
    )
    cat, tag, word = list(cats), list(tags), [quote(w) for w in words]

    def feed() -> str:  # pages within range for the language's share of the corpus (gen_corpus.LANGS)
        scope, posts = rng.choice(scopes)
        lang, share = rng.choice([("en", 0.7), ("fr", 0.18), ("es", 0.12)])
        return (
            f"/feeds/{scope}{rng.choice(['atom.xml', 'rss.xml', 'feed.json'])}"
            f"?page={rng.randint(1, max(1, int(posts * share * 0.9) // 50))}&lang={lang}"
        )

    kinds: list[Callable[[], str]] = [
        feed,
        lambda: f"/api/v1/posts?q={rng.choice(word)}&page={rng.randint(1, 5)}&per_page={rng.randint(20, 100)}",
        lambda: (
            f"/api/v1/posts?category={quote(rng.choice(cat))}&tag={quote(rng.choice(tag))}"
            f"&lang={rng.choice(langs)}&per_page={rng.randint(10, 100)}"
        ),
        lambda: f"/feeds/atom.xml?q={rng.choice(word)}+{rng.choice(word)}+{rng.choice(word)}",
    ]
    out: dict[str, None] = {}
    for _ in range(count * 50):
        if len(out) >= count:
            break
        out.setdefault(kinds[len(out) % len(kinds)](), None)
    return list(out)


def distinct_queries(app: Server, urls: list[str], conns: int, max_seconds: float) -> dict[str, object]:
    """PSS of master + workers before and after requesting every URL once (``conns`` keep-alive clients)."""
    before = app.memory()
    statuses: dict[int, int] = {}
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + max_seconds
    todo = iter(urls)

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=30)
        while time.perf_counter() < deadline:
            with lock:
                path = next(todo, None)
            if path is None:
                break
            try:
                conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
                r = conn.getresponse()
                r.read()
                with lock:
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=30)
            except Exception:  # counted, the run goes on
                with lock:
                    errors[0] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=30)
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max_seconds + 60)
    wall = time.perf_counter() - t0
    time.sleep(1)
    after = app.memory()
    done = sum(statuses.values())
    log(f"distinct queries: {done} of {len(urls)} in {wall:.0f}s, statuses {statuses}, errors {errors[0]}")
    return {
        "urls": len(urls),
        "done": done,
        "seconds": wall,
        "statuses": {str(k): v for k, v in statuses.items()},
        "errors": errors[0],
        "pss_before_mb": before["pss_total_mb"],
        "pss_after_mb": after["pss_total_mb"],
        "pss_growth_mb": after["pss_total_mb"] - before["pss_total_mb"],  # type: ignore[operator]
        "before": before,
        "after": after,
    }
