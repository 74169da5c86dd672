"""Slow-client load on a loopback server: idle and header-trickling connections beside normal requests.

Used by tests/serving/ (short runs) and runnable on its own for the 40 s measurement:

    .venv/bin/python tests/support/slow_clients.py --port 8000 --duration 40 --idle 100 --trickle 100

Everything is bounded: the connection counts, the duration, and every socket has a
timeout; only 127.0.0.1 is contacted. Idle connections connect and send nothing;
trickling ones send a request's header one byte at a time (one byte per second) and
never finish it; both are re-opened when the server drops them, so the pressure stays
constant. Meanwhile ``clients`` threads send normal GET requests (a fresh connection
each, as a feed reader does) and record each latency, or a timeout.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass, field

HOST = "127.0.0.1"
TRICKLE = b"GET /feeds/atom.xml HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slow" + b"w" * 4000


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    timeouts: int = 0
    errors: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    slow_open: int = 0  # slow connections open at the end
    slow_peak: int = 0  # most slow connections open at once (sum over the idle and trickling sets)

    def percentile(self, p: float) -> float:
        data = sorted(self.latencies)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, int(p / 100 * len(data)))]

    def summary(self) -> dict[str, object]:
        return {
            "requests": len(self.latencies) + self.timeouts + len(self.errors),
            "ok": len(self.latencies),
            "timeouts": self.timeouts,
            "errors": len(self.errors),
            "statuses": self.statuses,
            "p50_ms": round(self.percentile(50) * 1000, 1),
            "p99_ms": round(self.percentile(99) * 1000, 1),
            "max_ms": round(max(self.latencies, default=0) * 1000, 1),
            "slow_open": self.slow_open,
            "slow_peak": self.slow_peak,
        }


def _slow_connections(port: int, count: int, trickle: bool, stop: threading.Event, opened: list[int], peaks: list[int]) -> None:
    """Keep ``count`` idle (or trickling) connections open until ``stop``; re-open dropped ones."""
    socks: list[socket.socket | None] = [None] * count
    sent = [0] * count
    peak = 0
    try:
        while not stop.is_set():
            for i in range(count):
                s = socks[i]
                if s is None:
                    try:
                        s = socket.create_connection((HOST, port), timeout=2)
                        s.setblocking(False)
                    except OSError:
                        continue
                    socks[i], sent[i] = s, 0
                if trickle and sent[i] < len(TRICKLE):
                    try:
                        s.send(TRICKLE[sent[i] : sent[i] + 1])
                        sent[i] += 1
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:  # dropped by the server: open another
                        s.close()
                        socks[i] = None
                        continue
                try:  # a closed connection reads as EOF
                    if s.recv(65536) == b"":
                        s.close()
                        socks[i] = None
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    s.close()
                    socks[i] = None
            peak = max(peak, sum(1 for s in socks if s is not None))
            stop.wait(1.0)
    finally:
        peaks.append(peak)
        opened.append(sum(1 for s in socks if s is not None))
        for s in socks:
            if s is not None:
                s.close()


def _normal(
    port: int, paths: list[str], stop: threading.Event, result: Result, timeout: float, lock: threading.Lock, pause: float
) -> None:
    i = 0
    while not stop.is_set():
        path = paths[i % len(paths)]
        i += 1
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        try:
            conn.request("GET", path, headers={"Connection": "close", "Accept-Encoding": "gzip"})
            resp = conn.getresponse()
            resp.read()
            elapsed = time.perf_counter() - t0
            with lock:
                result.latencies.append(elapsed)
                result.statuses[resp.status] = result.statuses.get(resp.status, 0) + 1
        except TimeoutError:
            with lock:
                result.timeouts += 1
        except OSError as exc:
            with lock:
                result.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()
        stop.wait(pause)


def run(
    port: int,
    duration: float,
    idle: int,
    trickle: int,
    clients: int = 4,
    paths: list[str] | None = None,
    timeout: float = 5.0,
    pause: float = 0.02,
    settle: float = 3.0,
) -> Result:
    """Open the slow connections, wait ``settle`` s, then send normal requests for ``duration`` s."""
    paths = paths or ["/feeds/atom.xml", "/api/v1/posts", "/feeds/rss.xml", "/"]
    stop_slow, stop_normal = threading.Event(), threading.Event()
    result, lock = Result(), threading.Lock()
    opened: list[int] = []
    peaks: list[int] = []
    slow = [
        threading.Thread(target=_slow_connections, args=(port, n, t, stop_slow, opened, peaks), daemon=True)
        for n, t in ((idle, False), (trickle, True))
        if n
    ]
    for t in slow:
        t.start()
    stop_slow.wait(settle)
    normal = [
        threading.Thread(target=_normal, args=(port, paths, stop_normal, result, timeout, lock, pause), daemon=True)
        for _ in range(clients)
    ]
    for t in normal:
        t.start()
    stop_normal.wait(duration)
    stop_normal.set()
    for t in normal:
        t.join(timeout + 5)
    stop_slow.set()
    for t in slow:
        t.join(10)
    result.slow_open = sum(opened)
    result.slow_peak = sum(peaks)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--duration", type=float, default=40)
    ap.add_argument("--idle", type=int, default=100)
    ap.add_argument("--trickle", type=int, default=100)
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()
    res = run(args.port, args.duration, min(args.idle, 1000), min(args.trickle, 1000), args.clients)
    print(json.dumps(res.summary()))


if __name__ == "__main__":
    main()
