"""The actor's key file (FEEDSVC_ACTIVITYPUB_KEY) unreadable or corrupt while the service runs.

The key is the actor's identity: it is never replaced behind the operator's back. While it
cannot be loaded, what needs it answers 503 with the reason (never a 500), /healthz names
the file, and everything comes back once the file is good again.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from feedsvc.outbox.fediverse.signatures import load_or_create

from .support import AP


def _break(key: Path, how: str) -> None:
    key.parent.mkdir(parents=True, exist_ok=True)
    if how == "garbage":
        key.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    elif how == "empty":
        key.write_bytes(b"")
    else:
        key.mkdir()


@pytest.mark.parametrize("how", ["garbage", "empty", "a directory"])
def test_a_key_that_cannot_be_loaded_is_a_503_named_on_healthz_and_recovers(fedi_app: Any, tmp_path: Path, how: str) -> None:
    key = tmp_path / "keys" / "ap.pem"
    _break(key, how)
    client = fedi_app.test_client()
    resp = client.get("/ap/actors/news", headers={"Accept": AP})
    assert resp.status_code == 503, resp.data
    assert str(key) in resp.get_json()["error"]["message"]
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded" and any(str(key) in r for r in health["reasons"]), health
    assert client.get("/feeds/atom.xml").status_code == 200  # the rest is served
    good = tmp_path / "good.pem"
    load_or_create(str(good))
    if key.is_dir():
        shutil.rmtree(key)
    os.replace(good, key)  # the operator puts the key back
    resp = client.get("/ap/actors/news", headers={"Accept": AP})
    assert resp.status_code == 200 and "BEGIN PUBLIC KEY" in resp.get_json()["publicKey"]["publicKeyPem"]
    assert client.get("/healthz").get_json()["status"] == "ok"
