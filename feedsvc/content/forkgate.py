"""A fork of the gunicorn master waits (a little) for the master's threads to reach a safe point.

The master is the writer: it runs the reload loop, the outbox's loop and its delivery threads.
A fork copies every lock as it is at that instant but only the thread that forks: a lock another
thread held (one of SQLite's or OpenSSL's mutexes, a module's import lock) stays held in the
child for ever, and the child's first use of it never returns. gunicorn forks the workers at
start, and again to replace one; a worker caught so hung while booting or on its first request.

Each of those threads runs a unit of work inside ``GATE.work()``. The master's ``pre_fork`` hook
(serving.py) calls ``GATE.quiesce()``: no unit starts any more and it waits for the running ones to
end, at most ``WAIT`` seconds (a delivery may take its whole timeout; the arbiter must not stall
longer), then gunicorn forks and the gate opens again in the parent (``os.register_at_fork``).
A long unit (the outbox's first look at a large corpus) calls ``GATE.pause()`` at its safe points:
a fork waiting goes first there.

The interpreter's exit is the same kind of moment: the databases' finalizers close their
connections while those threads (daemons) still run, and a connection closed under a statement
crashed the process. A process that starts such a thread calls ``GATE.close_at_exit()``: at exit,
before the finalizers, the gate closes and the running units end first.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: Longest wait of a fork for units of work to end (seconds): after that it forks anyway.
WAIT = 5.0


class Gate:
    """Units of work (any number at once) or a fork, never both."""

    def __init__(self, wait: float = WAIT) -> None:
        self.wait = wait
        self._cond = threading.Condition()
        self._active = 0
        self._closer: int | None = None  # the thread that closed the gate for its fork
        self._inside = threading.local()  # .depth: this thread's units of work running
        self._exit_pid = 0  # the process that registered the exit hook

    @contextmanager
    def work(self) -> Iterator[None]:
        """Run the body as one unit of work (waits while a fork is being prepared)."""
        self._enter()
        self._inside.depth = getattr(self._inside, "depth", 0) + 1
        try:
            yield
        finally:
            self._inside.depth -= 1
            self._leave()

    def _enter(self) -> None:
        with self._cond:
            while self._closer is not None:
                if not self._cond.wait(2 * self.wait):
                    self._closer = None  # closed for a fork that never came (os.fork failed): open again
            self._active += 1

    def _leave(self) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    def pause(self) -> None:
        """A safe point of the running unit of work (no lock held, no statement running): a fork
        waiting for it goes first. Outside a unit, or inside one nested in another, nothing."""
        if getattr(self._inside, "depth", 0) == 1 and self._closer is not None:
            self._leave()
            self._enter()  # after the fork, in the parent (or once the gate gave up on it)

    def quiesce(self) -> bool:
        """Close the gate for a fork by this thread; True when no unit of work is running any more."""
        deadline = time.monotonic() + self.wait
        with self._cond:
            self._closer = threading.get_ident()
            while self._active:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close_at_exit(self) -> None:
        """At this process's exit, before the finalizers registered so far (atexit runs the last
        registered first): no unit of work starts any more, and the running ones end first (at most
        ``wait`` seconds). Called by whatever starts a thread that works in units, once it has
        opened what those units use."""
        pid = os.getpid()
        if self._exit_pid != pid:
            self._exit_pid = pid
            atexit.register(self._at_exit, pid)

    def _at_exit(self, pid: int) -> None:
        if os.getpid() == pid:  # not in a forked child, which inherits the hook but none of the threads
            self.quiesce()

    def reopen(self) -> None:
        """Let units of work start again (after the fork, in the thread that closed the gate)."""
        with self._cond:
            if self._closer == threading.get_ident():
                self._closer = None
                self._cond.notify_all()

    def reset_in_child(self) -> None:
        """In a new child: none of the parent's threads exist here."""
        self._cond = threading.Condition()
        self._active = 0
        self._closer = None  # ``_inside`` stays: the thread that forked goes on here, inside its units


GATE = Gate()
os.register_at_fork(after_in_parent=GATE.reopen, after_in_child=GATE.reset_in_child)
