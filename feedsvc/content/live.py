"""A live Index: rebuilt off to the side every few seconds and swapped in whole."""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable

from .index import Index
from .loader import POSTS_DIR, Loader, SiteError
from .watch import Watcher

log = logging.getLogger("feedsvc.content")
Listener = Callable[[Index, Index], None]
#: ``callback(index, seconds, changed)`` after every reload attempt (see ``LiveIndex.on_reload``).
ReloadCallback = Callable[[Index, float, bool], None]


#: With a watcher, still rescan every file this often (seconds): changes inotify cannot
#: report (a network file system, the target of a symlinked file) are picked up too.
FULL_SCAN_EVERY = 60.0


class LiveIndex:
    """Holds the current Index and refreshes it from disk in a background thread.

    Readers just take ``.current``: a reference read, never a lock. The reload thread is
    started lazily in each process, so it also runs in every gunicorn worker after a fork.
    Each interval it asks the kernel which files changed (``watch.Watcher``, inotify) and
    looks at those only; nothing changed costs nothing. Without inotify it rescans.
    """

    def __init__(self, loader: Loader, interval: float, progress: Callable[[int, int], None] | None = None,
                 watch: bool = True) -> None:
        self.loader = loader
        self.interval = interval
        #: Use inotify for change detection where available (False: always rescan).
        self.watch = watch
        # Watching starts before the first load, so the reload thread of this process
        # needs no full scan to catch up: whatever changed since is in the queue.
        self._watcher = Watcher.open(loader.root, POSTS_DIR, before_load=True) if watch and interval > 0 else None
        self._index = loader.load(progress)
        self._had_posts = (loader.root / POSTS_DIR).is_dir()
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._on_reload: list[ReloadCallback] = []
        self._pid: int | None = None
        self._stop = threading.Event()
        #: Set in a process that reloads for its forked children (a gunicorn master):
        #: the children then never scan, they are re-forked with the new index instead.
        self.reloaded_by_parent = False

    @property
    def current(self) -> Index:
        """The newest good snapshot (starts the reload thread in this process if due)."""
        if self.interval > 0 and self._pid != os.getpid() and not self.reloaded_by_parent:
            self._start()
        return self._index

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(old, new)`` after every swap that changed the content."""
        self._listeners.append(listener)

    def on_reload(self, callback: ReloadCallback) -> None:
        """Call ``callback(index, seconds, changed)`` after every reload attempt: the current
        index, the reload's wall seconds, whether the content version changed (metrics)."""
        self._on_reload.append(callback)

    def refresh(self, paths: set[str] | None = None) -> Index:
        """Rescan now (only changed files are parsed) and swap in the result.

        ``paths``: only these files (relative to the content directory) changed; None
        rescans them all.
        """
        t0 = time.perf_counter()
        with self._lock:
            old = self._index
            try:
                new = self.loader.load(paths=paths)
            except SiteError as exc:  # only when site.yaml never loaded: impossible after start
                new = dataclasses.replace(old, degraded=(str(exc),))
            except OSError as exc:
                new = dataclasses.replace(old, degraded=(f"content directory unreadable: {exc}",))
            else:
                if self._had_posts and not (self.loader.root / POSTS_DIR).is_dir():
                    new = dataclasses.replace(old, degraded=("content directory missing: posts/ not found "
                                                             "(serving the last good index)",))
            if new.degraded and not old.degraded:
                log.error("content degraded: %s", "; ".join(new.degraded))
            self._index = new
        seconds = time.perf_counter() - t0
        if new.version != old.version:
            log.info("content reloaded: %d posts, version %s", len(new.posts), new.version)
            for listener in self._listeners:
                try:
                    listener(old, new)
                except Exception:  # a listener must never stop reloading
                    log.exception("content change listener failed")
        for callback in self._on_reload:
            try:
                callback(new, seconds, new.version != old.version)
            except Exception:  # a callback must never stop reloading
                log.exception("reload callback failed")
        return new

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._stop = threading.Event()
            threading.Thread(target=self._run, name="feedsvc-reload", daemon=True).start()

    def reload_for_children(self) -> None:
        """Rescan in this process only, on behalf of processes forked from it later.

        One scan per interval for a whole gunicorn server instead of one per worker, and
        workers that never rebuild anything keep sharing the index pages copy-on-write.
        """
        self.reloaded_by_parent = True
        if self.interval > 0:
            self._start()

    def stop(self) -> None:
        """Stop the reload thread of this process."""
        self._stop.set()
        if self._watcher is not None:  # opened for a thread that never started
            self._watcher.close()
            self._watcher = None

    def _run(self) -> None:
        watcher = self._watcher
        if watcher is not None and watcher.pid != os.getpid():
            watcher = None  # opened by the parent of this forked process: not ours to read
        if watcher is None and self.watch:
            watcher = Watcher.open(self.loader.root, POSTS_DIR)  # its first answer: rescan
        self._watcher = None
        last_full = time.monotonic()
        try:
            while not self._stop.wait(self.interval):
                try:
                    paths: set[str] | None = None
                    if watcher is not None and time.monotonic() - last_full < FULL_SCAN_EVERY:
                        try:
                            paths = watcher.changes()
                        except OSError as exc:
                            log.warning("content changes: watching failed (%s); rescanning every interval", exc)
                            watcher.close()
                            watcher = None
                        if paths is not None and not paths:
                            continue  # the kernel saw nothing change: nothing to look at
                    if paths is None:
                        last_full = time.monotonic()
                    t0 = time.process_time()
                    self.refresh(paths)
                    spent = time.process_time() - t0
                    if spent > 1:
                        log.info("reload scan took %.2fs CPU", spent)
                except Exception:  # keep serving the last good index whatever happens
                    log.exception("content reload failed; serving the last good index")
        finally:
            if watcher is not None:
                watcher.close()
