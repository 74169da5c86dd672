"""The index database file: opened or created, locked for one writer, rebuilt or replaced when it cannot serve.

Only one process writes a database: a lock file beside it (``flock``) keeps a second
writer off; a process that cannot take the lock only reads. A corrupt, foreign or deleted
file is rebuilt; a directory that cannot be written falls back to ``/dev/shm``, then to
this process's memory, each fallback named in ``problems`` (reported as degraded).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import sqlite3
import weakref
from pathlib import Path
from typing import IO, Any

from . import db

log = logging.getLogger("feedsvc.content")
#: Bumped whenever parsing changes what a post row holds (the database is then rebuilt).
PARSER_VERSION = "10"
MEMORY = ":memory:"
#: The writer's page cache (KiB): a reload touches the same few index pages again and again.
WRITER_CACHE_KB = 32768


class Database:
    """The index database file, the writer lock beside it, and the fallbacks when it cannot be used."""

    def __init__(self, path: str | os.PathLike[str] | None, content_dir: Path) -> None:
        self.problems: list[str] = []
        self.path = str(path) if path is not None else str(db.default_path(content_dir))
        self._lock_file: IO[bytes] | None = None
        self._held: list[Any] = []  # what the finalizer closes: the connection and the lock file
        self.conn = self._open()
        self._held.append(self.conn)
        self._finalizer = weakref.finalize(self, _close_all, self._held)
        self._inode = self._file_id()

    def _file_id(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def replaced(self) -> bool:
        """Whether the file at our path is no longer the one we write (deleted or replaced meanwhile)."""
        return self.path != MEMORY and self.writer and self._file_id() != self._inode

    def rebuild(self, delete: bool) -> None:
        """Start again with a new, empty database at our path (``delete``: remove what is there first)."""
        self._finalizer()
        self._lock_file = None
        if delete and self.path != MEMORY:
            for suffix in ("", "-wal", "-shm"):
                Path(self.path + suffix).unlink(missing_ok=True)
        self.problems = []
        self._held = []
        self.conn = self._open()
        self._held.append(self.conn)
        self._finalizer = weakref.finalize(self, _close_all, self._held)
        self._inode = self._file_id()

    def _open(self) -> sqlite3.Connection:
        if self.path == MEMORY:
            return self._prepare(db.connect(MEMORY))
        for attempt in (self.path, self._tmpfs_path()):
            if attempt is None:
                continue
            try:
                Path(attempt).parent.mkdir(parents=True, exist_ok=True)
                conn = self._prepare_or_rebuild(attempt)
            except (OSError, sqlite3.Error) as exc:
                self.problems.append(f"index database {attempt} cannot be used ({exc})")
                log.error("index database %s cannot be used (%s)", attempt, exc)
                continue
            if attempt != self.path:
                self.problems.append(f"index database kept in memory at {attempt} (tmpfs)")
            self.path = attempt
            return conn
        self.problems.append("index database kept in this process's memory only")
        log.error("index database: falling back to an in-process memory database")
        self.path = MEMORY
        return self._prepare(db.connect(MEMORY))

    def _tmpfs_path(self) -> str | None:
        if self.path == MEMORY or not os.path.isdir("/dev/shm") or self.path.startswith("/dev/shm/"):
            return None
        return f"/dev/shm/feedsvc-{hashlib.sha256(self.path.encode()).hexdigest()[:16]}.sqlite3"

    def _prepare(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        db.prepare(conn, PARSER_VERSION)
        conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KB}")
        return conn

    def _prepare_or_rebuild(self, path: str) -> sqlite3.Connection:
        """Open ``path`` as ours; a corrupt or foreign file is deleted and created afresh."""
        conn = db.connect(path)
        try:
            self._take_lock(path)
            if not self.writer:
                return conn  # the writer prepares it
            self._prepare(conn)
            conn.execute("SELECT count(*) FROM meta").fetchone()
            return conn
        except sqlite3.DatabaseError as exc:
            conn.close()
            if not self.writer:
                raise
            log.error("index database %s is unusable (%s): rebuilding it from the content", path, exc)
            for suffix in ("", "-wal", "-shm"):
                Path(path + suffix).unlink(missing_ok=True)
            conn = db.connect(path)
            return self._prepare(conn)

    def _take_lock(self, path: str) -> None:
        fh = open(path + ".lock", "ab")  # noqa: SIM115 - held for the life of the process
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return
        self._lock_file = fh
        self._held.append(fh)

    @property
    def writer(self) -> bool:
        """Whether this process writes the database (holds the lock, or the database is its own)."""
        return self.path == MEMORY or self._lock_file is not None

    def try_become_writer(self) -> bool:
        """Take the writer's place if the process that had it has gone."""
        if not self.writer:
            self._take_lock(self.path)
            if self.writer:
                self._prepare(self.conn)
        return self.writer

    def close(self) -> None:
        """Release the connection and the lock."""
        self._finalizer()
        self._lock_file = None


def corrupt(exc: sqlite3.Error) -> bool:
    """Whether an error means the database file is damaged (rebuilt), not merely unwritable now."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.DatabaseError) and ("malformed" in text or "not a database" in text)


def _close_all(held: list[Any]) -> None:
    for thing in held:
        thing.close()
