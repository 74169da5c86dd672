"""Debian's nginx running deploy/nginx-proxy.conf (ports and paths rewritten) under its own prefix."""

from __future__ import annotations

import http.client
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from support.net import free_port
from support.nginx import nginx_binary

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "nginx-proxy.conf"


def revise_report(site: Any) -> None:
    """The edit the proxy tests make behind nginx: the report post rewritten (new title and body)."""
    site.post(
        "2021-06-10-report",
        "A revised report.",
        title="Report, revised",
        date="2021-06-10",
        categories=["publications"],
        tags=["Treaty"],
    )


class Nginx:
    """nginx running deploy/nginx-proxy.conf in front of ``upstream_port``, stopped by PID."""

    def __init__(self, prefix: Path, upstream_port: int) -> None:
        self.port = free_port()
        prefix.mkdir()
        conf = CONF.read_text()
        for old, new in (
            ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};"),
            ("listen 80;", f"listen 127.0.0.1:{self.port};"),
            ("/var/cache/nginx/feedsvc", str(prefix / "cache")),
        ):
            assert old in conf
            conf = conf.replace(old, new)
        (prefix / "feedsvc.conf").write_text(conf)
        user = "user root;" if os.geteuid() == 0 else ""
        (prefix / "main.conf").write_text(f"""{user}
daemon off; worker_processes 1; pid {prefix}/nginx.pid; error_log {prefix}/error.log;
events {{ worker_connections 512; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy; fastcgi_temp_path {prefix}/fcgi;
    uwsgi_temp_path {prefix}/uwsgi; scgi_temp_path {prefix}/scgi;
    include {prefix}/feedsvc.conf;
}}
""")
        self.proc = subprocess.Popen([nginx_binary(), "-p", str(prefix), "-c", str(prefix / "main.conf")], stderr=subprocess.PIPE)
        for _ in range(200):
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                self.get("/healthz")
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not start")

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        """One GET on a new connection with exactly ``headers`` (no Accept-Encoding unless given)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.putrequest("GET", path, skip_host="Host" in headers, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders()
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def stop(self) -> None:
        """SIGTERM (graceful), then wait."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        if self.proc.stderr:
            self.proc.stderr.close()
