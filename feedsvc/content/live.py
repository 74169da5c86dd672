"""The live index: one process keeps the database current, every process reads it.

The writer (the gunicorn master under ``preload_app``, or this process's own thread)
applies what inotify reports every ``interval`` seconds (reloader.py), in one transaction
per reload. Readers take a pooled connection per request (readers.py), open a read transaction (one
consistent snapshot for the whole request) and notice a new content state by one
primary-key read; workers are never re-forked.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .errors import ContentUnavailable, NoContentYet
from .forkgate import GATE
from .index import Header, Index, read_header
from .loader import Loader, Progress
from .readers import Heartbeat, ReaderPool, Status, end_read
from .reloader import Reloader
from .scan import POSTS_DIR
from .store.dbfile import MEMORY
from .store.schema import connect
from .watch import Watcher

log = logging.getLogger("feedsvc.content")
Listener = Callable[[Index, Index], None]
ReloadListener = Callable[[Index, float, bool], None]

#: How long a reader waits for another writer's first load of an empty database (seconds).
FIRST_LOAD_WAIT = 600.0
#: Seconds without a turn of the writer's reload loop (beyond ten intervals) before /healthz says so.
STALL_AFTER = 30.0
#: Seconds a client is asked to wait when no good database can be read at all (HTTP Retry-After).
RETRY_AFTER = 2


class LiveIndex:
    """The current content of one directory, kept up to date and readable from any thread or worker."""

    def __init__(self, loader: Loader, interval: float, progress: Progress | None = None, watch: bool = True) -> None:
        self.loader = loader
        self.interval = interval
        self.watch = watch
        # A large load's full text is written by the reload thread, a step per turn; without
        # one (no reloading) every load writes it at once.
        loader.defer_search = interval > 0
        self.status = Status()
        self.heartbeat = Heartbeat()
        # Watching starts before the first load, so the reload thread of this process
        # needs no full scan to catch up: whatever changed since is in the queue.
        self._watcher = Watcher.open(loader.root, POSTS_DIR, before_load=True) if watch and interval > 0 else None
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._reload_listeners: list[ReloadListener] = []
        self._writer_listeners: list[Callable[[], None]] = []
        self._pid: int | None = None
        self._stop = threading.Event()
        #: Set in a process that reloads for its forked children (a gunicorn master).
        self.reloaded_by_parent = False
        self._readers = ReaderPool(loader.database)
        self._memory_lock = threading.RLock()
        self._header: Header | None = None
        self._index = self._first_load(progress)

    def _first_load(self, progress: Progress | None) -> Index:
        deadline = time.monotonic() + FIRST_LOAD_WAIT
        database = self.loader.database
        while True:
            try:
                index = self.loader.load_in_child(progress)
            except NoContentYet:  # only that: any other error of the load is not waited out
                if self.loader.unreadable is not None:
                    # posts/ cannot be read and nothing was ever loaded from it: no other database
                    # file helps, nor waiting for another process; the error names the directory.
                    fault = self.loader.unreadable
                    where, why = fault.filename or self.loader.root, fault.strerror or fault
                    raise ContentUnavailable(f"{where}: file: cannot read: {why} (nothing was loaded yet)") from None
                if database.writer and database.path != MEMORY:  # our own first load could not be written
                    database.fall_back(self.loader.unwritable or "the first load could not be written")
                    continue
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)  # another process writes the first load of this database
                continue
            if self.loader.unwritable is not None and database.path != MEMORY:
                database.fall_back(self.loader.unwritable)  # a disk too small for the whole index
                continue
            self._publish_status(index)
            self._header = index.header
            return index

    @property
    def last_header(self) -> Header | None:
        """What the last state this process read said (None before the first read)."""
        return self._header

    def _publish_status(self, index: Index) -> None:
        if self.loader.database.writer:
            self.status.write(list(index.degraded))

    # -- readers -----------------------------------------------------------------------------
    @property
    def current(self) -> Index:
        """The newest content, outside a request (CLI, listeners, tests): autocommit reads.

        The Index owns its connection (closed when it is dropped), so it never shares one with
        a request's read transaction.
        """
        self._ensure_thread()
        if self.loader.database.path == MEMORY:
            with self._memory_lock:
                return self._fresh(self.loader.conn)
        try:
            conn = connect(self.loader.database.path, readonly=True)
            return self._fresh(conn, owner=conn)
        except sqlite3.Error as exc:
            raise ContentUnavailable(f"index database {self.loader.database.path} cannot be read ({exc})") from exc

    def version(self) -> str:
        """The current content version, from one primary-key read (the fast path asks on every request)."""
        self._ensure_thread()
        if self.loader.database.path == MEMORY:
            with self._memory_lock:
                return self._fresh(self.loader.conn).version
        try:
            conn = self._readers.acquire()
        except ContentUnavailable:
            if self._header is None:
                raise
            return self._header.version  # the last good state's (cached answers of it stay valid)
        try:
            return self._fresh(conn).version
        except sqlite3.Error:
            if self._header is None:
                raise
            return self._header.version
        finally:
            self._readers.release(conn)

    def _ensure_thread(self) -> None:
        """Start this process's reload thread if it is the one that reloads and has none yet."""
        if self.interval > 0 and self._pid != os.getpid() and not self.reloaded_by_parent:
            self._start()

    @contextmanager
    def snapshot(self) -> Iterator[Index]:
        """One consistent Index for the length of a request (a read transaction on a pooled connection)."""
        self._ensure_thread()
        if self.loader.database.path == MEMORY:
            with self._memory_lock:
                yield self._fresh(self.loader.conn)
            return
        conn = self._readers.acquire()
        try:
            try:
                conn.execute("BEGIN")
                index = self._fresh(conn)
            except sqlite3.Error as exc:
                end_read(conn)
                raise ContentUnavailable(f"index database {self.loader.database.path} cannot be read ({exc})") from exc
            try:
                yield index
            finally:
                end_read(conn)
        finally:
            self._readers.release(conn)

    def _fresh(self, conn: sqlite3.Connection, owner: object = None) -> Index:
        owner = owner if owner is not None else self
        index = read_header(conn, self.loader.database.path, previous=self._header, owner=owner)
        reasons = self.status.read()
        if reasons is not None and reasons != index.degraded:
            index = Index(dataclasses.replace(index.header, degraded=reasons), conn, owner)
        self._header = index.header
        return index

    # -- the writer --------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(old, new)`` in the writing process after every reload that changed the content."""
        self._listeners.append(listener)

    def on_reload(self, callback: ReloadListener) -> None:
        """Call ``callback(index, seconds, changed)`` after every reload attempt in the writing process."""
        self._reload_listeners.append(callback)

    def refresh(self, paths: set[str] | None = None) -> Index:
        """Reload now (only changed files are parsed) and return the current Index.

        ``paths``: only these files (relative to the content directory) changed; None
        looks at them all.
        """
        with self._lock:
            old = self._pin(self._index) if self._listeners else self._index
            t0 = time.monotonic()
            with self._memory_lock:
                new = self.loader.load(paths=paths)
            spent = time.monotonic() - t0
            self._publish_status(new)
            self._index = new
            changed = new.version != old.version
            if changed:
                log.info("content reloaded: %d posts, version %s", len(new.posts), new.version)
                pinned = self._pin(new)
                for listener in self._listeners:
                    try:
                        listener(old, pinned)
                    except Exception:  # a listener must never stop reloading
                        log.exception("content change listener failed")
        for callback in self._reload_listeners:
            try:
                callback(new, spent, changed)
            except Exception:
                log.exception("reload listener failed")
        return new

    def _pin(self, fallback: Index) -> Index:
        """The content as it is now, held still whatever later reloads write, for as long as it is referenced.

        Listeners (WebSub) compare the states before and after a reload in a background
        thread: each gets its own connection in a read transaction (WAL keeps its snapshot),
        closed when the Index is dropped. ``fallback`` when the file at the path cannot be
        opened now (deleted, its directory taken away: a reload rebuilds it or reports it).
        """
        try:
            return self._pinned()
        except sqlite3.Error:
            return fallback

    def _pinned(self) -> Index:
        if self.loader.database.path == MEMORY:
            conn = sqlite3.connect(MEMORY, check_same_thread=False)
            with self._memory_lock:
                self.loader.conn.backup(conn)
        else:
            conn = connect(self.loader.database.path, readonly=True)
            conn.execute("BEGIN")  # WAL: this transaction keeps seeing the state it started in
        return read_header(conn, self.loader.database.path, owner=conn)

    def on_writer(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` in the process that keeps the database current, when its reload thread starts
        (at once when it already runs here: the first read of the content may have started it)."""
        self._writer_listeners.append(callback)
        if self._pid == os.getpid() and self.loader.database.writer:
            self._call_writer_listener(callback)

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._stop = threading.Event()
            threading.Thread(target=self._run, name="feedsvc-reload", daemon=True).start()
            GATE.close_at_exit()  # its reloads end before the database's connection closes at exit
        if self.loader.database.writer:
            for callback in self._writer_listeners:
                self._call_writer_listener(callback)

    @staticmethod
    def _call_writer_listener(callback: Callable[[], None]) -> None:
        try:
            callback()
        except Exception:  # a writer-side service must never stop reloading
            log.exception("writer listener failed")

    def reload_for_children(self) -> None:
        """Reload in this process only, for the worker processes forked from it (which only read).

        A database in this process's memory (the last fallback) cannot be read by others:
        then each forked worker keeps its own copy up to date itself.
        """
        self.reloaded_by_parent = self.loader.database.path != MEMORY
        if self.interval > 0:
            self._start()

    def stop(self) -> None:
        """Stop the reload thread of this process."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None

    def _run(self) -> None:
        watcher = self._watcher
        if watcher is not None and watcher.pid != os.getpid():
            watcher = None  # opened by the parent of this forked process: not ours to read
        self._watcher = None
        Reloader(
            self.loader, self.refresh, self.interval, self.watch, lambda: self._index.header.next_change, self.heartbeat.beat
        ).run(watcher, self._stop)

    def stalled(self) -> str | None:
        """Why the content may no longer follow the files: the writer's reload loop has not gone round for
        STALL_AFTER seconds plus ten intervals (a reload stuck on a hung mount, the writer stopped), or None."""
        age = self.heartbeat.age()
        if self.interval <= 0 or age is None or age < STALL_AFTER + 10 * self.interval:
            return None
        return (
            f"content reloads: the writer has not looked at the content for {int(age)} s (a reload stuck, "
            "or the writer process stopped): serving what it last published"
        )
