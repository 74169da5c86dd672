"""Debian's nginx: finding it, and serving a static export (its own nginx.conf) on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .net import free_port


def nginx_binary() -> str:
    """Debian's nginx; the test skips visibly without it (a failure under FEEDSVC_STRICT_SKIPS)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        pytest.skip("no nginx binary (apt-get install nginx-light; `make system-deps` as root)")
    return found


@contextmanager
def nginx_serving(out: Path, prefix: Path, nginx_bin: str) -> Iterator[int]:
    """Debian's nginx serving the export ``out`` with its own nginx.conf, on a free loopback port."""
    port = free_port()
    conf = (out / "nginx.conf").read_text(encoding="utf-8").replace("listen 8080;", f"listen 127.0.0.1:{port};")
    (out / "nginx.conf").write_text(conf, encoding="utf-8")
    prefix.mkdir()
    main = prefix / "main.conf"
    user = "user root;" if os.geteuid() == 0 else ""
    main.write_text(f"""{user}
daemon off; worker_processes 1; pid {prefix}/nginx.pid; error_log {prefix}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy; fastcgi_temp_path {prefix}/fcgi;
    uwsgi_temp_path {prefix}/uwsgi; scgi_temp_path {prefix}/scgi;
    include {out}/nginx.conf;
}}
""")
    proc = subprocess.Popen([nginx_bin, "-p", str(prefix), "-c", str(main)], stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            if proc.poll() is not None:
                pytest.fail(f"nginx exited: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()
