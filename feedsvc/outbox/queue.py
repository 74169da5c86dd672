"""One durable queue of outbound deliveries (SQLite, WAL), shared by every sender (webhooks, WebSub, ...).

A delivery is a generic job: these bytes, with these headers, to this URL, under a stable
id that every attempt carries. Each destination keeps its own order (the oldest pending
delivery goes first; later ones wait behind it) and its own state (last success, last
error, disabled). The queue lives in its own database file beside the index (which is a
cache that may be rebuilt at any time): the queue is not. Beside the deliveries it keeps
what the event source has seen (``known``, ``state``), so a change is enqueued in the same
transaction that records it as seen.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from ..content.store.dbfile import file_id

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- the order deliveries to one destination keep
    id TEXT NOT NULL UNIQUE,                -- stable message id: the same on every attempt
    kind TEXT NOT NULL,                     -- the sender: webhook, websub, ...
    dest TEXT NOT NULL,                     -- the destination (its own order and state)
    url TEXT NOT NULL,
    body BLOB NOT NULL,
    headers TEXT NOT NULL,                  -- JSON object: headers every attempt sends
    created REAL NOT NULL,
    next_try REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT);
CREATE INDEX IF NOT EXISTS deliveries_dest ON deliveries(dest, seq);
CREATE TABLE IF NOT EXISTS destinations(
    dest TEXT PRIMARY KEY, kind TEXT NOT NULL, config TEXT NOT NULL, disabled TEXT,
    last_success REAL, last_error TEXT, last_error_at REAL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS known(slug TEXT PRIMARY KEY, hash TEXT NOT NULL, info BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
"""


#: Connections to queue files since deleted or set aside: never closed (see ``Queue.reconnect``).
_ABANDONED: list[sqlite3.Connection] = []


@dataclass(frozen=True)
class Delivery:
    """One pending delivery, as stored."""

    seq: int
    id: str
    kind: str
    dest: str
    url: str
    body: bytes
    headers: dict[str, str]
    created: float
    attempts: int


@dataclass(frozen=True)
class DestStatus:
    """What ``flask webhooks status`` and /metrics show of one destination."""

    dest: str
    kind: str
    depth: int
    oldest: float | None
    last_success: float | None
    last_error: str | None
    last_error_at: float | None
    disabled: bool


_COLUMNS = "seq, id, kind, dest, url, body, headers, created, attempts"


def _row(r: tuple[Any, ...]) -> Delivery:
    return Delivery(r[0], r[1], r[2], r[3], r[4], bytes(r[5]), orjson.loads(r[6]), r[7], r[8])


class Queue:
    """The queue database: every method is one short transaction, safe from any thread."""

    def __init__(self, path: str) -> None:
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._lock_file: IO[bytes] | None = None
        self.conn, self.file_id = self._connect()

    def _connect(self) -> tuple[sqlite3.Connection, tuple[int, int] | None]:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
        conn.execute("PRAGMA busy_timeout = 10000")
        #: Whether the file is in WAL mode (then its -wal and -shm files stay beside it while open).
        self.wal = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL: a killed process loses no commit
        conn.executescript(SCHEMA)
        return conn, file_id(self.path)

    def reconnect(self) -> None:
        """Open the file now at the path, under ``lock``. The old connection is kept open for good:
        closed, the last one to the old file would delete the -wal and -shm files at the path by
        name, which are the new file's now."""
        _ABANDONED.append(self.conn)
        self.conn, self.file_id = self._connect()

    def moved(self) -> bool:
        """Whether another file is at the path than the one this connection has open (put back, set aside).

        False while none is there: a connection made now would create an empty queue there,
        which the sender would take for the deleted one and not write back (queuefile.py).
        """
        current = file_id(self.path) if self.path != ":memory:" else None
        return current is not None and current != self.file_id

    def try_become_sender(self) -> bool:
        """Take the queue's sender lock (one sending process per queue file); True when this process holds it."""
        if self._lock_file is not None or self.path == ":memory:":
            return True
        fh = open(self.path + ".lock", "ab")  # held for the process's life
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return False
        self._lock_file = fh
        weakref.finalize(self, fh.close)  # released with the queue (or the process)
        return True

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` .. ``COMMIT`` (rolled back on an exception), under the queue's lock."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    # -- producing ---------------------------------------------------------------------------
    @staticmethod
    def add(
        conn: sqlite3.Connection,
        id: str,
        kind: str,
        dest: str,
        url: str,
        body: bytes,
        headers: dict[str, str],
        now: float,
        first: bool = False,
    ) -> None:
        """Enqueue one delivery inside an open ``transaction()``.

        ``first``: ahead of everything its destination has pending (due now, whatever their
        backoff): it takes a sequence number below every other one (negative), so it is its
        destination's head at once.
        """
        seq = conn.execute("SELECT min(0, coalesce(min(seq), 0)) - 1 FROM deliveries").fetchone()[0] if first else None
        conn.execute(
            "INSERT INTO deliveries (seq, id, kind, dest, url, body, headers, created, next_try) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, id, kind, dest, url, body, orjson.dumps(headers), now, now),
        )

    def sync_destinations(self, dests: dict[str, tuple[str, str]]) -> None:
        """Record each destination's kind and configuration hash; a changed configuration re-enables it."""
        with self.transaction() as conn:
            for dest, (kind, config) in dests.items():
                conn.execute(
                    "INSERT INTO destinations (dest, kind, config) VALUES (?, ?, ?) ON CONFLICT DO UPDATE "
                    "SET kind = excluded.kind, config = excluded.config, disabled = "
                    "CASE WHEN destinations.config = excluded.config THEN destinations.disabled END",
                    (dest, kind, config),
                )

    def disabled(self) -> set[str]:
        """Destinations disabled (a 410) until their configuration changes."""
        with self.lock:
            return {r[0] for r in self.conn.execute("SELECT dest FROM destinations WHERE disabled IS NOT NULL")}

    # -- consuming ---------------------------------------------------------------------------
    def heads(self, busy: set[str]) -> list[Delivery]:
        """The oldest pending delivery of each enabled destination not in ``busy``, due or not."""
        with self.lock:
            rows = self.conn.execute(
                f"SELECT {_COLUMNS}, next_try FROM deliveries WHERE seq IN (SELECT min(seq) FROM deliveries GROUP BY dest) "
                "AND dest NOT IN (SELECT dest FROM destinations WHERE disabled IS NOT NULL) ORDER BY next_try"
            ).fetchall()
        return [_row(r) for r in rows if r[3] not in busy]

    def next_try(self, seq: int) -> float:
        """When a delivery is due (0 when it is gone)."""
        with self.lock:
            row = self.conn.execute("SELECT next_try FROM deliveries WHERE seq = ?", (seq,)).fetchone()
        return float(row[0]) if row else 0.0

    def done(self, d: Delivery, now: float) -> None:
        """The destination took it: gone from the queue."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM deliveries WHERE seq = ?", (d.seq,))
            conn.execute("UPDATE destinations SET last_success = ? WHERE dest = ?", (now, d.dest))

    def retry(self, d: Delivery, when: float, error: str, now: float) -> None:
        """Failed this time: try again at ``when``."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, next_try = ?, last_error = ? WHERE seq = ?", (when, error, d.seq)
            )
            self._error(conn, d.dest, error, now)

    def set_headers(self, seq: int, headers: dict[str, str]) -> None:
        """Replace the headers later attempts of a delivery send (a sender's signature made again)."""
        with self.transaction() as conn:
            conn.execute("UPDATE deliveries SET headers = ? WHERE seq = ?", (orjson.dumps(headers), seq))

    def drop(self, d: Delivery, error: str, now: float) -> None:
        """Given up: gone from the queue, the reason kept as the destination's last error."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM deliveries WHERE seq = ?", (d.seq,))
            self._error(conn, d.dest, error, now)

    def disable(self, d: Delivery, error: str, now: float) -> int:
        """The destination is gone (410): drop all it has pending; nothing more until its configuration changes."""
        with self.transaction() as conn:
            n = self.clear(conn, d.dest, error, now)
            conn.execute("UPDATE destinations SET disabled = config WHERE dest = ?", (d.dest,))
        return n

    @staticmethod
    def clear(conn: sqlite3.Connection, dest: str, error: str, now: float) -> int:
        """Drop all ``dest`` has pending, the reason kept as its last error, inside an open ``transaction()``."""
        n = conn.execute("DELETE FROM deliveries WHERE dest = ?", (dest,)).rowcount
        Queue._error(conn, dest, error, now)
        return int(n)

    @staticmethod
    def _error(conn: sqlite3.Connection, dest: str, error: str, now: float) -> None:
        conn.execute("UPDATE destinations SET last_error = ?, last_error_at = ? WHERE dest = ?", (error, now, dest))

    # -- reporting ---------------------------------------------------------------------------
    def status(self) -> list[DestStatus]:
        """Every destination with its queue depth, oldest pending delivery and last outcomes."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT s.dest, s.kind, count(d.seq), min(d.created), s.last_success, s.last_error, s.last_error_at, "
                "s.disabled IS NOT NULL FROM destinations s LEFT JOIN deliveries d ON d.dest = s.dest "
                "GROUP BY s.dest ORDER BY s.kind, s.dest"
            ).fetchall()
        return [DestStatus(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7])) for r in rows]

    def pending(self) -> int:
        """Deliveries waiting, all destinations together."""
        with self.lock:
            return int(self.conn.execute("SELECT count(*) FROM deliveries").fetchone()[0])

    def get_state(self, key: str) -> Any:
        """A value the event source stored (None when never stored)."""
        with self.lock:
            row = self.conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def close(self) -> None:
        """Close the database and release the sender lock."""
        self.conn.close()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def open_existing(path: str) -> Queue | None:
    """The queue for reading its status from another process (CLI, /metrics); None when there is none yet."""
    if path == ":memory:" or not os.path.exists(path):
        return None
    return Queue(path)
