"""Real gunicorn with the shipped gunicorn.conf.py on a free loopback port, stopped by its PID."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .net import free_port

#: The repository: gunicorn runs from here (gunicorn.conf.py, wsgi.py).
ROOT = Path(__file__).resolve().parents[2]


class Server:
    """gunicorn -c gunicorn.conf.py wsgi:app with extra environment, stdout+stderr to a file.

    ``config``: another settings file (a test's wrapper around the shipped one), relative to ROOT.
    """

    def __init__(
        self,
        content: Path,
        out: Path,
        workers: int = 2,
        prefix: tuple[str, ...] = (),
        config: str = "gunicorn.conf.py",
        **env: str,
    ) -> None:
        self.port = free_port()
        self.out = out
        full = {
            **os.environ,
            "FEEDSVC_CONTENT_DIR": str(content),
            "FEEDSVC_RELOAD_INTERVAL": "0",
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            **env,
        }
        for name in ("PORT", "PROMETHEUS_MULTIPROC_DIR", "FEEDSVC_OWN_METRICS_DIR", "FEEDSVC_METRICS_DIR_STARTED"):
            if name not in env:
                full.pop(name, None)
        self._fh = out.open("wb")
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "gunicorn", "-c", config, "wsgi:app"],
            cwd=ROOT,
            env=full,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
        )
        for _ in range(300):
            if self.proc.poll() is not None:
                self._fh.close()
                raise RuntimeError(f"gunicorn exited: {out.read_text()[-2000:]}")
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path, headers={"Connection": "close", **headers})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return [int(c) for c in children]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._fh.close()
