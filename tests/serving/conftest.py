"""Fixtures of the serving tests (real gunicorn, nginx in front): a proxy over a server that picks up edits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.gunicorn_server import Server
from support.http_kit import fill

from .nginx import Nginx


@pytest.fixture
def reloading_stack(site: Any, tmp_path: Path) -> Iterator[tuple[Nginx, Server, Any]]:
    """The proxy in front of a server that picks up edits (every 0.2 s), with 1 s max-age and 1 s SWR."""
    fill(site)
    app = Server(
        site.root,
        tmp_path / "gunicorn.out",
        FEEDSVC_TRUSTED_PROXIES="1",
        FEEDSVC_MAX_AGE="1",
        FEEDSVC_STALE_WHILE_REVALIDATE="1",
        FEEDSVC_RELOAD_INTERVAL="0.2",
    )
    try:
        proxy = Nginx(tmp_path / "nginx", app.port)
        try:
            yield proxy, app, site
        finally:
            proxy.stop()
    finally:
        app.stop()
