"""Signed webhooks: events from content changes, verified by a receiver process with standardwebhooks."""

from __future__ import annotations

import logging

import pytest

from feedsvc import create_app
from feedsvc.outbox import outbox

from .support import SECRET, Receiver, drain, endpoint, started, webhooks_file


@pytest.fixture
def receiver(tmp_path):
    r = Receiver(tmp_path / "received.jsonl")
    yield r
    r.stop()


def test_publish_update_delete_signed_and_first_start_sends_nothing(site, make_app, receiver, tmp_path):
    site.post("old", title="Old", date="2021-01-01")  # the existing corpus
    app = started(make_app(WEBHOOKS_FILE=webhooks_file(tmp_path / "hooks.yaml", endpoint(receiver.url))))
    drain(app)
    assert receiver.entries() == [], "the first start on an existing corpus sends nothing"
    site.post("new", title="New", date="2021-02-01")
    drain(app)
    api = app.test_client().get("/api/v1/posts/new").get_json()
    site.post("new", "Corrected.", title="New", date="2021-02-01")
    drain(app)
    (site.root / "posts" / "new.md").unlink()
    drain(app)
    got = receiver.entries()
    assert [(e["type"], e["slug"], e["ok"]) for e in got] == [
        ("post.published", "new", True),
        ("post.updated", "new", True),
        ("post.deleted", "new", True),
    ]
    assert got[0]["data"] == api, "data is the API's post object"
    assert got[2]["data"] == {"id": api["id"], "slug": "new", "url": api["url"]}
    assert len({e["id"] for e in got}) == 3
    drain(app)
    assert len(receiver.entries()) == 3, "nothing is sent twice"


def test_a_retry_carries_the_same_id(site, make_app, tmp_path):
    receiver = Receiver(tmp_path / "received.jsonl", fail_first=2)
    try:
        app = started(make_app(WEBHOOKS_FILE=webhooks_file(tmp_path / "h.yaml", endpoint(receiver.url)), WEBHOOK_BACKOFF=0.01))
        site.post("one", title="One")
        drain(app)
        got = receiver.entries()
        assert [e["status"] for e in got] == [503, 503, 204]
        assert len({e["id"] for e in got}) == 1 and all(e["ok"] for e in got)
        [status] = outbox(app).status()
        assert status.depth == 0 and status.last_success and status.last_error == "HTTP 503"
    finally:
        receiver.stop()


def test_410_disables_the_endpoint_until_its_configuration_changes(site, make_app, tmp_path):
    receiver = Receiver(tmp_path / "received.jsonl", fail_first=1, status=410)
    hooks, box = tmp_path / "h.yaml", str(tmp_path / "outbox.sqlite3")

    def restarted(n: int, **extra):
        # Each restart its own index database (one writer per index file in this process): the
        # outbox compares the whole state then, and still sends only what it has not sent.
        return make_app(
            WEBHOOKS_FILE=webhooks_file(hooks, endpoint(receiver.url, **extra)),
            OUTBOX_PATH=box,
            INDEX_PATH=str(tmp_path / f"index{n}.sqlite3"),
        )

    try:
        app = started(restarted(1))
        site.post("one", title="One")
        drain(app)
        site.post("two", title="Two")
        drain(app)
        assert len(receiver.entries()) == 1
        [status] = outbox(app).status()
        assert status.disabled
        app = restarted(2)  # the same configuration again: still disabled
        site.post("three", title="Three")
        drain(app)
        assert len(receiver.entries()) == 1
        app = restarted(3, events=["post.published"])  # a changed one: enabled again
        site.post("four", title="Four")
        drain(app)
        assert [(e["slug"], e["status"]) for e in receiver.entries()][1:] == [("four", 204)]
    finally:
        receiver.stop()


def test_filters_by_event_category_and_language(site, make_app, receiver, tmp_path):
    hooks = webhooks_file(
        tmp_path / "h.yaml", endpoint(receiver.url, events=["post.published"], categories=["events"], languages=["fr"])
    )
    app = started(make_app(WEBHOOKS_FILE=hooks))
    site.post("a", title="A", categories=["events"], lang="en")
    site.post("b", title="B", categories=["statements"], lang="fr")
    site.post("c", title="C", categories=["events"], lang="fr")
    drain(app)
    site.post("c", "Edited.", title="C", categories=["events"], lang="fr")
    drain(app)
    assert [(e["type"], e["slug"]) for e in receiver.entries()] == [("post.published", "c")]


def test_a_private_target_is_refused_without_allow_private(site, make_app, receiver, tmp_path):
    app = started(
        make_app(
            WEBHOOKS_FILE=webhooks_file(tmp_path / "h.yaml", endpoint(receiver.url, allow_private=False)),
            WEBHOOK_MAX_AGE=1,
            WEBHOOK_BACKOFF=5.0,
        )
    )
    site.post("one", title="One")
    drain(app)
    assert receiver.entries() == []
    [status] = outbox(app).status()
    assert "private" in status.last_error and "gave up" in status.last_error


def test_status_cli_and_metrics(site, make_app, receiver, tmp_path):
    app = started(make_app(WEBHOOKS_FILE=webhooks_file(tmp_path / "h.yaml", endpoint(receiver.url))))
    site.post("one", title="One")
    drain(app)
    out = app.test_cli_runner().invoke(args=["webhooks", "status"]).output
    assert f"webhook {receiver.url}: queued 0, last success 20" in out
    assert SECRET not in out
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert f'feedsvc_outbox_deliveries_total{{dest="{receiver.url}",kind="webhook",outcome="delivered"}}' in text
    assert f'feedsvc_outbox_queue_depth{{dest="{receiver.url}",kind="webhook"}} 0.0' in text
    assert "feedsvc_outbox_oldest_pending_seconds" in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([{"url": "not a url", "secret": SECRET, "events": ["post.published"]}], "url: Not a valid URL"),
        ([{"url": "https://partner.example/", "secret": SECRET, "events": ["post.liked"]}], "events: Must be one of"),
        ([{"url": "https://partner.example/", "secret": "", "events": ["post.published"]}], "secret: must start with whsec_"),
        ([{"url": "https://partner.example/", "secret": "whsec_", "events": ["post.published"]}], "secret: is empty"),
        (None, "cannot read"),
    ],
)
def test_hostile_configuration_is_reported_and_the_service_serves(site, tmp_path, caplog, content, message):
    site.post("one", title="One")
    path = tmp_path / "hooks.yaml"
    if content is not None:
        webhooks_file(path, *content)
    with caplog.at_level(logging.ERROR, logger="feedsvc.outbox"):
        app = create_app({"CONTENT_DIR": str(site.root), "RELOAD_INTERVAL": 0, "WEBHOOKS_FILE": str(path)})
    assert any(message in r.getMessage() for r in caplog.records), caplog.text
    client = app.test_client()
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded" and any(message in r for r in health["reasons"]), health
    assert client.get("/feeds/atom.xml").status_code == 200
    assert SECRET.removeprefix("whsec_") not in caplog.text + str(health)
