"""Load generators for bench/run: wrk when installed, else a bounded pure-Python one.

Both return {"rps", "p50_ms", "p90_ms", "p99_ms", "max_ms", "requests", "errors", "tool"}.
"""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import threading
import time
from urllib.parse import urlsplit

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(url: str, seconds: float, connections: int, threads: int, headers: dict[str, str]) -> dict[str, object]:
    """Run wrk once (bounded by --duration and a hard timeout) and parse its report."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "--timeout", "5s"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    pct = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    worst = re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", out, re.M)  # avg, stdev, max
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    return {
        "tool": "wrk",
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(pct["50"]),
        "p90_ms": _ms(pct["90"]),
        "p99_ms": _ms(pct["99"]),
        "max_ms": _ms(worst.group(1)) if worst else float("nan"),
        "requests": requests,
        "errors": errors,
    }


def pyload(url: str, seconds: float, connections: int, threads: int, headers: dict[str, str]) -> dict[str, object]:
    """A keep-alive HTTP/1.1 load generator in threads; slower than wrk but always there."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    deadline = time.perf_counter() + seconds
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        mine: list[float] = []
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status >= 400:
                    errors[0] += 1
            except (OSError, http.client.HTTPException):
                errors[0] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
                continue
            mine.append(time.perf_counter() - t0)
        conn.close()
        with lock:
            lat.extend(mine)

    start = time.perf_counter()
    pool = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(seconds + 10)
    elapsed = time.perf_counter() - start
    lat.sort()

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(len(lat) * p))] * 1000 if lat else float("nan")

    return {
        "tool": "python",
        "rps": len(lat) / elapsed,
        "p50_ms": pct(0.5),
        "p90_ms": pct(0.9),
        "p99_ms": pct(0.99),
        "max_ms": lat[-1] * 1000 if lat else float("nan"),
        "requests": len(lat),
        "errors": errors[0],
    }


def run(
    url: str, seconds: float, connections: int, threads: int, headers: dict[str, str], force_python: bool = False
) -> dict[str, object]:
    """Load ``url`` for ``seconds`` with the best available generator."""
    if not force_python and shutil.which("wrk"):
        return wrk(url, seconds, connections, threads, headers)
    return pyload(url, seconds, connections, threads, headers)
