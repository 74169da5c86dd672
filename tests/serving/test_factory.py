"""The app factory and configuration from FEEDSVC_* variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from feedsvc import create_app
from feedsvc.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_environment_is_read_with_types(monkeypatch, site):
    monkeypatch.setenv("FEEDSVC_CONTENT_DIR", str(site.root))
    monkeypatch.setenv("FEEDSVC_MAX_AGE", "60")
    monkeypatch.setenv("FEEDSVC_RELOAD_INTERVAL", "0")
    monkeypatch.setenv("FEEDSVC_BASE_URL", "https://mirror.example.net")
    app = create_app()
    assert app.config["MAX_AGE"] == 60 and app.config["RELOAD_INTERVAL"] == 0.0
    site.post("a")
    assert app.test_client().get("/healthz").json["posts"] == 1


@pytest.mark.parametrize(
    "name,value",
    [
        ("MAX_AGE", "soon"),
        ("MAX_AGE", "-1"),
        ("FEED_SIZE", "0"),
        ("PER_PAGE", "1.5"),
        ("CACHE_TYPE", "Memcached"),
        ("RELOAD_INTERVAL", "-3"),
        ("BASE_URL", "ftp://x"),
        ("RATELIMIT", "lots"),
        ("LOG_LEVEL", "LOUD"),
        ("PER_PAGE", "500"),
    ],
)
def test_invalid_setting_fails_at_start_naming_it(monkeypatch, name, value):
    monkeypatch.setenv(f"FEEDSVC_{name}", value)
    with pytest.raises(ConfigError) as exc:
        create_app()
    assert str(exc.value).startswith(f"FEEDSVC_{name}")


def test_a_retired_setting_is_accepted_with_a_warning(monkeypatch, site, caplog):
    monkeypatch.setenv("FEEDSVC_PARSE_CACHE_DIR", str(site.root / "old-cache"))  # an old deployment's setting
    app = create_app({"CONTENT_DIR": str(site.root), "RELOAD_INTERVAL": 0})
    assert app.config["CONFIG_WARNINGS"] == [
        "FEEDSVC_PARSE_CACHE_DIR is no longer used: the index database (FEEDSVC_INDEX_PATH) replaces it"
    ]
    assert "FEEDSVC_PARSE_CACHE_DIR is no longer used" in caplog.text
    assert (
        create_app({"CONTENT_DIR": str(site.root), "RELOAD_INTERVAL": 0, "PARSE_CACHE_DIR": None}).config["CONFIG_WARNINGS"] == []
    )


def test_redis_cache_needs_a_url():
    with pytest.raises(ConfigError, match="FEEDSVC_CACHE_REDIS_URL"):
        create_app({"CACHE_TYPE": "RedisCache"})


def test_wsgi_fails_fast_on_broken_site_yaml(tmp_path):
    (tmp_path / "site.yaml").write_text("title: x\n")
    env = {**os.environ, "FEEDSVC_CONTENT_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert out.returncode != 0
    assert "site.yaml: base_url: Missing data for required field." in out.stderr


def test_serves_the_seed_content():
    app = create_app({"CONTENT_DIR": str(ROOT / "content"), "RELOAD_INTERVAL": 0})
    body = app.test_client().get("/healthz").json
    assert body["status"] == "ok" and body["posts"] == 5 and body["skipped"] == 0
