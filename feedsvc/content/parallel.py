"""Parsing many files at once: in forked worker processes, in file order, with what one process would give.

Used by a load with many files to parse (a first start): every CPU parses a chunk of
files at a time; a load of few files, or a process with other threads running (where a
fork is not safe), parses them here one after the other.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Iterator

from .model import Site
from .parse import Parsed, Sig, parse_file
from .store.writer import Prepared, prepare

#: A load with at least this many files to parse uses every CPU (forked parser processes).
PARALLEL_MIN_FILES = 500
PARALLEL_CHUNK = 64

_worker_args: tuple[Site, int] | None = None


def _init_parse_worker(site: Site, max_bytes: int) -> None:
    global _worker_args
    _worker_args = (site, max_bytes)


def _parse_chunk(files: list[tuple[str, str, Sig]]) -> list[tuple[Parsed, Prepared | None]]:
    assert _worker_args is not None
    site, max_bytes = _worker_args
    return [_parse_prepared(rel, path, sig, site, max_bytes) for rel, path, sig in files]


def _parse_prepared(rel: str, path: str, sig: Sig, site: Site, max_bytes: int) -> tuple[Parsed, Prepared | None]:
    """A file parsed, and its post's row values worked out (in the parser process, off the writer's path)."""
    parsed = parse_file(rel, path, sig, site, max_bytes)
    _, sha, post = parsed
    return parsed, (prepare(post, sha) if post is not None else None)


def parse_all(site: Site, todo: list[tuple[str, str, Sig]], max_bytes: int) -> Iterator[tuple[str, Sig, Parsed, Prepared | None]]:
    """Parse files in order: in forked worker processes when there are many and this process has one thread.

    The workers also work out each post's row values (``prepare``); parsed here, the writer does.
    """
    procs = min(os.cpu_count() or 1, 8)
    if (
        len(todo) < PARALLEL_MIN_FILES
        or procs < 2
        or threading.active_count() != 1
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        for rel, path, sig in todo:
            yield rel, sig, parse_file(rel, path, sig, site, max_bytes), None
        return
    chunks = [todo[i : i + PARALLEL_CHUNK] for i in range(0, len(todo), PARALLEL_CHUNK)]
    with multiprocessing.get_context("fork").Pool(procs, initializer=_init_parse_worker, initargs=(site, max_bytes)) as pool:
        for chunk, results in zip(chunks, pool.imap(_parse_chunk, chunks), strict=True):
            for (rel, _, sig), (parsed, prepared) in zip(chunk, results, strict=True):
                yield rel, sig, parsed, prepared
