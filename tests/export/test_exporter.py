"""Each export run owns its state, and fetches from an app of its own (feedsvc/export/exporter.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from support.http_kit import fill

from feedsvc import caching, ratelimit
from feedsvc.export.crawl import seed_urls
from feedsvc.extensions import state


def _export(app: Any, out: Path) -> dict[str, Any]:
    result = app.test_cli_runner().invoke(args=["export", str(out), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    manifest: dict[str, Any] = json.loads((out / "export-manifest.json").read_text())
    return manifest


def test_a_second_export_into_a_deleted_directory_makes_its_directories(site: Any, make_app: Any, tmp_path: Path) -> None:
    fill(site)
    app = make_app()
    out = tmp_path / "export"
    first = _export(app, out)
    shutil.rmtree(out)
    second = _export(app, out)  # the same process: nothing of the first run may be taken as made
    assert second == first
    assert all((out / d["file"]).is_file() for d in second["documents"].values())


def test_the_exported_app_is_left_as_it_was(site: Any, make_app: Any, tmp_path: Path) -> None:
    fill(site)
    app = make_app(RATELIMIT="100/minute", RELOAD_INTERVAL=5)
    _export(app, tmp_path / "export")
    assert state(app).live.interval == 5
    limiter = ratelimit.limiter(app)
    assert limiter is not None and limiter.enabled
    assert caching.render_cache(app).enabled
    assert not any(k.startswith("EXPORT_") for k in app.config)


def test_every_url_the_crawl_starts_from_exists(site: Any, make_app: Any) -> None:
    """The seed list named yearly archives of every format, calendars included, which have none (404s)."""
    fill(site)
    app = make_app()
    with app.test_request_context():
        seeds = seed_urls()
    client = app.test_client()
    missing = [u for u in seeds if client.get(u).status_code not in (200, 301, 302, 308)]
    assert seeds and missing == []
