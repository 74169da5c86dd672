"""Scan the content tree: which post files exist, their signatures, and why a file cannot be read."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path

from .errors import ContentError
from .model import Problem

POSTS_DIR = "posts"
NOT_REGULAR = "not a regular file"
NOT_UTF8_NAME = "the file name is not UTF-8 text: rename it"
#: What a scan says of a directory under posts/ it cannot list (its posts are kept as last read).
UNREADABLE_DIR = "cannot read this directory ({}); the posts in it stay as last read until it can be read"
#: What a scan says of one post file: (relpath, path, stat, None) or (relpath, path, None, problem).
Found = tuple[str, str, os.stat_result | None, Problem | None]


def shown(rel: str) -> str:
    """``rel`` as text any output can hold: bytes of a name that is not UTF-8 as ``\\xNN`` escapes.

    The OS hands such a name over with surrogate escapes, which SQLite, JSON and the log
    cannot encode; every path a scan reports goes through here.
    """
    try:
        rel.encode("utf-8")
        return rel
    except UnicodeEncodeError:
        return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _post_file(
    real_root: str, rel: str, path: str, is_symlink: Callable[[], bool], stat_of: Callable[[], os.stat_result]
) -> Found:
    """(rel, path, stat, None) for a post file, or (rel, path, None, problem) saying why not.

    Shared by the full scan and the targeted one; a symlinked file is followed only to a
    target inside the content directory (``real_root``).
    """
    if shown(rel) != rel:
        return shown(rel), path, None, Problem(shown(rel), "file", NOT_UTF8_NAME)
    try:
        if is_symlink():
            target = os.path.realpath(path)
            if os.path.commonpath([real_root, target]) != real_root:
                return rel, path, None, Problem(rel, "file", "symlink leads outside the content directory")
        st = stat_of()
        if not stat.S_ISREG(st.st_mode):  # a FIFO would block the reader, a device never end
            return rel, path, None, Problem(rel, "file", NOT_REGULAR)
        return rel, path, st, None
    except OSError as exc:
        return rel, path, None, Problem(rel, "file", f"cannot read: {exc.strerror or exc}")


def read_regular(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``, read without ever blocking.

    The file is opened non-blocking and checked on the open descriptor (a FIFO or a
    device put in place after a scan is refused, never waited on), and at most
    ``max_bytes + 1`` bytes are read whatever its size claims.
    :raises ContentError: ``file`` when it is not a regular file or is too large.
    :raises OSError: when it cannot be opened or read.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ContentError("file", NOT_REGULAR)
        if st.st_size > max_bytes:
            raise ContentError("file", f"is {st.st_size} bytes; the limit is {max_bytes}")
        chunks: list[bytes] = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        raw = b"".join(chunks)
    finally:
        os.close(fd)
    if len(raw) > max_bytes:
        raise ContentError("file", f"is more than {max_bytes} bytes; the limit is {max_bytes}")
    return raw


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


class Tree:
    """The post files under ``root/posts``; ``dir_mtime_ns`` is the newest directory mtime seen."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dir_mtime_ns = 0
        #: The directories under posts/ the last walk could not list (relative paths): their
        #: recorded posts are not gone, only unseen.
        self.unreadable: list[str] = []

    def walk(self) -> Iterator[Found]:
        """Yield (relpath, path, stat, problem) for every post file, each directory in name order.

        Streams (nothing per file is kept). A directory under posts/ that cannot be listed
        (its permissions, a failing disk) is that directory's problem, listed in
        ``unreadable``, and the rest of the tree is walked: one such directory never stops
        the others from being published, nor looks like deleted posts. Raises after the
        walk the first OSError of posts/ itself, or of a directory that vanished or stopped
        being one during the walk (a move in progress: the next walk sees where it went).
        """
        posts = self.root / POSTS_DIR
        real_root = os.path.realpath(self.root)
        errors: list[OSError] = []
        self.unreadable = []
        try:
            dir_mtime = os.stat(posts).st_mtime_ns
        except OSError:
            dir_mtime = 0

        # Depth first with an explicit stack (a listing per open directory, never recursion:
        # a tree may nest deeper than Python's recursion limit, up to PATH_MAX).
        stack: list[tuple[str, Iterator[os.DirEntry[str]]]] = []

        def enter(dirpath: str, reldir: str) -> Found | None:
            """Open a directory's listing on the stack; the directory's problem when it cannot be listed."""
            try:
                with os.scandir(dirpath) as it:
                    entries = sorted(it, key=_name)
            except (FileNotFoundError, NotADirectoryError) as exc:
                errors.append(exc)
                return None
            except OSError as exc:
                if reldir == POSTS_DIR:
                    errors.append(exc)
                    return None
                self.unreadable.append(shown(reldir))
                return shown(reldir), dirpath, None, Problem(shown(reldir), "file", UNREADABLE_DIR.format(exc.strerror or exc))
            stack.append((reldir, iter(entries)))
            return None

        enter(str(posts), POSTS_DIR)
        while stack:
            reldir, listing = stack[-1]
            entry = next(listing, None)
            if entry is None:
                stack.pop()
                continue
            name = entry.name
            if name.startswith("."):
                continue
            rel = f"{reldir}/{name}"
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if entry.is_symlink():
                    yield shown(rel), entry.path, None, Problem(shown(rel), "file", "symlinked directories are not followed")
                    continue
                try:
                    dir_mtime = max(dir_mtime, entry.stat().st_mtime_ns)
                except OSError:
                    pass
                problem = enter(entry.path, rel)
                if problem is not None:
                    yield problem
                continue
            if name.endswith(".md"):
                yield _post_file(real_root, rel, entry.path, entry.is_symlink, entry.stat)

        errors = [e for e in errors if not (isinstance(e, FileNotFoundError) and Path(e.filename) == posts)]
        if errors:
            raise errors[0]
        self.dir_mtime_ns = dir_mtime

    def stat_paths(self, changed: Iterable[str]) -> tuple[list[Found], list[str]]:
        """What ``walk`` would say about just these paths: (files, paths gone), sorted.

        Paths not under posts/, hidden ones and non-Markdown files are not posts and are
        ignored, as a full scan ignores them; a directory's mtime still moves
        Last-Modified when a file in it is created or deleted.
        """
        real_root = os.path.realpath(self.root)
        found: list[Found] = []
        gone: list[str] = []
        parents: set[str] = set()
        for rel in sorted(changed):
            parts = rel.split("/")
            if (
                len(parts) < 2
                or parts[0] != POSTS_DIR
                or not rel.endswith(".md")
                or any(not p or p.startswith(".") for p in parts)
            ):
                continue
            path = os.path.join(self.root, *parts)
            parents.add(os.path.dirname(path))
            link: os.stat_result | None
            try:
                link = os.lstat(path)
            except FileNotFoundError:
                gone.append(shown(rel))
                continue
            except OSError:
                link = None  # _post_file names the problem
            if link is not None and stat.S_ISDIR(link.st_mode):
                continue  # a directory named *.md: the watcher asks for a full scan
            is_link = link is not None and stat.S_ISLNK(link.st_mode)
            found.append(_post_file(real_root, rel, path, partial(bool, is_link), partial(os.stat, path)))
        for parent in parents:
            try:
                self.dir_mtime_ns = max(self.dir_mtime_ns, os.stat(parent).st_mtime_ns)
            except OSError:
                pass
        return found, gone
