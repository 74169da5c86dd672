"""The readers' side of the database file: this process's pool of read-only connections, and the writer's faults.

Readers open the file read-only (they never create nor write it) and keep reading the
file they have while the one at the path is missing, unreachable or not yet complete: a
deleted or replaced file is still theirs until the writer puts a good one in place. A
forked worker makes a pool of its own (its parent's connections are never used nor closed
in it). Faults the writer cannot record in the database (a full disk) reach the readers
through ``Status``, a small shared memory block made before the fork; ``Heartbeat`` tells them
whether the writer's reload loop still goes round.
"""

from __future__ import annotations

import mmap
import os
import sqlite3
import struct
import threading
import time

import orjson

from .errors import ContentUnavailable
from .store.dbfile import Database, file_id
from .store.schema import connect

#: Reader connections kept per process (more requests at once wait for one).
POOL_SIZE = 8
#: Connections inherited from a parent process: never used nor closed in the child (closing
#: one would let SQLite act on the parent's locks and WAL), kept referenced for good.
_INHERITED: list[object] = []


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


def end_read(conn: sqlite3.Connection) -> None:
    """End a read transaction, whatever state the file is in."""
    if conn.in_transaction:
        try:
            conn.execute("COMMIT")
        except sqlite3.Error:
            pass


class ReaderPool:
    """This process's read-only connections to the newest good file at the database's path."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._pool: list[tuple[sqlite3.Connection, tuple[int, int] | None]] = []
        self._pool_pid = os.getpid()
        self._pool_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(POOL_SIZE)
        self._ids: dict[int, tuple[int, int] | None] = {}
        #: The database file this process's readers read (the newest good one seen at the path).
        self._reading: tuple[int, int] | None = None

    def acquire(self) -> sqlite3.Connection:
        """A connection to the newest good file (waits while POOL_SIZE are out); give it back with ``release``."""
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
        path = self._database.path
        current = file_id(path)
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
                conn, fid = self._pool.pop()
                self._ids[id(conn)] = fid
                return conn
        another = _open_reader(path) if current is not None and current == self._reading else None
        if another is None:
            raise ContentUnavailable(f"index database {path} cannot be read now")
        self._ids[id(another)] = current
        return another

    def release(self, conn: sqlite3.Connection) -> None:
        """Take back a connection of ``acquire`` (closed when it reads a file since replaced)."""
        with self._pool_lock:
            fid = self._ids.pop(id(conn), None)
            if self._pool_pid == os.getpid() and fid == self._reading:
                self._pool.append((conn, fid))
            elif self._pool_pid == os.getpid():
                conn.close()  # it reads a file another one has replaced
        self._slots.release()


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
        self._map[16 : 16 + len(body)] = body
        struct.pack_into("Q", self._map, 0, seq + 2)

    def read(self) -> tuple[str, ...] | None:
        """The reasons last written, or None when no writer ever wrote here."""
        seq = struct.unpack_from("Q", self._map, 0)[0]
        if seq == 0:
            return None
        if seq != self._seen and seq % 2 == 0:
            size = struct.unpack_from("I", self._map, 8)[0]
            body = bytes(self._map[16 : 16 + size])
            if struct.unpack_from("Q", self._map, 0)[0] == seq:
                try:
                    self._value = tuple(orjson.loads(body))
                    self._seen = seq
                except orjson.JSONDecodeError:
                    pass
        return self._value


class Heartbeat:
    """When the writer's reload loop last went round (CLOCK_MONOTONIC, one clock for every process on the
    host), shared with forked readers like ``Status``: a loop stuck in a reload (a hung mount) stops it."""

    def __init__(self) -> None:
        self._map = mmap.mmap(-1, 8)

    def beat(self) -> None:
        struct.pack_into("d", self._map, 0, time.monotonic())

    def age(self) -> float | None:
        """Seconds since the last beat, or None when the loop never went round (no writer shares this)."""
        last = struct.unpack_from("d", self._map, 0)[0]
        return None if last == 0 else time.monotonic() - last
