"""The queue's database file kept where it belongs: put back when deleted, set aside when damaged.

The queue is not a cache (the index is): the deliveries pending and the followers it holds
exist nowhere else. So the sender checks the file at each turn. A file deleted (or its
-wal or -shm file) while the sender has it open is written back from that connection,
which still holds everything. A file that SQLite finds damaged is renamed to
``<path>.damaged`` for the operator, and the sender goes on with a new, empty queue;
/healthz names the damaged file for as long as it is there.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from ..content.store.dbfile import corrupt
from .queue import Queue

log = logging.getLogger("feedsvc.outbox")
#: What a damaged queue file is renamed to (beside it).
DAMAGED = ".damaged"
_COMPANIONS = ("-wal", "-shm")


def check(queue: Queue) -> None:
    """Put the queue's file back at its path if it, its -wal or its -shm file was deleted (the sender, each turn)."""
    if queue.path == ":memory:":
        return
    gone = [s or "file" for s in ("", *(_COMPANIONS if queue.wal else ())) if not os.path.exists(queue.path + s)]
    if not gone:
        return
    building = queue.path + ".restore"
    with queue.lock:
        _unlink(building)
        copy = sqlite3.connect(building)
        try:
            queue.conn.backup(copy)  # everything the open connection still sees: nothing pending is lost
        finally:
            copy.close()
        _unlink(queue.path)
        os.replace(building, queue.path)
        queue.reconnect()
    log.error("outbox queue %s: its %s deleted; written back from the open connection", queue.path, " and ".join(gone))


def damaged(queue: Queue) -> str | None:
    """Why the queue's file is damaged (SQLite's quick check), or None: readable, or failing for another
    reason (locked, a full disk) that is not the file's."""
    try:
        with queue.lock:
            row = queue.conn.execute("PRAGMA quick_check(1)").fetchone()
    except sqlite3.Error as exc:
        return str(exc) if corrupt(exc) else None
    return None if row is not None and row[0] == "ok" else f"integrity check: {row[0] if row else 'no answer'}"


def set_aside(queue: Queue, why: str) -> None:
    """Rename a damaged queue file to ``<path>.damaged`` (its WAL beside it) and go on with a new, empty one."""
    aside = queue.path + DAMAGED
    with queue.lock:
        _unlink(aside)
        if os.path.exists(queue.path):
            os.replace(queue.path, aside)
        if os.path.exists(queue.path + "-wal"):
            os.replace(queue.path + "-wal", aside + "-wal")
        _unlink(queue.path)  # the -shm: never paired with the new file
        queue.reconnect()
    log.error("outbox queue %s is damaged (%s): kept as %s; the queue starts afresh", queue.path, why, aside)


def reason(path: str) -> str | None:
    """What /healthz says while a damaged queue file set aside is still there (the operator removes it)."""
    aside = path + DAMAGED
    if path == ":memory:" or not os.path.exists(aside):
        return None
    return (
        f"outbox queue {path} was found damaged and replaced by an empty one: the deliveries and "
        f"followers it held are in {aside} (remove that file once dealt with)"
    )


def _unlink(path: str) -> None:
    for suffix in ("", *_COMPANIONS):
        Path(path + suffix).unlink(missing_ok=True)
