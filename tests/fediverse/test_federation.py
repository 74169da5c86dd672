"""Follow, deliveries and unfollow against a remote actor built on bovine; hostile inbox requests."""

from __future__ import annotations

import json
import time
from email.utils import formatdate

from feedsvc.extensions import state
from feedsvc.outbox import outbox

from .remote import Remote
from .support import ACTOR, AP, drain, followers, post


def test_follow_create_update_delete_unfollow(site, fedi_app, remote):
    site.post("old", title="Old", date="2021-01-01")  # before any follower: never sent
    app = fedi_app
    drain(app)
    client = app.test_client()
    follow = remote.follow(ACTOR)
    resp = post(client, remote, "/ap/actors/news/inbox", follow)
    assert resp.status_code == 202, resp.data
    assert followers(app) == 1
    drain(app)
    [accept] = remote.received
    assert accept["activity"]["type"] == "Accept" and accept["activity"]["object"]["id"] == follow["id"]
    assert accept["verified_by"] == ACTOR, "bovine verifies feedsvc's signature"
    assert accept["path"] == "/inbox", "the shared inbox is used"
    site.post("new", "Text.", title="New", date="2021-02-01", tags=["Climate"])
    drain(app)
    site.post("new", "Corrected.", title="New", date="2021-02-01", tags=["Climate"])
    drain(app)
    (site.root / "posts" / "new.md").unlink()
    drain(app)
    got = remote.received[1:]
    assert [g["activity"]["type"] for g in got] == ["Create", "Update", "Delete"]
    assert all(g["verified_by"] == ACTOR for g in got)
    assert got[0]["activity"]["object"]["name"] == "New" and "Corrected." in got[1]["activity"]["object"]["content"]
    assert got[2]["activity"]["object"] == {
        "id": "https://news.example.org/posts/new",
        "type": "Tombstone",
        "formerType": "Article",
    }
    gone = client.get("/posts/new", headers={"Accept": AP})
    assert gone.status_code == 410 and gone.get_json()["type"] == "Tombstone"
    like = {"id": remote.id + "/likes/1", "type": "Like", "actor": remote.id, "object": ACTOR}
    assert post(client, remote, "/ap/inbox", like).status_code == 202 and followers(app) == 1
    metrics = client.get("/metrics").data.decode()
    assert 'feedsvc_fediverse_inbox_total{outcome="other"} 1.0' in metrics
    assert any('kind="activitypub"' in line and 'outcome="delivered"' in line for line in metrics.splitlines())
    undo = {"id": follow["id"] + "/undo", "type": "Undo", "actor": remote.id, "object": follow}
    assert post(client, remote, "/ap/inbox", undo).status_code == 202
    assert followers(app) == 0
    site.post("later", title="Later")
    drain(app)
    assert len(remote.received) == 4, "nothing goes to a former follower"


def test_peer_down_then_back_gets_all_20(site, fedi_app, remote):
    app = fedi_app
    client = app.test_client()
    assert post(client, remote, "/ap/inbox", remote.follow(ACTOR)).status_code == 202
    drain(app)
    remote.fail = True
    for i in range(20):
        site.post(f"p{i:02d}", title=f"P{i}", date=f"2021-03-{i + 1:02d}")
    state(app).live.refresh()
    sender = outbox(app).sender
    sender.run_once()  # the first attempt fails: all 20 wait, in order, for the retry
    assert sender.queue.pending() == 20
    [status] = [s for s in sender.queue.status() if s.kind == "activitypub"]
    assert status.last_error == "HTTP 503"
    remote.fail = False
    sender.clock = lambda: time.time() + 3600  # an hour later, the retry is due
    drain(app)
    creates = [g["activity"] for g in remote.received if g["activity"]["type"] == "Create"]
    assert [c["object"]["name"] for c in creates] == [f"P{i}" for i in range(20)]
    assert all(g["verified_by"] == ACTOR for g in remote.received)
    result = app.test_cli_runner().invoke(args=["activitypub", "status"])
    assert "server 127.0.0.1:" in result.output and "pending 0" in result.output


def test_hostile_requests_are_refused_and_store_nothing(site, fedi_app, remote, make_app, tmp_path):
    client = fedi_app.test_client()
    follow = remote.follow(ACTOR)
    body = json.dumps(follow).encode()
    assert client.post("/ap/inbox", data=body, headers={"Content-Type": AP}).status_code == 401  # unsigned
    _, other_private = __import__("bovine.crypto", fromlist=["x"]).generate_rsa_public_private_key()
    assert post(client, remote, "/ap/inbox", follow, private=other_private).status_code == 401  # wrong key
    old = formatdate(timeval=__import__("time").time() - 3600, usegmt=True)
    assert post(client, remote, "/ap/inbox", follow, date=old).status_code == 401  # stale Date
    signed_body, headers = remote.signed("/ap/inbox", follow)
    assert client.post("/ap/inbox", data=signed_body + b" ", headers=headers).status_code == 401  # body changed
    big = b"{" + b" " * (300 * 1024) + b"}"
    assert post(client, remote, "/ap/inbox", big).status_code == 413
    assert post(client, remote, "/ap/inbox", b"{not json").status_code == 400
    mallory = {**follow, "actor": "http://127.0.0.1:1/users/mallory"}
    assert post(client, remote, "/ap/inbox", mallory).status_code == 401  # key not the actor's
    assert followers(fedi_app) == 0
    ok_body, ok_headers = remote.signed("/ap/inbox", follow)
    assert client.post("/ap/inbox", data=ok_body, headers=ok_headers).status_code == 202
    assert client.post("/ap/inbox", data=ok_body, headers=ok_headers).status_code == 401  # replayed
    # A keyId at a private address is not fetched unless FEEDSVC_FEDIVERSE_ALLOW_PRIVATE.
    strict = make_app(ACTIVITYPUB_KEY=str(tmp_path / "s.pem"), OUTBOX_PATH=str(tmp_path / "s.sqlite3"))
    resp = post(strict.test_client(), remote, "/ap/inbox", remote.follow(ACTOR))
    assert resp.status_code == 401 and b"private" in resp.data, resp.data
    assert followers(strict) == 0


def test_follow_flood_is_rate_limited(site, make_app, tmp_path):
    site.write_site(fediverse={"username": "news"})
    app = make_app(
        ACTIVITYPUB_KEY=str(tmp_path / "k.pem"),
        OUTBOX_PATH=str(tmp_path / "o.sqlite3"),
        FEDIVERSE_ALLOW_PRIVATE=True,
        FEDIVERSE_INBOX_LIMIT=5,
    )
    doc = app.test_client().get("/ap/actors/news").get_json()
    flood = Remote((doc["publicKey"]["publicKeyPem"], ACTOR))
    try:
        client = app.test_client()
        codes = [post(client, flood, "/ap/inbox", flood.follow(ACTOR)).status_code for _ in range(12)]
        assert codes.count(429) >= 6 and set(codes) <= {202, 429}
        assert followers(app) == 1
    finally:
        flood.stop()
