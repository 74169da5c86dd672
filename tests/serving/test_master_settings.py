"""FEEDSVC_* values gunicorn's master reads before any app exists (feedsvc/serving.py), read as the app reads them."""

from __future__ import annotations

import pytest

from feedsvc.config import ConfigError, environ_setting
from feedsvc.serving import json_logs


def test_unset_gives_the_default() -> None:
    assert environ_setting("TRUSTED_PROXIES", {}) == 0
    assert environ_setting("LOG_FORMAT", {}) == "text"


def test_values_are_json_typed_and_checked_like_the_apps() -> None:
    assert environ_setting("TRUSTED_PROXIES", {"FEEDSVC_TRUSTED_PROXIES": "2"}) == 2
    assert environ_setting("LOG_FORMAT", {"FEEDSVC_LOG_FORMAT": "json"}) == "json"
    assert environ_setting("LOG_FORMAT", {"FEEDSVC_LOG_FORMAT": '"json"'}) == "json"
    assert environ_setting("MAX_AGE", {"FEEDSVC_MAX_AGE": "60"}) == 60
    assert environ_setting("RELOAD_INTERVAL", {"FEEDSVC_RELOAD_INTERVAL": "1"}) == 1.0
    for name, bad in (("TRUSTED_PROXIES", "many"), ("TRUSTED_PROXIES", "11"), ("LOG_FORMAT", "xml")):
        with pytest.raises(ConfigError, match=f"FEEDSVC_{name}"):
            environ_setting(name, {f"FEEDSVC_{name}": bad})


def test_json_logs_follows_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDSVC_LOG_FORMAT", "json")
    assert json_logs() is True
    monkeypatch.setenv("FEEDSVC_LOG_FORMAT", "text")
    assert json_logs() is False
    monkeypatch.setenv("FEEDSVC_LOG_FORMAT", "xml")  # refused by the app itself; gunicorn keeps its text lines
    assert json_logs() is False
