"""Fixtures of the fediverse tests: a site with the fediverse on, an app with its own key file."""

from __future__ import annotations

import pytest


@pytest.fixture
def fedi_app(site, make_app, tmp_path):
    """An app whose site.yaml enables the fediverse (key and queue under tmp_path)."""
    site.write_site(fediverse={"username": "news"})
    return make_app(ACTIVITYPUB_KEY=str(tmp_path / "keys" / "ap.pem"), OUTBOX_PATH=str(tmp_path / "outbox.sqlite3"),
                    FEDIVERSE_ALLOW_PRIVATE=True)
