"""Time from a scheduled post's instant to the first gunicorn worker serving it (issue 20: at most 2 s).

Runs feedsvc under the shipped gunicorn.conf.py over a generated corpus, with the default
reload interval. Each round writes a post dated a few seconds ahead (whole seconds, on the
real clock), waits until the server has seen the file (its page answers 404, /healthz names
the instant), then polls its page from several clients at once until one gets 200: the
delay is that moment minus the post's date. It also records when every worker answered
200 (ten consecutive requests in a row). No connection leaves loopback.

    .venv/bin/python bench/schedule.py [--posts 2000] [--rounds 10] [--lead 4]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from gen_corpus import generate
from servers import APP_CONF, Server, fetch, free_port, log

OUT_JSON = Path(__file__).resolve().parent / "out" / "schedule.json"


def post_text(n: int, when: float) -> str:
    date = datetime.fromtimestamp(when, UTC).isoformat()
    return f"---\ntitle: Scheduled statement {n}\ndate: {date}\ncategories: [statements]\n---\nUnder embargo until {date}.\n"


def first_200(base: str, path: str, deadline: float, clients: int = 4) -> float:
    """The wall time of the first 200 for ``path`` among ``clients`` pollers (each polls every 5 ms)."""
    found: list[float] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set() and time.time() < deadline:
            try:
                status, _, _ = fetch(base + path, timeout=5)
            except OSError:
                status = 0
            if status == 200:
                found.append(time.time())
                stop.set()
                return
            time.sleep(0.005)

    threads = [threading.Thread(target=poll) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if not found:
        raise RuntimeError(f"{path} never answered 200")
    return min(found)


def all_workers(base: str, path: str, deadline: float, streak: int = 10) -> float:
    """The wall time from which ``streak`` consecutive requests (new connections, spread over workers) all get 200."""
    ok = 0
    start = time.time()
    while time.time() < deadline:
        status = fetch(base + path, timeout=5)[0]
        if status == 200:
            ok += 1
            if ok == streak:
                return start
        else:
            ok, start = 0, time.time()
    raise RuntimeError("not every worker serves it")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=2000, help="corpus size (generated)")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--lead", type=float, default=4.0, help="seconds between writing a post and its date")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="feedsvc-bench-schedule-") as tmp:
        root = Path(tmp) / "content"
        generate(args.posts, root)
        port = free_port()
        server = Server(
            "schedule",
            "wsgi:app",
            port,
            {"FEEDSVC_CONTENT_DIR": str(root), "FEEDSVC_INDEX_PATH": str(Path(tmp) / "index.db")},
            APP_CONF,
        )
        try:
            server.wait_ready("/healthz", 600)
            first, every = [], []
            for n in range(args.rounds):
                when = math.ceil(time.time() + args.lead)
                path = Path(root, "posts", "scheduled", f"s{n}.md")
                path.parent.mkdir(exist_ok=True)
                path.write_text(post_text(n, when), encoding="utf-8")
                expect = datetime.fromtimestamp(when, UTC).astimezone().isoformat()
                while True:  # the writer has read the file: it names the instant as the next change
                    health = json.loads(fetch(server.base + "/healthz")[2])
                    if health.get("next_change") and datetime.fromisoformat(health["next_change"]).timestamp() == when:
                        break
                    if time.time() > when:
                        raise RuntimeError(
                            f"round {n}: the file was not read before its instant (raise --lead); "
                            f"healthz {health.get('next_change')} vs {expect}"
                        )
                    time.sleep(0.02)
                seen = first_200(server.base, f"/posts/s{n}", when + 30)
                everyone = all_workers(server.base, f"/posts/s{n}", when + 30)
                first.append(seen - when)
                every.append(max(everyone, seen) - when)
                log(f"round {n}: first worker {first[-1]:.3f} s, every worker {every[-1]:.3f} s after the instant")
            result = {
                "posts": args.posts,
                "rounds": args.rounds,
                "workers": len(server.workers()),
                "first_worker_s": {"median": statistics.median(first), "max": max(first), "each": [round(x, 3) for x in first]},
                "every_worker_s": {"median": statistics.median(every), "max": max(every), "each": [round(x, 3) for x in every]},
            }
            OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
            OUT_JSON.write_text(json.dumps(result, indent=2), encoding="utf-8")
            print(json.dumps(result, indent=2))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
