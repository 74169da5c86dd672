"""Helpers of the outbox tests: a receiver process, a webhooks file, draining the queue, a WebSub hub, a killed server."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import yaml
from support.gunicorn_server import Server
from support.polling import wait_for

from feedsvc.extensions import state
from feedsvc.outbox import outbox
from feedsvc.outbox.queue import open_existing

BASE = "https://news.example.org"
RECEIVER = Path(__file__).with_name("receiver.py")
SECRET = "whsec_" + base64.b64encode(b"feedsvc-test-secret-0123456789ab").decode()


class Receiver:
    """tests/outbox/receiver.py in its own process, on a free loopback port (or a given one)."""

    def __init__(self, log: Path, fail_first: int = 0, status: int = 503, port: int = 0) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, str(RECEIVER), SECRET, str(log), str(fail_first), str(status), str(port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}/hook"

    def entries(self) -> list[dict[str, Any]]:
        """Every delivery received so far."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def taken(self) -> list[dict[str, Any]]:
        """The deliveries answered 2xx."""
        return [e for e in self.entries() if e["status"] == 204]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def webhooks_file(path: Path, *endpoints: dict[str, Any]) -> str:
    """Write a FEEDSVC_WEBHOOKS_FILE with these endpoints; its path."""
    path.write_text(yaml.safe_dump(list(endpoints)), encoding="utf-8")
    return str(path)


def endpoint(url: str, **extra: Any) -> dict[str, Any]:
    """An endpoint on loopback for every event."""
    return {
        "url": url,
        "secret": SECRET,
        "events": ["post.published", "post.updated", "post.deleted"],
        "allow_private": True,
        **extra,
    }


def started(app: Any) -> Any:
    """Load the index and let the outbox record the state it starts from (as the writer does at start)."""
    state(app).live.current
    outbox(app).sender.collect()
    return app


def drain(app: Any, timeout: float = 30) -> None:
    """Reload, then deliver until the queue is empty (retries included)."""
    state(app).live.refresh()
    sender = outbox(app).sender
    deadline = time.monotonic() + timeout
    while True:
        sender.run_once()
        if sender.queue.pending() == 0:
            return
        assert time.monotonic() < deadline, "deliveries did not finish"
        time.sleep(0.01)


def free_env() -> dict[str, str]:
    """The environment for child servers, without the test's own FEEDSVC_ settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}


class Hub:
    """A local hub stand-in on 127.0.0.1 that records pings (and can fail the first few)."""

    def __init__(self, failures: int = 0) -> None:
        self.pings: list[dict[str, list[str]]] = []
        self.failures = failures
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                if hub.failures > 0:
                    hub.failures -= 1
                    self.send_response(503)
                else:
                    hub.pings.append(parse_qs(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def urls(self) -> list[str]:
        assert all(p["hub.mode"] == ["publish"] for p in self.pings)
        return [u for p in self.pings for u in p["hub.url"]]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def feeds(path: str, lang: str | None = None, formats=("atom.xml", "rss.xml", "feed.json")) -> set[str]:
    q = f"?lang={lang}" if lang else ""
    return {f"{BASE}{path}/{f}{q}" for f in formats}


def kill_master(server: Server) -> None:
    """kill -9 the master and its workers, as a crash of the whole server (an OOM kill, a lost host) does."""
    workers = server.workers()
    os.kill(server.proc.pid, signal.SIGKILL)
    for pid in workers:  # an orphan left alone may sit in a read of the database for its busy timeout
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    server.proc.wait()
    server.stop()  # closes its log file
    wait_for(lambda: not any(_running(pid) for pid in workers), timeout=120, what="the workers gone")


def _running(pid: int) -> bool:
    """Whether a process still runs (a zombie waiting for whoever adopted it to reap it has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def depth(tmp: Path) -> int:
    queue = open_existing(str(tmp / "outbox.sqlite3"))
    return queue.pending() if queue is not None else 0
