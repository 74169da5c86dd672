"""The fork gate: a fork of the master waits for its threads' units of work, and they wait for the fork."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from feedsvc.content.forkgate import GATE, Gate


def _fork_and_reap() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


def _unit_in_thread(gate: Gate) -> tuple[threading.Thread, threading.Event]:
    """A thread running one unit of work of ``gate`` (started), and the event it sets once inside."""
    entered = threading.Event()

    def unit() -> None:
        with gate.work():
            entered.set()

    thread = threading.Thread(target=unit, daemon=True)
    thread.start()
    return thread, entered


def test_a_fork_waits_for_the_running_unit_and_new_units_wait_for_the_fork() -> None:
    gate = Gate(wait=0.2)
    inside, leave, log = threading.Event(), threading.Event(), []

    def unit(name: str, hold: threading.Event | None) -> None:
        with gate.work():
            log.append(f"{name} in")
            inside.set()
            if hold is not None:
                hold.wait(10)
            log.append(f"{name} out")

    first = threading.Thread(target=unit, args=("first", leave))
    first.start()
    inside.wait(10)
    assert gate.quiesce() is False, "a unit is running: the fork would wait no longer than asked"
    second = threading.Thread(target=unit, args=("second", None))
    second.start()
    time.sleep(0.2)
    assert log == ["first in"], "no unit starts while a fork is being prepared"
    leave.set()
    first.join(10)
    gate.wait = 10
    assert gate.quiesce() is True
    assert log == ["first in", "first out"]
    gate.reopen()  # what the fork's after_in_parent hook does for the gate that closed it
    second.join(10)
    assert log == ["first in", "first out", "second in", "second out"]


def test_the_shared_gate_opens_again_after_a_fork_in_the_parent() -> None:
    assert GATE.quiesce() is True
    waiting, done = _unit_in_thread(GATE)
    time.sleep(0.1)
    assert not done.is_set()
    _fork_and_reap()  # os.register_at_fork reopens it in the parent
    waiting.join(10)
    assert done.is_set()


def test_a_fork_by_another_thread_does_not_open_a_gate_closed_for_another_fork() -> None:
    """The reload thread forks parser processes: that must not open the arbiter's gate."""
    assert GATE.quiesce() is True
    try:
        forked = threading.Thread(target=_fork_and_reap)
        forked.start()
        forked.join(10)
        t, entered = _unit_in_thread(GATE)
        time.sleep(0.2)
        assert not entered.is_set()
    finally:
        GATE.reopen()
    t.join(10)
    assert entered.is_set()


def test_a_fork_that_never_comes_does_not_close_the_gate_for_good() -> None:
    """gunicorn's fork may fail after pre_fork closed the gate (no after_in_parent then)."""
    gate = Gate(wait=0.1)
    assert gate.quiesce() is True  # and no fork follows
    t, done = _unit_in_thread(gate)
    t.join(10)
    assert done.is_set()


def test_a_long_unit_lets_a_fork_go_first_at_its_pauses() -> None:
    """The outbox's look at every post of a large corpus is one unit of 20 s: each fork of a first
    start waited the whole WAIT for it. At its pauses the fork goes first; then the unit goes on."""
    gate = Gate(wait=5.0)
    stop, inside, steps = threading.Event(), threading.Event(), [0]

    def long_unit() -> None:
        with gate.work():
            inside.set()
            while not stop.is_set():
                steps[0] += 1
                gate.pause()

    t = threading.Thread(target=long_unit, daemon=True)
    t.start()
    inside.wait(10)
    assert gate.quiesce() is True, "the fork waited for the whole unit (and gave up after 5 s)"
    held = steps[0]
    time.sleep(0.2)
    assert steps[0] == held, "the unit stays paused until the fork is done"
    gate.reopen()
    deadline = time.monotonic() + 10
    while steps[0] == held and time.monotonic() < deadline:
        time.sleep(0.01)
    assert steps[0] > held, "after the fork the unit goes on"
    stop.set()
    t.join(10)
    assert gate.quiesce() is True  # the unit ended: nothing is counted as running any more
    gate.reopen()


def test_a_pause_outside_a_unit_changes_nothing() -> None:
    gate = Gate(wait=0.2)
    gate.pause()  # a step run by the CLI or a test, not by a thread of the master
    assert gate.quiesce() is True
    gate.reopen()
    t, entered = _unit_in_thread(gate)
    t.join(10)
    assert entered.is_set()


EXIT_PROBE = r"""
import atexit, sys, threading, time
sys.path.insert(0, {root!r})
from feedsvc.content.forkgate import GATE
atexit.register(lambda: print("connections closed", flush=True))  # as the databases' finalizers, registered first
started = threading.Event()

def unit():
    with GATE.work():
        started.set()
        time.sleep(0.5)  # a reload's statements
        print("unit ended", flush=True)
    with GATE.work():  # the next turn never starts once the process exits
        print("another unit", flush=True)

threading.Thread(target=unit, daemon=True).start()
started.wait(10)
GATE.close_at_exit()
GATE.close_at_exit()  # once per process
"""


def test_at_exit_the_running_unit_ends_before_the_connections_close() -> None:
    """The interpreter closed the writer's connection (a finalizer at exit) under the reload thread's
    statement: the process crashed with SIGSEGV at exit, about one stop in four."""
    root = str(Path(__file__).resolve().parents[2])
    run = subprocess.run([sys.executable, "-c", EXIT_PROBE.format(root=root)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["unit ended", "connections closed"]
