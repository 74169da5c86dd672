"""The shipped gunicorn.conf.py: real gunicorn, several workers, ETags equal across workers and restarts."""

from __future__ import annotations

import multiprocessing
import os
import re
import runpy
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from support.gunicorn_server import Server
from support.http_kit import fill

ROOT = Path(__file__).resolve().parents[2]
URLS = ["/feeds/atom.xml", "/feeds/categories/statements/feed.json", "/api/v1/posts", "/posts/summit", "/"]


class Gunicorn(Server):
    """The shipped config (support.gunicorn_server.Server) with its access log in a file, to tell which worker answered."""

    def __init__(self, content: Path, log: Path, workers: int = 2) -> None:
        self.log = log
        super().__init__(content, log.with_suffix(".out"), workers, GUNICORN_ACCESSLOG=str(log))

    def pids(self) -> set[str]:
        """Worker pids that served a request, from the access log."""
        return set(re.findall(r"pid=<?(\d+)", self.log.read_text()))


def _collect(server: Gunicorn) -> dict[str, set[str]]:
    """ETags seen per URL over many concurrent connections, until at least two workers answered.

    gevent workers each accept as many connections as they can: right after a start, one
    worker may take a whole round while the other is still booting, so rounds repeat
    (at most 10).
    """
    seen: dict[str, set[str]] = {u: set() for u in URLS}
    for _ in range(10):
        _collect_round(server, seen)
        if len(server.pids()) >= 2:
            break
    return seen


def _collect_round(server: Gunicorn, seen: dict[str, set[str]]) -> None:
    def one(i: int) -> None:
        url = URLS[i % len(URLS)]
        status, headers, _ = server.get(url, **{"Accept-Encoding": "identity"})
        assert status == 200
        seen[url].add(headers["ETag"])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(200)))


@pytest.mark.slow
def test_etags_equal_across_workers_and_restarts(site: Any, make_app: Any, tmp_path: Path) -> None:
    fill(site)
    first = Gunicorn(site.root, tmp_path / "access1.log")
    try:
        seen = _collect(first)
        workers = first.pids()
        status, headers, body = first.get("/api/v1/posts", **{"Accept-Encoding": "gzip"})
        assert status == 200 and headers["Content-Encoding"] == "gzip"
        gz_tag = headers["ETag"]
        status304, _, _ = first.get("/api/v1/posts", **{"Accept-Encoding": "gzip", "If-None-Match": gz_tag})
        assert status304 == 304
    finally:
        first.stop()
    assert len(workers) >= 2, "requests should have reached both workers"
    assert all(len(tags) == 1 for tags in seen.values()), seen

    second = Gunicorn(site.root, tmp_path / "access2.log")
    try:
        again = _collect(second)
        later_workers = second.pids()
        assert second.get("/api/v1/posts", **{"Accept-Encoding": "gzip"})[1]["ETag"] == gz_tag
    finally:
        second.stop()
    assert again == seen, "a restart must not change any ETag of unchanged content"
    assert len(later_workers) >= 2 and not later_workers & workers  # new processes, same tags
    # And the in-process app agrees with the servers.
    client = make_app().test_client()
    for url, tags in seen.items():
        assert {client.get(url).headers["ETag"]} == tags


def test_config_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "WEB_CONCURRENCY",
        "GUNICORN_BIND",
        "PORT",
        "GUNICORN_TIMEOUT",
        "GUNICORN_ACCESSLOG",
        "GUNICORN_WORKER_CLASS",
        "GUNICORN_THREADS",
        "GUNICORN_WORKER_CONNECTIONS",
        "FEEDSVC_LOG_FORMAT",
        "PROMETHEUS_MULTIPROC_DIR",
        "FEEDSVC_OWN_METRICS_DIR",
        "FEEDSVC_METRICS_DIR_STARTED",
        "GUNICORN_CONTROL_SOCKET",
    ):
        monkeypatch.delenv(name, raising=False)  # and restored (the config sets the metrics ones)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert metrics_dir.is_dir() and metrics_dir.name.startswith("feedsvc-metrics-")
    conf["on_exit"](None)  # the directory it created is removed when the server stops
    assert not metrics_dir.exists()
    assert conf["workers"] == multiprocessing.cpu_count() * 2 + 1
    # gevent: slow and kept-alive connections cost a greenlet, not a worker; greenlets never
    # interleave inside feedgen's process-global setlocale dance (no I/O there).
    # feedsvc's gevent worker (feedsvc/serving.py) also takes turns between kept-alive connections.
    from gunicorn.util import load_class
    from gunicorn.workers.ggevent import GeventWorker

    assert issubclass(load_class(conf["worker_class"]), GeventWorker) and conf["worker_connections"] >= 1000
    assert "logger_class" not in conf
    assert conf["control_socket_disable"] is True  # no shared $HOME/.gunicorn/gunicorn.ctl
    assert conf["preload_app"] is True
    assert conf["bind"] == "127.0.0.1:8000"
    assert 0 < conf["graceful_timeout"] <= conf["timeout"]
    assert conf["accesslog"] == "-"
    monkeypatch.setenv("PORT", "5000")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["bind"] == "0.0.0.0:5000" and conf["workers"] == 3
    monkeypatch.setenv("FEEDSVC_LOG_FORMAT", "json")
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["logger_class"] == "feedsvc.logs.GunicornLogger"


def test_trusted_proxies_on_a_public_bind_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    from feedsvc.config import spoofable_forwarded_for

    assert spoofable_forwarded_for([("127.0.0.1", 8000)], 1) is None
    assert spoofable_forwarded_for([("::1", 8000), "/run/feedsvc.sock"], 2) is None
    assert spoofable_forwarded_for([("0.0.0.0", 8000)], 0) is None
    for public in ("0.0.0.0", "::", "192.0.2.7", "app.internal"):
        warning = spoofable_forwarded_for([("127.0.0.1", 8000), (public, 8001)], 1)
        assert warning and "X-Forwarded-For" in warning and f"{public}:8001" in warning

    class Log:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def warning(self, msg: str) -> None:
            self.lines.append(msg)

    class FakeServer:  # what on_starting reads: the bound addresses and the logger
        class cfg:
            address = [("0.0.0.0", 8000)]

        log = Log()

    for name in ("PROMETHEUS_MULTIPROC_DIR", "FEEDSVC_OWN_METRICS_DIR", "FEEDSVC_METRICS_DIR_STARTED"):
        monkeypatch.delenv(name, raising=False)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    try:
        monkeypatch.setenv("FEEDSVC_TRUSTED_PROXIES", "1")
        conf["on_starting"](FakeServer)
        monkeypatch.setenv("FEEDSVC_TRUSTED_PROXIES", "0")
        conf["on_starting"](FakeServer)
    finally:
        conf["on_exit"](None)
    assert len(FakeServer.log.lines) == 1 and "forge X-Forwarded-For" in FakeServer.log.lines[0]


def test_procfile_and_make_run_use_the_config() -> None:
    assert "gunicorn -c gunicorn.conf.py wsgi:app" in (ROOT / "Procfile").read_text()
    assert "gunicorn -c gunicorn.conf.py wsgi:app" in (ROOT / "Makefile").read_text()
