"""The index database file: opened or created, locked for one writer, rebuilt or replaced when it cannot serve.

Only one process writes a database: a lock file beside it (``flock``) keeps a second
writer off; a process that cannot take the lock only reads. A corrupt, foreign or deleted
file is rebuilt; a directory that cannot be written, or a disk too small for the first
load, falls back to ``/dev/shm``, then to this process's memory, each fallback named in
``problems`` (reported as degraded).

While running, the file at the path is checked before every reload (``fault``): a file
deleted, replaced, truncated or overwritten, or whose -wal or -shm file was deleted (the
writer would commit where no new reader looks), is rebuilt beside it and renamed into
place only once it is complete, so readers go on reading the last good file until then; a
directory that cannot be reached is reported and the open connection kept. Forked
children (gunicorn workers) close their copy of the lock file, so the writer can always
take it again.
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

from .schema import WRITER_CACHE_KB, connect, prepare

log = logging.getLogger("feedsvc.content")
MEMORY = ":memory:"
#: Every open Database of this process, so a forked child can drop the writer's lock (see ``_after_fork``).
_OPEN: weakref.WeakSet[Database] = weakref.WeakSet()
#: What a forked child inherited from its parent's databases: never used nor closed in the child.
_INHERITED: list[Any] = []


def file_id(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``, None when there is none: tells a file replaced or set aside."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class Database:
    """The index database file, the writer lock beside it, and the fallbacks when it cannot be used."""

    def __init__(self, path: str | os.PathLike[str], parser_version: str) -> None:
        self.problems: list[str] = []
        self.path = str(path)
        #: Whether the writer's connection is in WAL mode (then -wal and -shm must stay beside the file).
        self._wal = False
        #: The parser's version: a database written by another is rebuilt (schema.prepare).
        self.parser_version = parser_version
        self._lock_file: IO[bytes] | None = None
        self._held: list[Any] = []  # what the finalizer closes: the connection and the lock file
        self.conn = self._open()
        self._held.append(self.conn)
        self._finalizer = weakref.finalize(self, _close_all, self._held)
        self._inode = file_id(self.path)
        self._sig = self._stat_sig()
        #: Set around a fork whose child writes for this process (``Loader.load_in_child``).
        self.keep_lock_in_child = False
        self._rebuilding: tuple[sqlite3.Connection, str, list[Any], Any] | None = None
        _OPEN.add(self)

    def _companion_gone(self) -> str | None:
        """The -wal or -shm file SQLite keeps beside our WAL database, deleted under us (no new reader can open it)."""
        return next((s for s in ("-wal", "-shm") if self._wal and not os.path.exists(self.path + s)), None)

    def _stat_sig(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns

    def settled(self) -> None:
        """Note the file as this process left it (after a reload): any later change is someone else's."""
        if self.writer and self.path != MEMORY:
            sig = self._stat_sig()
            if sig is not None:
                self._sig = sig

    def moved(self) -> bool:
        """Whether the file at our path is not as this process left it (cheap: one stat)."""
        return self.path != MEMORY and self.writer and (self._stat_sig() != self._sig or self._companion_gone() is not None)

    def fault(self) -> tuple[str | None, bool]:
        """What is wrong with the file at our path, and whether it must be rebuilt.

        (None, False): all is well. A directory that cannot be reached keeps the open
        connection (the file is still good); a deleted, replaced, truncated or corrupt
        file is rebuilt.
        """
        if self.path == MEMORY or not self.writer:
            return None, False
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return f"index database {self.path} was deleted", True
        except OSError as exc:
            return (f"index database {self.path} cannot be reached ({exc.strerror or exc}): serving the last good content", False)
        if (st.st_dev, st.st_ino) != self._inode:
            return f"index database {self.path} was replaced", True
        gone = self._companion_gone()
        if gone is not None:  # the writer commits into a file nobody else can open any more
            return f"index database {self.path}: its {gone} file was deleted", True
        if (st.st_ino, st.st_size, st.st_mtime_ns) == self._sig:
            return None, False
        damage = _damage(self.path)  # written by someone else: still a good database?
        if damage is not None:
            return f"index database {self.path} is damaged ({damage})", True
        self._sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        return None, False

    def begin_rebuild(self) -> None:
        """Start a new, empty database beside the file (renamed over it by ``finish_rebuild``).

        A database in this process's memory is rebuilt in memory (never into a file named
        after it in the working directory).
        """
        building = self.path if self.path == MEMORY else self.path + ".rebuild"
        if building != MEMORY:
            for suffix in ("", "-wal", "-shm"):
                Path(building + suffix).unlink(missing_ok=True)
        conn = self._prepare(connect(building))
        self._rebuilding = (self.conn, building, self._held, self._finalizer)
        self.conn = conn
        self._held = [conn]
        self._finalizer = weakref.finalize(self, _close_all, self._held)

    def abandon_rebuild(self) -> None:
        """The rebuild failed (a full disk, a directory taken away): go on with the old connection."""
        if self._rebuilding is None:
            return
        old, building, held, finalizer = self._rebuilding
        self._rebuilding = None
        self._finalizer()
        self.conn, self._held, self._finalizer = old, held, finalizer
        for suffix in ("", "-wal", "-shm") if building != MEMORY else ():
            try:
                Path(building + suffix).unlink(missing_ok=True)
            except OSError:
                pass

    def finish_rebuild(self) -> None:
        """Put the complete new database in place of the old one, in one rename; readers move to it."""
        assert self._rebuilding is not None
        old, building, held, finalizer = self._rebuilding
        if building == MEMORY:  # the new connection is the database: the old one goes
            self._rebuilding = None
            for thing in held:
                thing.close()
            finalizer.detach()
            return
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._finalizer()  # the last connection: SQLite folds its WAL into the file and removes it
        for suffix in ("-wal", "-shm"):  # the old file's: they must never pair with the new one
            Path(self.path + suffix).unlink(missing_ok=True)
        os.replace(building, self.path)
        self._rebuilding = None
        for thing in held:
            if thing is not self._lock_file:
                thing.close()
        finalizer.detach()
        self.conn = self._prepare(connect(self.path))
        self._held = [self.conn] + ([self._lock_file] if self._lock_file is not None else [])
        self._finalizer = weakref.finalize(self, _close_all, self._held)
        self._inode = file_id(self.path)
        self._sig = self._stat_sig()

    def fall_back(self, reason: str) -> None:
        """This location cannot take the content (a disk too small): use the next fallback, empty."""
        log.error("index database %s cannot hold the content (%s): falling back", self.path, reason)
        self.problems.append(f"index database {self.path} cannot hold the content ({reason})")
        self._finalizer()
        self._lock_file = None
        for suffix in ("", "-wal", "-shm"):
            try:
                Path(self.path + suffix).unlink(missing_ok=True)
            except OSError:
                pass
        tmpfs = self._tmpfs_path()
        self.path = tmpfs if tmpfs is not None else MEMORY
        self._held = []
        self.conn = self._open()
        if self.path == tmpfs:
            self.problems.append(f"index database kept in memory at {tmpfs} (tmpfs)")
        self._held.append(self.conn)
        self._finalizer = weakref.finalize(self, _close_all, self._held)
        self._inode = file_id(self.path)
        self._sig = self._stat_sig()

    def _after_fork(self) -> None:
        """In a forked child: drop the parent's lock (the child only reads) and never close its connection."""
        if self.keep_lock_in_child:
            return
        self._finalizer.detach()
        _INHERITED.extend(thing for thing in self._held if thing is not self._lock_file)
        if self._lock_file is not None:
            self._lock_file.close()  # the parent still holds the lock through its own descriptor
            self._lock_file = None
        self._held = []
        self._finalizer = weakref.finalize(self, _close_all, self._held)

    def _open(self) -> sqlite3.Connection:
        if self.path == MEMORY:
            return self._prepare(connect(MEMORY))
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
        return self._prepare(connect(MEMORY))

    def _tmpfs_path(self) -> str | None:
        if self.path == MEMORY or not os.path.isdir("/dev/shm") or self.path.startswith("/dev/shm/"):
            return None
        return f"/dev/shm/feedsvc-{hashlib.sha256(self.path.encode()).hexdigest()[:16]}.sqlite3"

    def _prepare(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        prepare(conn, self.parser_version)
        self._wal = conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KB}")
        return conn

    def _prepare_or_rebuild(self, path: str) -> sqlite3.Connection:
        """Open ``path`` as ours; a corrupt or foreign file is deleted and created afresh."""
        conn = connect(path)
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
            conn = connect(path)
            return self._prepare(conn)

    def _take_lock(self, path: str) -> None:
        fh = open(path + ".lock", "ab")  # held for the life of the process
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

    def reopen(self) -> None:
        """A connection of this process's own to the same file (a forked child that writes for its parent)."""
        self.conn = connect(self.path)
        self.conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KB}")

    def close(self) -> None:
        """Release the connection and the lock."""
        self._finalizer()
        self._lock_file = None


def corrupt(exc: sqlite3.Error) -> bool:
    """Whether an error means the database file is damaged (rebuilt), not merely unwritable now."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.DatabaseError) and ("malformed" in text or "not a database" in text)


def _damage(path: str) -> str | None:
    """Why the database file at ``path`` cannot serve (read through a fresh read-only connection), or None."""
    try:
        conn = connect(path, readonly=True)
    except sqlite3.Error as exc:
        return str(exc)
    try:
        check = conn.execute("PRAGMA quick_check(1)").fetchone()
        if check is None or check[0] != "ok":
            return f"integrity check: {check[0] if check else 'no answer'}"
        if conn.execute("SELECT value FROM meta WHERE key = 'site'").fetchone() is None:
            return "it holds no content"
    except sqlite3.Error as exc:
        return str(exc)
    finally:
        conn.close()
    return None


def _close_all(held: list[Any]) -> None:
    for thing in held:
        thing.close()


def _after_fork() -> None:
    for database in list(_OPEN):
        database._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
