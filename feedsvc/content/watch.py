"""Which content files changed, from the kernel (Linux inotify) instead of a stat per file.

A rescan stats every post file: ~10 us each here, so ~0.1 s CPU per scan at 10,000 posts
and ~1 s at 100,000, every reload interval, forever. With a watch on each directory the
kernel queues the names that changed and a reload looks at those files only.

``Watcher.changes()`` answers with the set of changed paths (relative to the content
directory, posix form), or ``None`` when only a full rescan can tell: the first call, a
directory created, moved or deleted (its files were never watched), a queue overflow.
Where inotify is missing or out of watches, ``Watcher.open`` returns None and the caller
keeps rescanning.
"""

from __future__ import annotations

import errno
import logging
import os
import weakref
from pathlib import Path

log = logging.getLogger("feedsvc.content")

try:  # Linux only
    from inotify_simple import INotify
    from inotify_simple import flags as _f
except ImportError:  # pragma: no cover - other platforms
    INotify = None

if INotify is not None:
    #: Everything that can change what a file holds or whether it exists. CLOSE_WRITE
    #: and MODIFY both: an editor may write in several steps, the last one wins.
    _MASK = (
        _f.CREATE
        | _f.DELETE
        | _f.MODIFY
        | _f.CLOSE_WRITE
        | _f.MOVED_FROM
        | _f.MOVED_TO
        | _f.ATTRIB
        | _f.DELETE_SELF
        | _f.MOVE_SELF
    )
    #: Events after which only a full rescan knows what the tree holds.
    _RESCAN = _f.Q_OVERFLOW | _f.IGNORED | _f.DELETE_SELF | _f.MOVE_SELF


def _subdirs(path: Path) -> list[str]:
    """The directories in ``path`` the loader walks into: not hidden, not symlinks (none when it cannot be listed)."""
    try:
        with os.scandir(path) as it:
            return sorted(e.name for e in it if not e.name.startswith(".") and _real_dir(e))
    except OSError:  # gone or unreadable meanwhile: as os.walk, skipped (the scan names it)
        return []


def _real_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


class Watcher:
    """inotify watches on the content directory and every directory under ``posts/``."""

    def __init__(self, root: Path, subdir: str, inotify: INotify) -> None:
        self.root = root
        #: The process that opened it: a forked child must open its own (reading the
        #: shared queue would take events from its parent).
        self.pid = os.getpid()
        self._subdir = subdir
        self._ino = inotify
        self._closer = weakref.finalize(self, inotify.close)  # no ResourceWarning when dropped
        # Not at interpreter exit: the reload thread (a daemon) may still be reading it then,
        # and a file closed under it failed that reload with a traceback; the OS closes it.
        self._closer.atexit = False
        #: watch descriptor -> directory relative to root ("" for root itself).
        self._dirs: dict[int, str] = {}
        self._rescan = True  # nothing is known before the first full scan
        #: The directories the root path and its ``subdir`` lead to (a deploy may repoint
        #: either when it is a symlink).
        self._root_id = self._tree_id()

    @classmethod
    def open(cls, root: str | os.PathLike[str], subdir: str, before_load: bool = False) -> Watcher | None:
        """Watch ``root`` and the tree under ``root/subdir``; None where inotify cannot.

        ``before_load``: the caller loads the tree after this, so the first ``changes()``
        can answer with what changed since (no full scan needed to know where things stand).
        """
        if INotify is None:
            return None
        try:
            watcher = cls(Path(root), subdir, INotify(nonblocking=True))
        except OSError as exc:  # EMFILE: too many inotify instances for this user
            log.warning("content changes: inotify unavailable (%s); rescanning every interval", exc)
            return None
        if not watcher._watch_tree():
            watcher.close()
            return None
        watcher._rescan = not before_load
        return watcher

    def _watch_tree(self) -> bool:
        """(Re-)add a watch on every directory; False only when the kernel is out of watches.

        A directory that cannot be watched right now (no permission, removed meanwhile)
        leaves the next ``changes()`` a full rescan, so it is tried again every interval
        until it can be watched: a transient error never switches watching off.
        """
        try:
            self._add("")
            if (self.root / self._subdir).is_dir():
                self._add(self._subdir)
                # An explicit stack, not os.walk (recursive in 3.11): a tree may nest deeper
                # than Python's recursion limit.
                stack = [self._subdir]
                while stack:
                    rel = stack.pop()
                    for d in _subdirs(self.root / rel):
                        self._add(f"{rel}/{d}")
                        stack.append(f"{rel}/{d}")
        except OSError as exc:  # ENOSPC: fs.inotify.max_user_watches reached
            log.warning("content changes: cannot watch %s (%s); rescanning every interval", self.root, exc)
            return False
        return True

    def _add(self, rel: str) -> None:
        try:
            wd = self._ino.add_watch(str(self.root / rel) if rel else str(self.root), _MASK)
        except OSError as exc:
            if exc.errno == errno.ENOSPC or not rel:
                raise
            log.info("content changes: cannot watch %s yet (%s); rescanning until it can be", rel, exc)
            self._rescan = True  # until this directory is watched, only a full scan sees its files
            return
        self._dirs[wd] = rel

    def _tree_id(self) -> tuple[tuple[int, int], tuple[int, int]]:
        return _dir_id(self.root), _dir_id(self.root / self._subdir)

    def changes(self) -> set[str] | None:
        """Paths changed since the last call, or None: rescan everything."""
        rescan, self._rescan = self._rescan, False
        root_id = self._tree_id()
        if root_id != self._root_id:  # the root or posts/ now leads elsewhere: watch the new tree
            self._root_id = root_id
            rescan = True
        changed: set[str] = set()
        try:
            events = self._ino.read(timeout=0)
        except OSError:
            events, rescan = [], True
        for ev in events:
            if ev.mask & _RESCAN:
                rescan = True
                if ev.mask & _f.IGNORED:
                    self._dirs.pop(ev.wd, None)
                continue
            parent = self._dirs.get(ev.wd)
            if parent is None:
                continue
            if ev.mask & _f.ISDIR:
                rescan = True  # a directory came or went: its files were not watched
                continue
            changed.add(f"{parent}/{ev.name}" if parent else ev.name)
        if rescan:
            # New directories get their watches before the caller's full scan, so a file
            # written into one from now on is reported.
            if not self._watch_tree():
                raise OSError("inotify watches exhausted")
            return None
        return changed

    def close(self) -> None:
        """Release the inotify instance."""
        self._closer()


def _dir_id(path: Path) -> tuple[int, int]:
    """(device, inode) of the directory ``path`` leads to; (0, 0) when it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return (0, 0)
    return (st.st_dev, st.st_ino)
