"""The sender loop: turns committed content changes into deliveries, and delivers what is due.

It runs in the writer process only (the one that holds the index writer lock: the
gunicorn master under ``preload_app``), in one thread plus a small pool, and takes the
queue's own lock so only one process ever sends from a queue file. Each destination has
at most one delivery in flight and goes strictly in order, so a receiver sees a post's
events in the order they happened. A failed attempt is retried with exponential backoff
and jitter (never sooner than a ``Retry-After`` asks), until the sender's limit; a 410
from a webhook endpoint disables it until its configuration changes; a 410 from a
follower's inbox removes the followers it serves (fediverse/delivery.py).
"""

from __future__ import annotations

import email.utils
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from prometheus_client import Counter

from ..content.forkgate import GATE
from . import events, queuefile, websub
from .queue import Delivery, Queue
from .transport import Answer, Client
from .webhooks import Webhooks

log = logging.getLogger("feedsvc.outbox")
T = TypeVar("T")
DELIVERIES = Counter(
    "feedsvc_outbox_deliveries", "Outbox delivery attempts, by kind, destination and outcome", ["kind", "dest", "outcome"]
)
#: Deliveries in flight at once (each to another destination).
CONCURRENCY = 8
#: Doublings of a delivery's first backoff counted at most (2**60 times any first delay is past any cap).
MAX_DOUBLINGS = 60


class _Exiting(Exception):
    """The interpreter is exiting: the sender loop ends."""


@dataclass(frozen=True)
class Limits:
    """Retry policy: first backoff, longest backoff, webhook give-up age, WebSub attempts."""

    webhook_backoff: float
    websub_backoff: float
    max_backoff: float
    webhook_max_age: float
    websub_retries: int
    websub_allow_private: bool


def retry_after(value: str | None, now: float) -> float:
    """Seconds a ``Retry-After`` header asks to wait (RFC 9110 §10.2.3: seconds or an HTTP date); 0 if none."""
    if not value:
        return 0.0
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError):
        return 0.0


class Sender:
    """Derives events from the index and delivers the queue, in a background thread or step by step."""

    def __init__(
        self,
        queue: Queue,
        client: Client,
        webhooks: Webhooks,
        limits: Limits,
        current: Callable[[], Any],
        clock: Callable[[], float] = time.time,
        fediverse: Any = None,
        report: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.queue, self.client, self.webhooks, self.limits = queue, client, webhooks, limits
        #: The app's Fediverse (outbox/fediverse): its activities go through this queue too.
        self.fediverse = fediverse
        self.current = current  # the newest Index
        self.clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()
        #: Outcomes of attempts the queue could not record yet, by delivery (written at the next turns).
        self._unrecorded: dict[int, Callable[[], object]] = {}
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        #: Called with this turn's faults (what /healthz shows) whenever they change.
        self.report = report
        self._faults: list[str] = []
        queue.sync_destinations(webhooks.destinations())

    # -- driving -----------------------------------------------------------------------------
    def start(self) -> bool:
        """Start the background loop in this process if it can take the queue's sender lock."""
        if self._thread is not None and self._thread.is_alive():
            return True
        if not self.queue.try_become_sender():
            log.info("outbox: another process sends from %s", self.queue.path)
            return False
        self._pool = ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="feedsvc-outbox")
        self._thread = threading.Thread(target=self._run, name="feedsvc-outbox", daemon=True)
        self._thread.start()
        GATE.close_at_exit()  # its turns end before the databases close at exit
        return True

    def wake(self, *args: object) -> None:
        """Look at the content and the queue now (a reload listener)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the loop (in-flight deliveries finish)."""
        self._stop.set()
        self._wake.set()

    def collect(self) -> int:
        """Enqueue the events of every change committed since the last call; the number of events."""
        senders: list[events.Sender] = [self.webhooks.enqueue, websub.enqueue]
        if self.fediverse is not None:
            from .fediverse import delivery

            senders.append(delivery.sender(self.fediverse, self.current))
        return events.step(self.current(), self.queue, senders, self.clock(), pause=GATE.pause)

    def run_once(self) -> int:
        """Collect, then attempt every due delivery in turn, in this thread; the number attempted (tests, CLI)."""
        self.collect()
        n = 0
        while True:
            due = [d for d in self.queue.heads(set()) if self.queue.next_try(d.seq) <= self.clock()]
            if not due:
                return n
            for d in due:
                self.attempt(d)
                n += 1

    def _run(self) -> None:
        assert self._pool is not None
        while not self._stop.is_set():
            self._wake.clear()
            faults: list[str] = []
            wait = 1.0
            with GATE.work():  # a fork of the master waits for this turn (content/forkgate.py)
                try:
                    queuefile.check(self.queue)  # a deleted file is put back before anything is written to it
                    self.collect()
                except Exception as exc:  # the queue or index may be briefly unusable: try again on the next turn
                    faults.append(self._fault("collecting content changes", exc))
                try:
                    wait = self._dispatch(self._pool)
                except _Exiting:
                    return
                except Exception as exc:
                    faults.append(self._fault("delivering", exc))
            self._report(faults)
            self._wake.wait(max(wait, 0.01))

    def _dispatch(self, pool: ThreadPoolExecutor) -> float:
        """Hand every due head of the queue to the pool; seconds until the next one is due (at most 1)."""
        wait = 1.0
        with self._busy_lock:
            unrecorded = list(self._unrecorded.items())
        for seq, write in unrecorded:
            write()  # raises while the queue still takes no write: this turn's fault
            with self._busy_lock:
                del self._unrecorded[seq]
        with self._busy_lock:
            heads = [d for d in self.queue.heads(self._busy) if d.seq not in self._unrecorded]
        now = self.clock()
        for d in heads:
            due = self.queue.next_try(d.seq)
            if due <= now:
                with self._busy_lock:
                    self._busy.add(d.dest)
                try:
                    pool.submit(self._attempt_then_free, d)
                except RuntimeError:  # the interpreter is exiting: its thread pools take no more work
                    raise _Exiting from None
            elif due:
                wait = min(wait, due - now)
        return wait

    def _fault(self, doing: str, exc: Exception) -> str:
        """What /healthz says of a failed turn (a damaged queue file is set aside first); logged once while it lasts."""
        why = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, sqlite3.DatabaseError) and (damage := queuefile.damaged(self.queue)) is not None:
            try:
                queuefile.set_aside(self.queue, damage)
            except OSError as err:
                why = f"{why}; setting the damaged file aside failed: {err}"
        reason = f"outbox: {doing} failed ({why}); retried every second"
        if reason not in self._faults:
            log.error("%s", reason, exc_info=exc)
        return reason

    def _report(self, faults: list[str]) -> None:
        if faults != self._faults:
            self._faults = faults
            if self.report is not None:
                self.report(faults)

    def _attempt_then_free(self, d: Delivery) -> None:
        with GATE.work():  # a fork of the master waits for this attempt (content/forkgate.py)
            try:
                self.attempt(d)
            except Exception as exc:
                log.exception("outbox: delivery %s failed unexpectedly", d.id)
                self._hold(d, exc)
            finally:
                with self._busy_lock:
                    self._busy.discard(d.dest)
                self._wake.set()

    # -- one attempt -------------------------------------------------------------------------
    def attempt(self, d: Delivery) -> str:
        """Send one delivery once and record the outcome: delivered, retried, given_up or disabled."""
        now = self.clock()
        headers = dict(d.headers)
        if d.kind == "webhook":
            signed = self.webhooks.sign(d.id, d.body, d.dest, now)
            if signed is None and not self.webhooks.complete:  # kept until the file is fixed (or too old)
                unknown = "endpoint not in FEEDSVC_WEBHOOKS_FILE, which has problems: kept until it is fixed"
                return self._retry_or_give_up(d, Answer(0, {}, b"", unknown), unknown, now)
            if signed is None:
                return self._outcome(d, "given_up", "endpoint removed from FEEDSVC_WEBHOOKS_FILE", now)
            headers.update(signed)
            allow_private = self.webhooks.allow_private(d.dest)
        elif d.kind == "activitypub" and self.fediverse is not None:
            from .fediverse import delivery

            headers = delivery.headers_for(self.fediverse, self.current().site, self.queue, d, now)
            allow_private = self.fediverse.allow_private
        else:
            allow_private = self.limits.websub_allow_private
        answer = self.client.post(d.url, d.body, headers, allow_private)
        now = self.clock()
        if 200 <= answer.status < 300:
            self._record(d, lambda: self.queue.done(d, now))
            return self._count(d, "delivered")
        error = answer.error or f"HTTP {answer.status}"
        if answer.status == 410 and d.kind == "activitypub" and self.fediverse is not None:
            from .fediverse import delivery

            removed = self._record(d, lambda: delivery.gone(self.queue, d, now))
            log.warning("outbox: inbox %s answered 410: %d follower(s) removed", d.dest, removed or 0)
            return self._count(d, "gone")
        if answer.status == 410 and d.kind == "webhook":
            dropped = self._record(
                d, lambda: self.queue.disable(d, "HTTP 410 Gone: disabled until its configuration changes", now)
            )
            log.warning("outbox: %s answered 410: disabled, %d pending deliveries dropped", d.dest, dropped or 0)
            return self._count(d, "disabled")
        return self._retry_or_give_up(d, answer, error, now)

    def _hold(self, d: Delivery, exc: Exception) -> None:
        """A fault of ours while attempting ``d`` (an inbox address that cannot be signed for, say):
        a failed attempt, tried again after its backoff, not at once (a fault that repeats must not
        turn the loop into a busy one), and given up at its kind's age limit like any other."""
        error = f"internal error ({type(exc).__name__})"
        try:
            self._retry_or_give_up(d, Answer(0, {}, b"", error), error, self.clock())
        except Exception:
            log.exception("outbox: delivery %s could not be rescheduled", d.id)

    def _record(self, d: Delivery, write: Callable[[], T]) -> T | None:
        """Write the outcome of ``d``'s attempt to the queue; when the queue takes no write now (a full
        disk), keep it here, written at the next turns (``_dispatch``): ``d`` is not sent again meanwhile."""
        try:
            return write()
        except sqlite3.Error as exc:
            with self._busy_lock:
                self._unrecorded[d.seq] = write
            log.error("outbox: the outcome of %s could not be recorded (%s): not sent again until it is", d.id, exc)
            return None

    def _backoff(self, d: Delivery) -> float:
        """Seconds before ``d``'s next attempt: its kind's first delay doubled per attempt, capped, with jitter."""
        lim = self.limits
        fedi = d.kind == "activitypub" and self.fediverse is not None
        first = lim.webhook_backoff if d.kind == "webhook" else self.fediverse.backoff if fedi else lim.websub_backoff
        # The exponent is bounded: past 2**1023 the product overflows a float (a delivery retried
        # that often under a small first delay), and 2**MAX_DOUBLINGS is past any cap already.
        return float(min(first * 2.0 ** min(d.attempts, MAX_DOUBLINGS), lim.max_backoff) * random.uniform(0.5, 1.0))

    def _retry_or_give_up(self, d: Delivery, answer: Answer, error: str, now: float) -> str:
        lim = self.limits
        fedi = d.kind == "activitypub" and self.fediverse is not None
        delay = max(self._backoff(d), retry_after(answer.headers.get("retry-after"), now))
        if fedi:  # an inbox that is down gets everything when it is back, for FEEDSVC_FEDIVERSE_MAX_AGE
            give_up = now + delay - d.created > self.fediverse.max_age
        elif d.kind == "webhook":
            give_up = now + delay - d.created > lim.webhook_max_age
        else:  # a hub that refuses the request itself will refuse it again
            give_up = d.attempts + 1 >= lim.websub_retries or (400 <= answer.status < 500 and answer.status not in (408, 429))
        if give_up:
            return self._outcome(d, "given_up", f"{error}; gave up after {d.attempts + 1} attempt(s)", now)
        self._record(d, lambda: self.queue.retry(d, now + delay, error, now))
        log.info("outbox: %s %s to %s failed (%s); retry in %.1f s", d.kind, d.id, d.dest, error, delay)
        return self._count(d, "retried")

    def _outcome(self, d: Delivery, outcome: str, error: str, now: float) -> str:
        self._record(d, lambda: self.queue.drop(d, error, now))
        log.warning("outbox: %s %s to %s: %s", d.kind, d.id, d.dest, error)
        return self._count(d, outcome)

    @staticmethod
    def _count(d: Delivery, outcome: str) -> str:
        DELIVERIES.labels(d.kind, d.dest, outcome).inc()
        return outcome
