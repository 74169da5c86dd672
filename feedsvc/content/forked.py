"""Work done by a forked child that writes the database for this process (a first load that leaves no heap behind).

The child gets a connection of its own and keeps this process's writer lock (``Database``
lets it), answers through a pipe, and exits; this process then reads what it committed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from .store.dbfile import MEMORY, Database


def in_child(database: Database, work: Callable[[], tuple[bytes, int]]) -> bytes | None:
    """Run ``work`` (its answer and exit status) in a forked child writing ``database``; the answer.

    None when the child failed (a status other than 0, no answer) or no child can be forked
    safely here (a database in this process's memory, a reader, other threads running).
    """
    if database.path == MEMORY or not database.writer or threading.active_count() != 1 or not hasattr(os, "fork"):
        return None
    read_end, write_end = os.pipe()
    database.keep_lock_in_child = True  # the child writes for this process
    try:
        pid = os.fork()
    finally:
        database.keep_lock_in_child = False
    if pid == 0:  # the child: its own connection, the parent's lock; never returns
        status = 1
        try:
            os.close(read_end)
            database.reopen()
            answer, status = work()
            os.write(write_end, answer)
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        answer = fh.read()
    _, status = os.waitpid(pid, 0)
    return answer if status == 0 and answer else None
