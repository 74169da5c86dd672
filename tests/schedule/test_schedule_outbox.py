"""Scheduled instants reach partners like any edit: webhooks and WebSub pings from the writer's commit."""

from __future__ import annotations

from typing import Any

import pytest
from outbox.support import Hub, Receiver, drain, endpoint, feeds, started, webhooks_file

from .support import AT, Clock, T


@pytest.fixture
def receiver(tmp_path: Any) -> Any:
    r = Receiver(tmp_path / "received.jsonl")
    yield r
    r.stop()


def test_boundaries_send_published_then_deleted_and_a_clock_set_back_sends_nothing(site, make_app, receiver, tmp_path):
    site.post("old", title="Old", date="2021-01-01")
    site.post("launch", "Embargoed.", title="Launch", date=AT.isoformat(), expires="2030-03-06T00:00:00Z")
    clock = Clock(T - 600)
    app = started(
        make_app(
            WEBHOOKS_FILE=webhooks_file(tmp_path / "hooks.yaml", endpoint(receiver.url)),
            INDEX_PATH=str(tmp_path / "index.db"),
            CLOCK=clock,
        )
    )
    drain(app)
    assert receiver.entries() == [], "a scheduled post is sent to nobody before its date"
    clock.t = T
    drain(app)
    api = app.test_client().get("/api/v1/posts/launch").get_json()
    clock.t = T - 3600  # the wall clock set back: nothing taken back
    drain(app)
    clock.t = T + 86400
    drain(app)
    got = receiver.entries()
    assert [(e["type"], e["slug"], e["ok"]) for e in got] == [
        ("post.published", "launch", True),
        ("post.deleted", "launch", True),
    ]
    assert got[0]["data"] == api


def test_each_affected_topic_is_pinged_once_at_the_boundary(site, make_app, tmp_path):
    hub = Hub()
    try:
        site.write_site(websub_hub=hub.url)
        site.post("old", title="Old", date="2021-01-01", categories=["publications"], lang="en")
        site.post(
            "launch", "Embargoed.", title="Launch", date=AT.isoformat(), categories=["statements"], tags=["Launches"], lang="en"
        )
        clock = Clock(T - 600)
        app = started(make_app(WEBSUB_BACKOFF=0.01, WEBSUB_ALLOW_PRIVATE=True, INDEX_PATH=str(tmp_path / "i.db"), CLOCK=clock))
        drain(app)
        assert hub.pings == []
        clock.t = T + 1
        drain(app)
        got = hub.urls()
        assert len(got) == len(set(got)), "each changed feed is pinged once"
        expected: set[str] = set()
        for path in ("/feeds", "/feeds/categories/statements", "/feeds/tags/launches"):
            expected |= feeds(path) | feeds(path, "en")
        expected |= feeds("/feeds/languages/en")
        assert set(got) == expected
    finally:
        hub.close()
