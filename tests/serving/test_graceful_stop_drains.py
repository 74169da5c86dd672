"""A graceful stop (SIGTERM) answers the connections waiting in the listen queue, with real gunicorn."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path
from typing import Any

import pytest
from support.gunicorn_server import Server
from support.http_kit import fill

#: Connections queued, each asking for a distinct uncached search: together far more than
#: the second gunicorn's gevent worker used to keep accepting after SIGTERM.
QUEUED = 400


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return b"".join(chunks) + b"<reset>"
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


@pytest.mark.slow
def test_sigterm_answers_every_connection_waiting_in_the_listen_queue(site: Any, tmp_path: Path) -> None:
    fill(site)
    for i in range(120):
        site.post(f"2020-01-{i:03d}", f"Word{i} text " * 300, title=f"Post {i}", date="2020-01-01")
    server = Server(
        site.root, tmp_path / "gunicorn.out", workers=2, FEEDSVC_RENDER_BUDGET="off"
    )  # 400 searches from one client: the budget is not under test
    socks: list[socket.socket] = []
    try:
        workers = server.workers()
        for worker in workers:
            os.kill(worker, signal.SIGSTOP)  # the worker accepts nothing: connections queue in the kernel
        try:
            for i in range(QUEUED):
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
                sock.sendall(f"GET /feeds/atom.xml?q=text+{i} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
                socks.append(sock)
            os.kill(server.proc.pid, signal.SIGTERM)  # the master closes its listener, signals the worker
        finally:
            for worker in workers:
                os.kill(worker, signal.SIGCONT)
        answers = [_read_all(sock) for sock in socks]
        server.proc.wait(timeout=60)
    finally:
        for sock in socks:
            sock.close()
        server.stop()
    statuses = [a.split(b"\r\n", 1)[0] for a in answers]
    assert statuses == [b"HTTP/1.1 200 OK"] * QUEUED, statuses
    assert all(a.rstrip().endswith(b"</feed>") for a in answers)
