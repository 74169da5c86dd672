"""Fair turns between kept-alive connections in the shipped gunicorn configuration (issue 23).

One gevent worker, two keep-alive connections, each with a batch of pipelined requests
already waiting when the worker looks: the access log's order shows whether the worker
took turns or served one connection's whole batch before the other's first request.
The worker is paused (SIGSTOP) while both batches are sent, so both are waiting when it
runs again whatever the machine's load: the check counts requests, it never times them.
"""

from __future__ import annotations

import http.client
import io
import os
import re
import signal
import socket
from collections.abc import Iterator
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest
from support.gunicorn_server import Server
from support.http_kit import fill

pytestmark = pytest.mark.slow

BATCH = 20  # pipelined requests per connection (about 1.5 KB: one read for the worker)
MAX_RUN = 2  # the most requests of one connection in a row while the other has one waiting


class _File:
    """What http.client.HTTPResponse reads from: one buffered file shared by pipelined responses."""

    def __init__(self, f: io.BufferedReader) -> None:
        self.f = f

    def makefile(self, mode: str) -> _File:
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self.f, name)

    def close(self) -> None:
        """A response that ends leaves the connection's file open for the next one."""


def _request(port: int, agent: str) -> bytes:
    return (f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {agent}\r\n\r\n").encode()


def _responses(f: io.BufferedReader, count: int) -> list[int]:
    """Read ``count`` pipelined responses with http.client; their statuses."""
    statuses = []
    for _ in range(count):
        resp = http.client.HTTPResponse(_File(f))  # type: ignore[arg-type]
        resp.begin()
        resp.read()
        statuses.append(resp.status)
    return statuses


@pytest.fixture
def one_worker(site: Any, tmp_path: Path) -> Iterator[Server]:
    fill(site)
    server = Server(site.root, tmp_path / "gunicorn.out", workers=1)
    try:
        yield server
    finally:
        server.stop()


def test_two_kept_alive_connections_take_turns(one_worker: Server) -> None:
    port = one_worker.port
    (worker,) = one_worker.workers()
    conns = {agent: socket.create_connection(("127.0.0.1", port), timeout=30) for agent in ("conn-a", "conn-b")}
    files = {agent: s.makefile("rb") for agent, s in conns.items()}
    try:
        for agent, s in conns.items():  # both accepted, each greenlet waiting for its next request
            s.sendall(_request(port, agent))
            assert _responses(files[agent], 1) == [200]
        os.kill(worker, signal.SIGSTOP)
        try:
            for agent, s in conns.items():
                s.sendall(_request(port, agent) * BATCH)
        finally:
            os.kill(worker, signal.SIGCONT)
        for agent in conns:
            assert _responses(files[agent], BATCH) == [200] * BATCH
    finally:
        for agent in conns:
            files[agent].close()
            conns[agent].close()
    one_worker.stop()  # flushes the access log
    log = one_worker.out.read_text()
    order = re.findall(r'"GET /healthz HTTP/1\.1" \d+ .* "(conn-[ab])" ', log)
    assert order.count("conn-a") == order.count("conn-b") == BATCH + 1, log[-3000:]
    batches = order[2:]  # after the two single requests
    # Runs until one connection's batch is done: after that the other has nobody to wait for.
    first_done = min(max(i for i, a in enumerate(batches) if a == agent) for agent in ("conn-a", "conn-b"))
    runs = [len(list(group)) for _, group in groupby(batches[: first_done + 1])]
    assert max(runs) <= MAX_RUN, f"runs of one connection in a row: {runs}"
