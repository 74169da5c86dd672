"""Fixtures of the fediverse tests: a site with the fediverse on, an app with its own key file."""

from __future__ import annotations

import pytest

from .remote import Remote
from .support import ACTOR, started


@pytest.fixture
def fedi_app(site, make_app, tmp_path):
    """An app whose site.yaml enables the fediverse (key and queue under tmp_path)."""
    site.write_site(fediverse={"username": "news"})
    return make_app(
        ACTIVITYPUB_KEY=str(tmp_path / "keys" / "ap.pem"),
        OUTBOX_PATH=str(tmp_path / "outbox.sqlite3"),
        FEDIVERSE_ALLOW_PRIVATE=True,
    )


@pytest.fixture
def remote(fedi_app):
    """A bovine remote actor that checks deliveries against fedi_app's key (fedi_app started)."""
    app = started(fedi_app)
    doc = app.test_client().get("/ap/actors/news").get_json()
    r = Remote((doc["publicKey"]["publicKeyPem"], ACTOR))
    yield r
    r.stop()
