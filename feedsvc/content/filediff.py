"""Which content files a reload must read: those changed since the database recorded them, and those gone.

A file is read again when its signature (mtime, size, inode) is not the one recorded, when
site.yaml changed (it shapes every post), or when it was recorded within a clock tick of its
mtime (``RACY_NS``): then it may have been written again with the same mtime, so its bytes
are compared. A file inotify reported with its signature unchanged (a chmod) is read again
when it can no longer be read, so that is said at once. A vanished posts directory is an
error, never a deletion of every post.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .model import Problem
from .parse import Sig, file_sha
from .scan import POSTS_DIR, Found, Tree

#: A file recorded less than this after its mtime may have been written again within the
#: same clock tick (same mtime, other bytes): the next scan compares its bytes too.
RACY_NS = 50_000_000


@dataclass
class FileDiff:
    """What a reload has to do with the files."""

    #: Files to parse: (path relative to the root, path, signature).
    todo: list[tuple[str, str, Sig]]
    #: Files that cannot be read as posts (a bad name, a special file): (path, zero signature, problem).
    problems: list[tuple[str, Sig, Problem]]
    #: Files recorded that are gone.
    gone: list[str]
    #: Files looked at that the database has a row for (a file outside it is new: nothing to look up or remove).
    known: frozenset[str] = frozenset()


def diff(
    conn: sqlite3.Connection, tree: Tree, root: Path, paths: Iterable[str] | None, site_changed: bool, max_bytes: int
) -> FileDiff:
    """The files that differ from the database's record: only among ``paths`` when given, else every file."""
    if paths is not None:
        found, gone = tree.stat_paths(paths)
        files: Iterable[Found] = found
        known = {
            row[0]: row[1:]
            for rel, *_ in found
            for row in conn.execute("SELECT path, mtime_ns, size, ino, seen_ns FROM files WHERE path = ?", (rel,)).fetchall()
        }
    else:
        known = {
            row[0]: row[1:] for row in conn.execute("SELECT path, mtime_ns, size, ino, seen_ns FROM files INDEXED BY files_sig")
        }
        if known and not (root / POSTS_DIR).is_dir():
            # A vanished tree (a deploy mid-way, an unmounted volume) is not a deletion of every post.
            raise FileNotFoundError(f"{root / POSTS_DIR} not found")
        files, gone = tree.walk(), []
    todo: list[tuple[str, str, Sig]] = []
    problems: list[tuple[str, Sig, Problem]] = []
    seen: set[str] = set()
    for rel, path, st, problem in files:
        seen.add(rel)
        if problem is not None:
            problems.append((rel, (0, 0, 0), problem))
            continue
        assert st is not None
        sig = (st.st_mtime_ns, st.st_size, st.st_ino)
        entry = known.get(rel)
        if site_changed or entry is None or entry[:3] != sig:
            todo.append((rel, path, sig))
        elif paths is not None and not os.access(path, os.R_OK):
            # Reported changed with the same signature (a chmod): say now that it cannot be
            # read, rather than when a rebuild of the database finds out.
            todo.append((rel, path, sig))
        elif (
            entry[0] + RACY_NS > entry[3]
            and file_sha(path, max_bytes) != conn.execute("SELECT sha FROM files WHERE path = ?", (rel,)).fetchone()[0]
        ):
            # Written within a clock tick of when it was recorded: same mtime, maybe other bytes.
            todo.append((rel, path, sig))
    if paths is None:
        hidden = tuple(f"{d}/" for d in tree.unreadable)  # unseen, not deleted: kept as last read
        gone = sorted(rel for rel in set(known) - seen if not rel.startswith(hidden))
    return FileDiff(todo, problems, gone, frozenset(known))
