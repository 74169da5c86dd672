"""Helpers of the outbox tests: a receiver process, a webhooks file, draining the queue."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from feedsvc.extensions import state
from feedsvc.outbox import outbox

RECEIVER = Path(__file__).with_name("receiver.py")
SECRET = "whsec_" + base64.b64encode(b"feedsvc-test-secret-0123456789ab").decode()


class Receiver:
    """tests/outbox/receiver.py in its own process, on a free loopback port (or a given one)."""

    def __init__(self, log: Path, fail_first: int = 0, status: int = 503, port: int = 0) -> None:
        self.log = log
        self.proc = subprocess.Popen([sys.executable, str(RECEIVER), SECRET, str(log), str(fail_first), str(status),
                                      str(port)], stdout=subprocess.PIPE, text=True)
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
    return {"url": url, "secret": SECRET, "events": ["post.published", "post.updated", "post.deleted"],
            "allow_private": True, **extra}


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


def wait_for(check: Any, timeout: float = 60, what: str = "condition") -> None:
    """Poll ``check()`` until true (a deadline, not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.05)


def free_env() -> dict[str, str]:
    """The environment for child servers, without the test's own FEEDSVC_ settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
