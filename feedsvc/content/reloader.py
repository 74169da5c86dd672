"""The writer's reload loop: when to reload (an interval, a scheduled instant, a periodic full rescan) and which files.

Runs in the thread of the one process that keeps the database current (``LiveIndex``):
every ``interval`` seconds, or sooner when a post's date or expiry comes first, it asks
inotify (watch.py) which files changed and reloads only those (and writes a step of the
full text a large load left, store/fulltext.py); every ``FULL_SCAN_EVERY``
seconds, or while watching fails, it rescans every file. Changes a failed reload could not
apply are tried again at the next one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .forkgate import GATE
from .loader import Loader
from .scan import POSTS_DIR
from .watch import Watcher

log = logging.getLogger("feedsvc.content")

#: With a watcher, still rescan every file this often (seconds): changes inotify cannot
#: report (a network file system, the target of a symlinked file) are picked up too.
FULL_SCAN_EVERY = 60.0
#: The shortest wait between reloads when a scheduled instant is due (a failing reload never spins).
MIN_WAIT = 0.01


class Reloader:
    """Reloads ``loader``'s content through ``refresh(paths)`` until stopped.

    ``next_change``: the next scheduled date or expiry of the current content (POSIX
    seconds, schedule.py), or None.
    """

    def __init__(
        self,
        loader: Loader,
        refresh: Callable[[set[str] | None], object],
        interval: float,
        watch: bool,
        next_change: Callable[[], float | None],
        beat: Callable[[], None] = lambda: None,
    ) -> None:
        self.loader = loader
        self.refresh = refresh
        self.interval = interval
        self.watch = watch
        self.next_change = next_change
        #: Called at every turn of the loop (readers.Heartbeat): a reload that never returns stops it.
        self.beat = beat
        #: The last step of a large load's full text left more to write (``Loader.fill_search``).
        self._filling = False

    def _wait(self) -> float:
        """Seconds until the next reload: the interval, or less when a post's date or expiry comes first,
        or the shortest wait while a large load's full text is being written (a step per turn).
        """
        if self._filling:
            return MIN_WAIT
        nxt = self.next_change()
        if nxt is None:
            return self.interval
        return max(MIN_WAIT, min(self.interval, nxt - self.loader.now()))

    def _boundary_reached(self) -> bool:
        """Whether the writer's clock reached the next scheduled date or expiry (schedule.py)."""
        nxt = self.next_change()
        return nxt is not None and self.loader.now() >= nxt

    def run(self, watcher: Watcher | None, stop: threading.Event) -> None:
        """Reload until ``stop`` is set; ``watcher``: one opened before the first load (closed here)."""
        if watcher is None and self.watch:
            watcher = Watcher.open(self.loader.root, POSTS_DIR)  # its first answer: rescan
        self.loader.pace_by_clock = True  # reloads never date a change ahead of the clock
        last_full = time.monotonic()
        pending: set[str] = set()  # changes reported but not yet applied (a reload failed)
        try:
            self.beat()
            while not stop.wait(self._wait()):
                self.beat()
                paths: set[str] | None = None
                with GATE.work():  # a fork of the master waits for this pass (forkgate.py)
                    try:
                        self._filling = self.loader.fill_search() > 0
                    except Exception:  # never stops reloading
                        self._filling = False
                        log.exception("full-text index: a step failed; tried again at the next reload")
                    try:
                        boundary = self._boundary_reached()
                        due = time.monotonic() - last_full >= FULL_SCAN_EVERY
                        if watcher is None and self.watch and due:
                            watcher = Watcher.open(self.loader.root, POSTS_DIR)  # watching may work again
                        if watcher is not None and not due:
                            try:
                                paths = watcher.changes()
                            except OSError as exc:
                                log.warning("content changes: watching failed (%s); rescanning until it works again", exc)
                                watcher.close()
                                watcher = None
                            if paths is not None:
                                paths |= pending
                                if not paths and not boundary and not self.loader.due():
                                    continue  # nothing changed, no post's date or expiry came, the database is as we left it
                        if paths is None:
                            last_full = time.monotonic()
                        self.refresh(paths)
                        pending = set(paths or ()) if self.loader.failed else set()
                    except Exception:  # keep serving the last good content whatever happens
                        pending |= paths or set()
                        log.exception("content reload failed; serving the last good content")
        finally:
            if watcher is not None:
                watcher.close()
