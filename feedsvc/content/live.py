"""The reloader and the readers: one process keeps the database current, every process reads it.

The writer (the gunicorn master under ``preload_app``, or this process's own thread)
applies what inotify reports every ``interval`` seconds, in one transaction per reload.
Readers take a pooled connection per request, open a read transaction (one consistent
snapshot for the whole request) and notice a new content state by one primary-key read;
workers are never re-forked. Faults the writer cannot record in the database (a full
disk) reach the readers through a small shared memory block made before the fork.

Readers open the file read-only (they never create nor write it) and keep reading the
file they have while the one at the path is missing, unreachable or not yet complete: a
deleted or replaced file is still theirs until the writer puts a good one in place.
"""

from __future__ import annotations

import dataclasses
import logging
import mmap
import os
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import orjson

from .errors import FeedsvcError, NoContentYet
from .index import Header, Index, read_header
from .loader import Loader, Progress
from .scan import POSTS_DIR
from .store.dbfile import MEMORY
from .store.schema import connect
from .watch import Watcher

log = logging.getLogger("feedsvc.content")
Listener = Callable[[Index, Index], None]
ReloadListener = Callable[[Index, float, bool], None]

#: With a watcher, still rescan every file this often (seconds): changes inotify cannot
#: report (a network file system, the target of a symlinked file) are picked up too.
FULL_SCAN_EVERY = 60.0
#: Reader connections kept per process (more requests at once wait for one).
POOL_SIZE = 8
#: The shortest wait between reloads when a scheduled instant is due (a failing reload never spins).
MIN_WAIT = 0.01
#: How long a reader waits for another writer's first load of an empty database (seconds).
FIRST_LOAD_WAIT = 600.0
#: Seconds a client is asked to wait when no good database can be read at all (HTTP Retry-After).
RETRY_AFTER = 2
#: Connections inherited from a parent process: never used nor closed in the child (closing
#: one would let SQLite act on the parent's locks and WAL), kept referenced for good.
_INHERITED: list[object] = []


def _file_id(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _open_reader(path: str) -> sqlite3.Connection | None:
    """A read-only connection to the database at ``path`` if it holds content, else None."""
    try:
        conn = connect(path, readonly=True)
    except sqlite3.Error:
        return None
    try:
        if conn.execute("SELECT 1 FROM meta WHERE key = 'site'").fetchone() is not None:
            return conn
    except sqlite3.Error:
        pass
    conn.close()
    return None


class ContentUnavailable(FeedsvcError):
    """No good state of the database can be read in this process right now (answered 503, retried)."""


class Status:
    """The writer's degraded reasons, shared with forked readers through an anonymous shared mapping."""

    SIZE = 1 << 16

    def __init__(self) -> None:
        self._map = mmap.mmap(-1, self.SIZE)
        self._seen = -1
        self._value: tuple[str, ...] = ()

    def write(self, reasons: list[str]) -> None:
        body = orjson.dumps(reasons)[: self.SIZE - 16]
        seq = struct.unpack_from("Q", self._map, 0)[0]
        struct.pack_into("Q", self._map, 0, seq + 1)  # odd: being written
        struct.pack_into("I", self._map, 8, len(body))
        self._map[16:16 + len(body)] = body
        struct.pack_into("Q", self._map, 0, seq + 2)

    def read(self) -> tuple[str, ...] | None:
        """The reasons last written, or None when no writer ever wrote here."""
        seq = struct.unpack_from("Q", self._map, 0)[0]
        if seq == 0:
            return None
        if seq != self._seen and seq % 2 == 0:
            size = struct.unpack_from("I", self._map, 8)[0]
            body = bytes(self._map[16:16 + size])
            if struct.unpack_from("Q", self._map, 0)[0] == seq:
                try:
                    self._value = tuple(orjson.loads(body))
                    self._seen = seq
                except orjson.JSONDecodeError:
                    pass
        return self._value


class LiveIndex:
    """The current content of one directory, kept up to date and readable from any thread or worker."""

    def __init__(self, loader: Loader, interval: float, progress: Progress | None = None, watch: bool = True) -> None:
        self.loader = loader
        self.interval = interval
        self.watch = watch
        self.status = Status()
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
        self._pool: list[tuple[sqlite3.Connection, tuple[int, int] | None]] = []
        self._pool_pid = os.getpid()
        self._pool_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(POOL_SIZE)
        self._ids: dict[int, tuple[int, int] | None] = {}
        #: The database file this process's readers read (the newest good one seen at the path).
        self._reading: tuple[int, int] | None = None
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
            conn = self._acquire()
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
            self._release(conn)

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
        conn = self._acquire()
        try:
            try:
                conn.execute("BEGIN")
                index = self._fresh(conn)
            except sqlite3.Error as exc:
                self._rollback(conn)
                raise ContentUnavailable(f"index database {self.loader.database.path} cannot be read ({exc})") from exc
            try:
                yield index
            finally:
                self._rollback(conn)
        finally:
            self._release(conn)

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        """End a read transaction, whatever state the file is in."""
        if conn.in_transaction:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error:
                pass

    def _fresh(self, conn: sqlite3.Connection, owner: object = None) -> Index:
        owner = owner if owner is not None else self
        index = read_header(conn, self.loader.database.path, previous=self._header, owner=owner)
        reasons = self.status.read()
        if reasons is not None and reasons != index.degraded:
            index = Index(dataclasses.replace(index.header, degraded=reasons), conn, owner)
        self._header = index.header
        return index

    def _acquire(self) -> sqlite3.Connection:
        if self._pool_pid != os.getpid():
            self._new_pool()
        self._slots.acquire()
        try:
            return self._pooled()
        except BaseException:
            self._slots.release()
            raise

    def _new_pool(self) -> None:
        """A forked worker's own pool, with locks made now: after gevent's monkey-patching they
        are greenlet locks (a native semaphore inherited from the master would block the
        whole worker while one greenlet waits for a connection another holds)."""
        with self._pool_lock:
            if self._pool_pid == os.getpid():
                return
            _INHERITED.extend(self._pool)  # the parent's: never used nor closed here
            self._pool = []
            self._slots = threading.BoundedSemaphore(POOL_SIZE)
            self._ids = {}
            self._reading = None
            self._pool_pid = os.getpid()
        self._pool_lock = threading.Lock()

    def _pooled(self) -> sqlite3.Connection:
        """A reader connection to the newest good database file.

        A new file at the path (rebuilt, replaced) is used once it holds content; until then,
        and while the path is missing or unreachable, the connections to the file read so
        far go on serving it (an unlinked file stays readable while open).
        """
        path = self.loader.database.path
        current = _file_id(path)
        with self._pool_lock:
            if current is not None and current != self._reading:
                fresh = _open_reader(path)
                if fresh is not None:
                    for old, _ in self._pool:
                        old.close()  # the file it reads was deleted or replaced
                    self._pool = []
                    self._reading = current
                    self._ids[id(fresh)] = current
                    return fresh
            if self._pool:
                conn, file_id = self._pool.pop()
                self._ids[id(conn)] = file_id
                return conn
        another = _open_reader(path) if current is not None and current == self._reading else None
        if another is None:
            raise ContentUnavailable(f"index database {path} cannot be read now")
        self._ids[id(another)] = current
        return another

    def _release(self, conn: sqlite3.Connection) -> None:
        with self._pool_lock:
            file_id = self._ids.pop(id(conn), None)
            if self._pool_pid == os.getpid() and file_id == self._reading:
                self._pool.append((conn, file_id))
            elif self._pool_pid == os.getpid():
                conn.close()  # it reads a file another one has replaced
        self._slots.release()

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

    def _wait(self) -> float:
        """Seconds until the next reload: the interval, or less when a post's date or expiry comes first."""
        nxt = self._index.header.next_change
        if nxt is None:
            return self.interval
        return max(MIN_WAIT, min(self.interval, nxt - self.loader.now()))

    def _boundary_reached(self) -> bool:
        """Whether the writer's clock reached the next scheduled date or expiry (schedule.py)."""
        nxt = self._index.header.next_change
        return nxt is not None and self.loader.now() >= nxt

    def _run(self) -> None:
        watcher = self._watcher
        if watcher is not None and watcher.pid != os.getpid():
            watcher = None  # opened by the parent of this forked process: not ours to read
        if watcher is None and self.watch:
            watcher = Watcher.open(self.loader.root, POSTS_DIR)  # its first answer: rescan
        self._watcher = None
        self.loader.pace_by_clock = True  # reloads never date a change ahead of the clock
        last_full = time.monotonic()
        pending: set[str] = set()  # changes reported but not yet applied (a reload failed)
        try:
            while not self._stop.wait(self._wait()):
                paths: set[str] | None = None
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
