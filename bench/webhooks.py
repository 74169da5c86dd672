"""1,000 webhook deliveries to a local receiver: throughput, and the p99 of feed requests during them (issue 20).

Runs feedsvc under the shipped gunicorn.conf.py over a generated corpus, with one webhook
endpoint (every event, ``allow_private``) pointing at a receiver process on loopback that
verifies every delivery with the standardwebhooks library (this file, ``--receiver``) and
records when it arrived. Deliveries come from content changes, as in production: the
bench writes N new post files at once, the writer publishes them in one reload and queues
N ``post.published`` events, delivered by the writer process (one destination: one at a
time, in order).

1. Throughput: N deliveries to a receiver answering at once (first to last arrival).
2. Side by side in one run, on the same server and content state: the p99 of a cached
   feed (``/feeds/rss.xml``, wrk or bench/loadgen.py's fallback) in alternating windows of
   ``--seconds``: *without* (the receiver holds the delivery in flight: the writer's sender
   waits on a socket and does nothing), then *during* (the receiver answers each after
   ``--delay-ms``, a partner taking its time, so deliveries flow through the whole window),
   until N more deliveries have arrived. Alternating cancels the drift of a shared machine;
   the figures are the medians of the windows' p99s, and every window is kept. The N new
   posts are dated before the corpus, so the feed's bytes are the same in both.

    .venv/bin/python bench/webhooks.py [--posts 2000] [--deliveries 1000] [--seconds 4] [--delay-ms 12]
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import loadgen
import yaml
from gen_corpus import generate
from servers import APP_CONF, OUT, PY, Server, fetch, free_port, log

OUT_JSON = OUT / "webhooks.json"
SECRET = "whsec_" + base64.b64encode(b"feedsvc-bench-webhooks-secret-01").decode()


def receiver(secret: str, port: int, delay_file: str) -> None:
    """The receiver process: verifies each delivery, answers 204 after the delay in ``delay_file`` (``pause``: holds it).

    ``GET /stats`` answers {"ok": n, "bad": n, "first": t, "last": t} (wall times of the first and last good one).
    """
    from standardwebhooks import Webhook, WebhookVerificationError

    hook = Webhook(secret)
    lock = threading.Lock()
    stats: dict[str, float] = {"ok": 0, "bad": 0, "first": 0.0, "last": 0.0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # http.server API
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                hook.verify(body, dict(self.headers))
                good = True
            except WebhookVerificationError:
                good = False
            while (delay_text := Path(delay_file).read_text()) == "pause":
                time.sleep(0.01)
            delay = float(delay_text or 0)
            if delay:
                time.sleep(delay)
            now = time.time()
            with lock:
                stats["ok" if good else "bad"] += 1
                if good:
                    stats["first"] = stats["first"] or now
                    stats["last"] = now
            self.send_response(204 if good else 400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            with lock:
                body = json.dumps(stats).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


def stats(port: int) -> dict[str, float]:
    return json.loads(fetch(f"http://127.0.0.1:{port}/stats", timeout=5)[2])


def publish(root: Path, batch: str, n: int) -> None:
    """Write ``n`` new posts (one reload publishes them: ``n`` post.published events)."""
    folder = root / "posts" / batch
    folder.mkdir()
    for i in range(n):
        (folder / f"{batch}-{i}.md").write_text(
            f"---\ntitle: Bench {batch} {i}\ndate: 2013-06-01T09:00:00Z\ncategories: [statements]\n---\n"
            f"Post {i} of batch {batch}.\n",
            encoding="utf-8",
        )


def wait_posts(server: Server, total: int, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if json.loads(fetch(server.base + "/healthz")[2]).get("posts") == total:
            return
        time.sleep(0.05)
    raise RuntimeError(f"the server never showed {total} posts")


def wait_deliveries(port: int, n: int, timeout: float = 600) -> dict[str, float]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        s = stats(port)
        if s["ok"] + s["bad"] >= n:
            return s
        time.sleep(0.02)
    raise RuntimeError(f"fewer than {n} deliveries arrived: {stats(port)}")


def load(url: str, seconds: float, connections: int) -> dict[str, object]:
    return loadgen.run(url, seconds, connections, 2, {"Accept-Encoding": "gzip"})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=2000, help="corpus size (generated)")
    ap.add_argument("--deliveries", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=4.0, help="each load window (under the 10 s delivery timeout)")
    ap.add_argument("--max-rounds", type=int, default=12, help="pairs of windows at most")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--delay-ms", type=float, default=12.0, help="the receiver's answer time in phase 2")
    args = ap.parse_args()
    n = args.deliveries
    with tempfile.TemporaryDirectory(prefix="feedsvc-bench-webhooks-") as tmp:
        root = Path(tmp) / "content"
        generate(args.posts, root)
        rport, port = free_port(), free_port()
        delay_file = Path(tmp) / "delay"
        delay_file.write_text("0")
        recv = subprocess.Popen(
            [PY, __file__, "--receiver", SECRET, str(rport), str(delay_file)], stdout=subprocess.PIPE, text=True
        )
        assert recv.stdout is not None and recv.stdout.readline().strip() == "ready"
        hooks = Path(tmp) / "webhooks.yaml"
        hooks.write_text(
            yaml.safe_dump(
                [
                    {
                        "url": f"http://127.0.0.1:{rport}/hook",
                        "secret": SECRET,
                        "events": ["post.published", "post.updated", "post.deleted"],
                        "allow_private": True,
                    }
                ]
            ),
            encoding="utf-8",
        )
        server = Server(
            "webhooks",
            "wsgi:app",
            port,
            {
                "FEEDSVC_CONTENT_DIR": str(root),
                "FEEDSVC_INDEX_PATH": str(Path(tmp) / "index.db"),
                "FEEDSVC_WEBHOOKS_FILE": str(hooks),
            },
            APP_CONF,
        )
        try:
            server.wait_ready("/healthz", 600)
            total = args.posts
            # 1. Throughput: N deliveries answered at once.
            t0 = time.time()
            publish(root, "a", n)
            total += n
            wait_posts(server, total)
            seen = wait_deliveries(rport, n)
            span = seen["last"] - seen["first"]
            throughput = {
                "deliveries": n,
                "verified": seen["ok"],
                "bad_signatures": seen["bad"],
                "first_to_last_s": round(span, 3),
                "per_s": round((n - 1) / span, 1) if span else None,
                "write_to_last_s": round(seen["last"] - t0, 3),
            }
            log(f"throughput: {throughput}")
            # 2. The p99 of a cached feed in alternating windows: deliveries held, deliveries flowing.
            url = server.base + "/feeds/rss.xml"
            delay_file.write_text("pause")
            publish(root, "b", n)
            total += n
            wait_posts(server, total)
            load(url, 2, args.connections)  # the new state's feed rendered once per worker
            windows: list[dict[str, object]] = []
            while stats(rport)["ok"] < 2 * n and len(windows) < 2 * args.max_rounds:
                for kind in ("without", "during"):
                    delay_file.write_text("pause" if kind == "without" else str(args.delay_ms / 1000))
                    time.sleep(0.1)  # a delivery answered as the pause began is over
                    d0 = stats(rport)["ok"]
                    got = load(url, args.seconds, args.connections)
                    d1 = stats(rport)["ok"]
                    windows.append(
                        {
                            "kind": kind,
                            "tool": got["tool"],
                            "p99_ms": got["p99_ms"],
                            "p50_ms": got["p50_ms"],
                            "rps": got["rps"],
                            "errors": got["errors"],
                            "deliveries": d1 - d0,
                            "flowing_to_the_end": d1 < 2 * n,
                        }
                    )
                    log(f"{kind}: p99 {got['p99_ms']:.2f} ms, {got['rps']:.0f} req/s, {d1 - d0} deliveries")
            delay_file.write_text("0")
            wait_deliveries(rport, 2 * n)
            # The last "during" window may see the deliveries end before it does: only full ones count.
            full = [w for w in windows if w["kind"] == "without" or w["flowing_to_the_end"]]

            def median(kind: str, key: str) -> float:
                return statistics.median(float(w[key]) for w in full if w["kind"] == kind)  # type: ignore[arg-type]

            p99 = {kind: median(kind, "p99_ms") for kind in ("without", "during")}
            result = {
                "posts": args.posts,
                "workers": len(server.workers()),
                "throughput": throughput,
                "feed": "/feeds/rss.xml (gzip)",
                "tool": windows[0]["tool"],
                "connections": args.connections,
                "window_s": args.seconds,
                "receiver_delay_ms": args.delay_ms,
                "median_p99_ms": p99,
                "median_rps": {k: median(k, "rps") for k in ("without", "during")},
                "p99_during_over_without": round(p99["during"] / p99["without"], 3),
                "bad_signatures": stats(rport)["bad"],
                "windows": windows,
            }
            OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
            OUT_JSON.write_text(json.dumps(result, indent=2), encoding="utf-8")
            print(json.dumps(result, indent=2))
        finally:
            server.stop()
            recv.terminate()
            recv.wait(10)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--receiver":
        receiver(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        main()
