"""The outbox's loop under faults: a delivery refused a thousand times, a fault of ours, an exit mid-loop."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support.net import free_port
from support.polling import wait_for

from feedsvc.extensions import state
from feedsvc.outbox import outbox
from feedsvc.outbox.transport import Answer

from .support import Receiver, drain, endpoint, started, webhooks_file


def test_a_delivery_refused_over_a_thousand_times_keeps_a_bounded_backoff(site: Any, make_app: Any, tmp_path: Path) -> None:
    """2**attempts times a fractional first delay overflowed a float after 1,023 attempts: the
    delivery then failed 'unexpectedly' at every turn of the loop, as fast as it could."""
    nobody = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: every attempt is refused
    app = started(make_app(WEBHOOKS_FILE=webhooks_file(tmp_path / "h.yaml", endpoint(nobody)), WEBHOOK_BACKOFF=0.01))
    site.post("one", title="One")
    state(app).live.refresh()
    box = outbox(app).sender
    box.collect()
    outcomes = set()
    for _ in range(1100):
        [head] = box.queue.heads(set())
        before = time.time()
        outcomes.add(box.attempt(head))
        assert box.queue.next_try(head.seq) - before <= app.config["OUTBOX_MAX_BACKOFF"] + 1
    assert outcomes == {"retried"}
    [status] = outbox(app).status()
    assert status.depth == 1 and "refused" in (status.last_error or "").lower()


def test_a_fault_of_ours_is_retried_after_the_backoff(site: Any, make_app: Any, tmp_path: Path, monkeypatch: Any) -> None:
    app = started(make_app(WEBHOOKS_FILE=webhooks_file(tmp_path / "h.yaml", endpoint(f"http://127.0.0.1:{free_port()}/h"))))
    box = outbox(app).sender
    calls: list[str] = []

    def broken(url: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(url)
        raise RuntimeError("a bug in the transport")

    monkeypatch.setattr(box.client, "post", broken)
    site.post("one", title="One")
    state(app).live.refresh()
    assert box.start()
    try:
        wait_for(lambda: calls, what="the first attempt")
        [head] = box.queue.heads(set())
        wait_for(lambda: box.queue.next_try(head.seq) > time.time(), what="the delivery rescheduled")
        # The first retry of a webhook comes after 0.5-1 x FEEDSVC_WEBHOOK_BACKOFF (5 s): before
        # the fix the loop attempted it again at once, thousands of times a second.
        time.sleep(1)
        assert len(calls) == 1
        [status] = outbox(app).status()
        assert status.last_error == "internal error (RuntimeError)"
    finally:
        box.stop()


def test_a_fault_of_ours_past_the_age_limit_is_given_up(site: Any, make_app: Any, tmp_path: Path, monkeypatch: Any) -> None:
    """A fault that repeats (a remote inbox address nobody can sign for) ends at the age limit like any failure."""
    hooks = webhooks_file(tmp_path / "h.yaml", endpoint(f"http://127.0.0.1:{free_port()}/h"))
    app = started(make_app(WEBHOOKS_FILE=hooks, WEBHOOK_MAX_AGE=1))
    box = outbox(app).sender

    def broken(url: str, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the transport")

    monkeypatch.setattr(box.client, "post", broken)
    site.post("one", title="One")
    state(app).live.refresh()
    box.collect()
    assert box.queue.pending() == 1
    assert box.start()
    try:
        wait_for(lambda: box.queue.pending() == 0, what="the delivery given up")
        [status] = outbox(app).status()
        assert status.last_error == "internal error (RuntimeError); gave up after 1 attempt(s)"
    finally:
        box.stop()


EXIT_MID_LOOP = r"""
import sys, time
sys.path[:0] = [{root!r}, {tests!r}]
from feedsvc import create_app
from feedsvc.extensions import state
from feedsvc.outbox import outbox
from pathlib import Path
app = create_app({{"CONTENT_DIR": {content!r}, "BASE_URL": "https://news.example.org", "RELOAD_INTERVAL": 0.01,
                  "INDEX_PATH": {index!r}, "WEBHOOKS_FILE": {hooks!r}, "WEBHOOK_BACKOFF": 0.0, "OUTBOX_MAX_BACKOFF": 0.0}})
state(app).live.reload_for_children()
assert outbox(app).sender.start()
time.sleep(1.5)  # the reload thread watches, the outbox loop retries at every turn; then the interpreter exits
"""


def test_exiting_while_the_reload_and_outbox_threads_run_logs_no_traceback(site: Any, tmp_path: Path) -> None:
    """At exit, the watcher's inotify file was closed under the reload thread (logged as a failed
    reload with a traceback) and the outbox loop submitted to a pool already shut down."""
    site.post("one", title="One")
    root = Path(__file__).resolve().parents[2]
    hooks = webhooks_file(tmp_path / "h.yaml", endpoint(f"http://127.0.0.1:{free_port()}/h"))
    code = EXIT_MID_LOOP.format(
        root=str(root), tests=str(root / "tests"), content=str(site.root), index=str(tmp_path / "i.sqlite3"), hooks=hooks
    )
    for _ in range(3):
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr[-3000:]
        assert "Traceback" not in run.stderr, run.stderr[-3000:]


def test_a_delivery_taken_but_not_recorded_is_not_sent_again(site: Any, make_app: Any, tmp_path: Path, monkeypatch: Any) -> None:
    """A full disk under the queue: the receiver took the delivery, the queue could not record it.
    The loop sent it again at once, as fast as it could (thousands of copies to the partner, a
    traceback each), and /healthz said nothing."""
    app = started(make_app(WEBHOOKS_FILE=webhooks_file(tmp_path / "h.yaml", endpoint(f"http://127.0.0.1:{free_port()}/h"))))
    box = outbox(app).sender
    calls: list[str] = []
    full = [False]

    def taken(url: str, *args: Any, **kwargs: Any) -> Answer:
        calls.append(url)
        return Answer(204, {}, b"")

    real_transaction = box.queue.transaction

    def transaction() -> Any:
        if full[0]:
            raise sqlite3.OperationalError("database or disk is full")
        return real_transaction()

    monkeypatch.setattr(box.client, "post", taken)
    site.post("one", title="One")
    state(app).live.refresh()
    assert box.collect() == 1
    full[0] = True  # from now on the queue takes no write
    monkeypatch.setattr(box.queue, "transaction", transaction)
    assert box.start()
    try:
        wait_for(lambda: calls, what="the delivery")
        time.sleep(1)
        assert len(calls) == 1, "sent again while its outcome could not be recorded"
        health = app.test_client().get("/healthz").get_json()
        assert health["status"] == "degraded" and any("disk is full" in r for r in health["reasons"]), health
        full[0] = False
        wait_for(lambda: box.queue.pending() == 0, what="the outcome recorded once there is room")
        assert len(calls) == 1
        wait_for(lambda: app.test_client().get("/healthz").get_json()["status"] == "ok", what="/healthz ok again")
    finally:
        box.stop()


@pytest.mark.parametrize("broken", ["- url: [unclosed\n", "just a string\n", None])
def test_a_webhooks_file_broken_at_a_restart_keeps_the_pending_deliveries(
    site: Any, make_app: Any, tmp_path: Path, broken: str | None
) -> None:
    """A typo in FEEDSVC_WEBHOOKS_FILE (or the file gone) at a restart: every pending delivery was
    given up as 'endpoint removed', for good; it waits until the file is fixed instead."""
    port = free_port()
    hooks = tmp_path / "hooks.yaml"
    good = endpoint(f"http://127.0.0.1:{port}/hook")
    paths = {"INDEX_PATH": str(tmp_path / "index.sqlite3"), "OUTBOX_PATH": str(tmp_path / "outbox.sqlite3")}
    app = started(make_app(WEBHOOKS_FILE=webhooks_file(hooks, good), **paths))
    site.post("one", title="One")
    state(app).live.refresh()
    outbox(app).sender.run_once()  # nobody listens: retried later
    assert outbox(app).sender.queue.pending() == 1
    state(app).live.loader.close()
    if broken is None:
        hooks.unlink()
    else:
        hooks.write_text(broken)
    restarted = make_app(WEBHOOKS_FILE=str(hooks), WEBHOOK_BACKOFF=0.01, **paths)
    sender = outbox(restarted).sender
    for d in sender.queue.heads(set()):
        sender.attempt(d)
    assert sender.queue.pending() == 1, "a pending delivery was dropped while the file was broken"
    assert restarted.test_client().get("/healthz").get_json()["status"] == "degraded"
    state(restarted).live.loader.close()
    receiver = Receiver(tmp_path / "received.jsonl", port=port)
    try:
        fixed = started(make_app(WEBHOOKS_FILE=webhooks_file(hooks, good), WEBHOOK_BACKOFF=0.01, **paths))
        drain(fixed)
        assert [e["slug"] for e in receiver.taken()] == ["one"]
    finally:
        receiver.stop()


def test_a_queue_that_cannot_be_opened_is_named_on_healthz_and_tried_again(site: Any, make_app: Any, tmp_path: Path) -> None:
    """FEEDSVC_OUTBOX_PATH (or the index path it defaults beside) in a directory that cannot be
    made: the sender never started, nothing was ever sent, and /healthz said ok."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the queue's directory should be")
    queue = blocker / "outbox.sqlite3"
    app = make_app(
        WEBHOOKS_FILE=webhooks_file(tmp_path / "h.yaml", endpoint(f"http://127.0.0.1:{free_port()}/h")), OUTBOX_PATH=str(queue)
    )
    box = outbox(app)
    box.start()  # as the writer does when its reload thread starts
    health = app.test_client().get("/healthz").get_json()
    assert health["status"] == "degraded" and any(str(queue) in r for r in health["reasons"]), health
    blocker.unlink()  # the operator fixes it
    state(app).live.refresh()  # the next reload tries again
    try:
        wait_for(lambda: app.test_client().get("/healthz").get_json()["status"] == "ok", what="/healthz ok")
        assert queue.exists()
    finally:
        box.sender.stop()
