"""Compressed post bodies kept in a memory-mapped file instead of the Python heap.

At 100,000 posts the compressed bodies are ~280 MB: as bytes objects they sit in the
gunicorn master's heap, and every worker that reads one bumps its reference count and
so copies its page. In a file mapped read-only they are page cache: shared by the master
and every worker, paged in only where a body is read, never copied, and evictable.

A ``BodyStore`` is append-only and private to its loader (an unlinked temporary file);
a ``Body`` is a reference into it that behaves as the value it holds: equal and hashed by
content, pickled as plain bytes (so the on-disk parse cache stays self-contained).
"""

from __future__ import annotations

import errno
import logging
import mmap
import os
import pickle
import tempfile
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

log = logging.getLogger("feedsvc.content")

#: Pending bodies are written out once this many bytes have gathered.
_WRITE_CHUNK = 1 << 20


class BodyStore:
    """An append-only file of byte strings, read through a shared read-only mapping.

    Writes are positional (``os.pwrite`` at the offset each body was given), so they are
    idempotent: a forked child that flushed a copy of its parent's pending bytes would
    write the very same bytes at the very same place. Loaders ``flush`` after each load,
    before gunicorn forks its workers.
    """

    def __init__(self, directory: str | None = None) -> None:
        # Unlinked at once: the data lives as long as this process (and its forks) holds it.
        try:
            self._file = tempfile.TemporaryFile(prefix="feedsvc-bodies-", dir=directory)
        except OSError as exc:
            if not hasattr(os, "memfd_create"):
                raise
            # A read-only or full temporary directory: an anonymous in-memory file instead
            # (same calls, same sharing between forks; RAM rather than evictable page cache).
            log.warning("post bodies kept in memory: no temporary file in %s (%s)",
                        directory or tempfile.gettempdir(), exc)
            self._file = os.fdopen(os.memfd_create("feedsvc-bodies"), "w+b")
        self._fd = self._file.fileno()
        # Closed when the store goes (its last Body with it), not left to a ResourceWarning.
        self._closer = weakref.finalize(self, self._file.close)
        self._size = 0  # bytes handed out (written + pending)
        self._written = 0  # bytes in the file
        self._pending: list[bytes] = []
        self._mapped = 0
        self._map: mmap.mmap | None = None
        self._lock = threading.Lock()

    def put(self, data: bytes) -> Body:
        """Append ``data``; the Body that reads it back."""
        with self._lock:
            offset = self._size
            self._pending.append(data)
            self._size += len(data)
            if self._size - self._written >= _WRITE_CHUNK:
                self._flush()
        return Body(self, offset, len(data))

    def flush(self) -> None:
        """Write out pending bodies."""
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        view = memoryview(b"".join(self._pending))
        at = self._written
        while view:
            n = os.pwrite(self._fd, view, at)
            view, at = view[n:], at + n
        self._written = at
        self._pending = []

    def put_file(self, path: str | os.PathLike[str]) -> int:
        """Append a whole file's bytes (copied by the kernel); the offset they start at."""
        with self._lock:
            self._flush()
            base = self._written
            with open(path, "rb") as src:
                size = os.fstat(src.fileno()).st_size
                done = 0
                while done < size:
                    n = _copy_range(src.fileno(), self._fd, size - done, done, base + done)
                    if n <= 0:
                        raise OSError(f"{path}: short copy at {done} of {size} bytes")
                    done += n
            self._written = self._size = base + size
            return base

    def read(self, offset: int, length: int) -> bytes:
        """The bytes at ``offset`` (a copy out of the mapping)."""
        if not length:
            return b""
        end = offset + length
        m = self._map
        if m is None or end > self._mapped:
            m = self._remap(end)
        return m[offset:end]

    def _remap(self, end: int) -> mmap.mmap:
        with self._lock:
            if self._map is None or end > self._mapped:
                self._flush()
                # Readers still holding the old mapping keep it alive until they are done.
                self._map = mmap.mmap(self._fd, self._written, access=mmap.ACCESS_READ)
                self._mapped = self._written
            return self._map

    @property
    def size(self) -> int:
        """Bytes handed out so far (current and replaced bodies)."""
        return self._size

    def close(self) -> None:
        """Release the file (Bodies of this store can no longer be read)."""
        with self._lock:
            self._map = None
            self._closer()


#: copy_file_range refusals that mean "not between these two files": copy by hand instead.
#: (EXDEV: across file systems before Linux 5.3; ENOSYS/EOPNOTSUPP/EINVAL: not supported
#: by the kernel or one of the file systems, e.g. a memfd store.) Anything else is raised.
_NO_KERNEL_COPY = frozenset({errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL})


def _copy_range(src: int, dst: int, count: int, src_at: int, dst_at: int) -> int:
    """Copy up to ``count`` bytes between files at explicit offsets; the number copied.

    In the kernel (``copy_file_range``) where it can, else through a 1 MB buffer.
    """
    if hasattr(os, "copy_file_range"):
        try:
            return os.copy_file_range(src, dst, count, src_at, dst_at)
        except OSError as exc:
            if exc.errno not in _NO_KERNEL_COPY:
                raise
    data = os.pread(src, min(count, 1 << 20), src_at)
    return os.pwrite(dst, data, dst_at) if data else 0


class Body:
    """A compressed body in a BodyStore; compares, hashes and pickles as its bytes."""

    __slots__ = ("_store", "_offset", "_length")

    def __init__(self, store: BodyStore, offset: int, length: int) -> None:
        self._store = store
        self._offset = offset
        self._length = length

    def __bytes__(self) -> bytes:
        return self._store.read(self._offset, self._length)

    def __len__(self) -> int:
        return self._length

    def __bool__(self) -> bool:
        return self._length > 0

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Body):
            if other._store is self._store and other._offset == self._offset:
                return other._length == self._length
            return other._length == self._length and bytes(other) == bytes(self)
        if isinstance(other, bytes):
            return len(other) == self._length and other == bytes(self)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(bytes(self))

    def __reduce__(self) -> tuple:
        side = getattr(_cache, "writer", None)
        if side is None:
            return (bytes, (bytes(self),))
        return (_cached_body, side.add(bytes(self)))

    def __repr__(self) -> str:
        return f"<Body {self._length} bytes at {self._offset}>"


# -- the parse cache's side file ------------------------------------------------------------
# While a parse cache is pickled, Bodies write their bytes to a side file and pickle as
# (offset, length); while it is read, that file is copied into the loader's store first
# and the references point there. No body becomes a bytes object on the heap either way.
_cache = threading.local()


class _SideWriter:
    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.pos = 0

    def add(self, data: bytes) -> tuple[int, int]:
        at = self.pos
        self.fh.write(data)
        self.pos += len(data)
        return at, len(data)


def _cached_body(offset: int, length: int) -> Body:
    where = getattr(_cache, "reader", None)
    if where is None:
        raise pickle.UnpicklingError("a cached body outside a parse-cache read")
    store, base = where
    return Body(store, base + offset, length)


@contextmanager
def bodies_to(fh: BinaryIO) -> Iterator[None]:
    """Within: pickled Bodies write their bytes to ``fh`` and pickle as references into it."""
    _cache.writer = _SideWriter(fh)
    try:
        yield
    finally:
        del _cache.writer


@contextmanager
def bodies_from(store: BodyStore, side_file: str | os.PathLike[str]) -> Iterator[None]:
    """Within: unpickled body references read ``side_file``'s bytes, copied into ``store``."""
    _cache.reader = (store, store.put_file(side_file))
    try:
        yield
    finally:
        del _cache.reader
